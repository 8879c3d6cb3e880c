## Разговор с книгами: ответы, источники, режимы, /new, /search, пересказы, учёба

command-new = Новая тема (забыть разговор)
command-mode = Как отвечать: ответ, цитаты, проще, учёба
command-summary = Краткое содержание книги
command-search = Поиск по всем книгам

chat-no-book = 📚 У вас пока нет книг. Пришлите книгу файлом (PDF, EPUB, FB2, TXT, DOCX, Markdown или HTML) и спрашивайте о ней что угодно.
chat-pick-book = 📚 О какой книге поговорим? Откройте /books и нажмите «Спросить» в карточке книги.
chat-book-unavailable = Эта книга ещё не готова или её больше нет на полке.
chat-ask-prompt = 💬 Спрашивайте что угодно о книге <b>«{ $title }»</b>. Я отвечаю по тексту книги, с цитатами и местами.
chat-not-found = 🤷 В книге <b>«{ $title }»</b> я об этом ничего не нашёл. Попробуйте другие слова или /search по всем книгам.
chat-extractive-intro = 📖 Из книги:
chat-offline-note = 📖 ИИ-модель сейчас недоступна, поэтому вот что говорит книга, слово в слово:
chat-sources-title = <b>Источники</b>
chat-place-page = с. { $page }
chat-place-unknown = фрагмент
chat-place-percent = { $percent }%
chapter-act = Действие { $act }
chapter-act-scene = Действие { $act }, сцена { $scene }
chapter-scene = Сцена { $scene }
chat-unverified = ⚠️ отмечает слова, которые модель взяла в кавычки, но которых нет в книге дословно: это пересказ, а не цитата.
chat-quotes-title = 📑 Фрагменты из книги <b>«{ $title }»</b> по запросу: <i>{ $query }</i>
chat-button-sources = 📖 Источники
chat-button-more = ➕ Подробнее
chat-button-new = 🆕 Новая тема
chat-sources-none = Для этого ответа нет источников.
chat-more-none = Это всё, что я нашёл.
chat-stale = Этот ответ больше недоступен.
chat-new-done = 🆕 Новая тема. Я забыл наш разговор, спрашивайте.

chat-mode-choose = Как мне отвечать? Сейчас: <b>{ $mode }</b>
chat-mode-changed = Режим: { $mode }
chat-mode-answer = 💬 Ответ
chat-mode-quotes = 📑 Только цитаты
chat-mode-simple = 🧒 Объяснить проще
chat-mode-study = 🎓 Учёба
chat-mode-search = 🔎 Искать во всех книгах
chat-mode-answer-hint = Я отвечаю по книге, со ссылками на источники и места.
chat-mode-quotes-hint = Я присылаю подходящие фрагменты книги без пересказа.
chat-mode-simple-hint = Я объясняю простыми словами, но всё так же по книге и со ссылками.
chat-mode-study-hint = Я задаю вопросы по главе и проверяю ваши ответы.

chat-search-prompt = 🔎 Что искать во всех ваших книгах? Напишите слова или вопрос.
chat-search-title = 🔎 Найдено в ваших книгах по запросу: <i>{ $query }</i>
chat-search-book = 📕 <b>{ $title }</b>
chat-search-nothing = 🤷 В ваших книгах ничего не нашлось по запросу: <i>{ $query }</i>
chat-search-mode-on = <i>🔎 Ищу во всех ваших книгах: пишите ещё слова или вернитесь к вопросам по книге.</i>
chat-search-mode-off = 📖 Снова отвечаю по книге <b>«{ $title }»</b>.
chat-button-leave-search = ↩ Снова спрашивать книгу

summary-estimate = 📝 Для пересказа книги <b>«{ $title }»</b> ИИ-модель прочитает её целиком: около { $calls } запросов, ~{ $tokens } токенов.
summary-estimate-credits = 💳 Это стоит { $credits } кредитов.
summary-confirm = Начинаем?
summary-button-confirm = ✅ Пересказать
summary-button-cancel = ✖️ Отмена
summary-button-chapters = 📑 По главам
summary-working = ⏳ Читаю <b>«{ $title }»</b>, чтобы пересказать…
summary-title = 📝 <b>{ $title }</b>
summary-short = <b>Коротко</b>
summary-long = <b>Пересказ</b>
summary-topics = <b>Ключевые темы:</b> { $topics }
summary-quotes = <b>Яркие цитаты</b>
summary-quote = «{ $text }» — <i>{ $place }</i>
summary-chapters = 📑 Какую главу?
summary-no-chapters = Я не смог различить главы в этой книге.
summary-empty = В этой книге нет текста для пересказа.
summary-cancelled = Хорошо, без пересказа.
summary-chapter-confirm = 📝 Пересказ <b>«{ $title }»</b> ИИ-моделью стоит до { $credits } { $credits ->
        [one] кредита
       *[other] кредитов
    }. Начинаем?
summary-method-extractive = <i>Составлено из предложений самой книги (без ИИ-модели).</i>

study-choose = 🎓 Режим учёбы по книге <b>«{ $title }»</b>: я задаю вопрос по главе, вы отвечаете, я проверяю. Какая глава?
study-any = 🎲 Любая глава
chapters-previous = ◀️ Главы { $first }–{ $last }
chapters-next = Главы { $first }–{ $last } ▶️
study-question = 🎓 { $question }
study-gap = 🎓 Вставьте пропущенное слово: { $question }
study-place = <i>{ $place }</i>
study-correct = ✅ Верно!
study-partly = 🟡 Отчасти верно.
study-wrong = ❌ Не совсем.
study-expected = В книге: <b>{ $expected }</b>
study-next = ➡️ Следующий вопрос
study-stop = ⏹ Закончить учёбу
study-stopped = Режим учёбы выключен. Спрашивайте о книге что угодно.
study-none = Не получилось составить вопрос по этой главе.
study-confirm = 🎓 Вопрос от ИИ-модели и проверка ответа стоят до { $credits } { $credits ->
        [one] кредита
       *[other] кредитов
    }. Начинаем?
study-button-confirm = ✅ Спрашивайте
