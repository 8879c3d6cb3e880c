command-start = Начать сначала
command-books = Мои книги
command-help = Что я умею
command-language = Сменить язык

start-welcome =
    👋 Привет{ $name ->
        [none] {""}
       *[other] , { $name }
    }! Я <b>Librarity</b>: пришлите мне книгу и поговорите с ней.

    📚 Отправьте книгу файлом: PDF, EPUB, FB2, TXT, DOCX, Markdown или HTML.
    💬 Потом спрашивайте что угодно: я отвечаю по самой книге, с цитатами и страницей или главой, откуда они.
    📝 Попросите пересказ, главные идеи или цитаты, или ищите сразу по всем своим книгам.
start-button-upload = 📚 Добавить книгу
start-button-help = ❓ Помощь
start-button-language = 🌐 Язык
start-upload-hint =
    Отправьте книгу <b>файлом</b> (скрепка 📎 → Файл). Я читаю PDF, EPUB, FB2 (и .fb2.zip), TXT, DOCX, Markdown и HTML, до 20 МБ.

help-text =
    <b>Что я умею</b>

    📚 <b>Добавить книгу</b>: отправьте её файлом (PDF, EPUB, FB2, TXT, DOCX, Markdown, HTML). Я покажу, как идёт чтение.
    💬 <b>Спросить</b>: напишите вопрос, и я отвечу по активной книге, с цитатами и местами.

    /start: начать сначала
    /books: ваша полка
    /settings: цитата дня, дайджест и другие сообщения, их время и часовой пояс
    /language: сменить язык
    /help: это сообщение

language-choose = Выберите язык:
language-changed = Язык: русский 🇷🇺

fallback-not-understood = Не понял. Пришлите книгу файлом или задайте вопрос о своей книге.
fallback-unknown-command = Такой команды я не знаю. /help покажет, что я умею.
fallback-stale-button = Эта кнопка больше не работает.

error-unexpected = 😔 Извините, у меня что-то сломалось. Я это записал; попробуйте ещё раз чуть позже.
