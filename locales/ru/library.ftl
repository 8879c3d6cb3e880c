## Книги: загрузка и её ход, карточка книги, полка (/books), переименование, удаление, пароли, ошибки

library-stage-download = 📥 Скачиваю
library-stage-queued = ⏳ Жду очереди на чтение
library-stage-reading = 📖 Читаю
library-stage-indexing = 🧠 Индексирую
library-stage-copying = 📚 Ставлю на вашу полку
library-progress =
    { $stage } <b>«{ $name }»</b>
    { $bar } { $percent }%

library-card-title = 📖 <b>{ $title }</b>
library-card-author = ✍️ { $author }
library-card-pages = 📄 { $pages ->
        [one] { $pages } страница
        [few] { $pages } страницы
       *[other] { $pages } страниц
    }
library-card-chapters = 📑 { $chapters ->
        [one] { $chapters } глава
        [few] { $chapters } главы
       *[other] { $chapters } глав
    }
library-card-chunks = 🧩 { $chunks ->
        [one] { $chunks } фрагмент в индексе
        [few] { $chunks } фрагмента в индексе
       *[other] { $chunks } фрагментов в индексе
    }
library-card-active = ⭐ Активная книга: вопросы идут к ней.
library-card-processing = ⏳ Ещё читаю: { $percent }%
library-card-password = 🔒 Жду пароль.
library-card-ready = ✅ Готово. Спрашивайте что угодно об этой книге или нажмите кнопку.
library-card-words-only = 🔎 Поиск по смыслу ещё готовится; поиск по словам уже работает.

library-button-ask = 💬 Спросить
library-button-summary = 📝 Пересказ
library-button-delete = 🗑 Удалить
library-button-activate = ⭐ Сделать активной
library-button-rename = ✏️ Переименовать
library-button-shelf = 📚 Полка
library-button-delete-yes = 🗑 Да, удалить
library-button-delete-no = ↩️ Оставить
library-button-prev = ◀️
library-button-next = ▶️

library-shelf-empty = 📚 Ваша полка пуста. Пришлите мне книгу файлом: PDF, EPUB, FB2, TXT, DOCX, Markdown или HTML.
library-shelf-title = 📚 <b>Ваша полка</b>: { $count ->
        [one] { $count } книга
        [few] { $count } книги
       *[other] { $count } книг
    }
library-shelf-page = Страница { $page } из { $pages }. Нажмите на книгу, чтобы открыть её; ⭐ отмечает активную.

library-duplicate = 📚 Эта книга уже на вашей полке.
library-duplicate-processing = ⏳ Я уже читаю эту книгу, скоро она будет готова.
library-activated = ⭐ Теперь это ваша активная книга.
library-rename-prompt = ✏️ Пришлите новое название для <b>«{ $title }»</b> или /cancel.
library-rename-empty = Название не может быть пустым. Пришлите новое название или /cancel.
library-renamed = ✏️ Переименовал.
library-delete-confirm = 🗑 Удалить <b>«{ $title }»</b>? Её фрагменты и поисковый индекс удалятся вместе с ней.
library-deleted = 🗑 <b>«{ $title }»</b> удалена.
library-not-found = Этой книги уже нет на вашей полке.
library-cancelled = Хорошо, отменил.
library-password-prompt = 🔒 <b>«{ $name }»</b> защищён паролем. Пришлите пароль: я использую его один раз, чтобы открыть файл, и не сохраняю. Или /cancel.
library-password-wrong = ❌ Этот пароль не открывает <b>«{ $name }»</b>. Попробуйте ещё раз или /cancel.
library-password-checking = 🔑 Пробую пароль…
library-password-not-waiting = Эта книга больше не ждёт пароль.
library-too-big-for-telegram = 📦 Этот файл весит { $size } МБ, а Telegram даёт ботам скачивать файлы только до 20 МБ. Пришлите файл поменьше: EPUB или FB2 той же книги обычно намного меньше PDF.
library-download-failed = 😔 Не получилось скачать файл из Telegram. Пришлите его ещё раз.
library-upload-not-stored = 💾 Не удалось сохранить книгу: на сервере закончилось место или он сейчас не может хранить файлы, поэтому книга не добавлена. Пришлите её ещё раз позже.
library-not-a-book-photo = Это фотография. Пришлите книгу <b>файлом</b> (📎 → Файл): PDF, EPUB, FB2, TXT, DOCX, Markdown или HTML.
library-voice-unsupported = 🎙 Голосовые сообщения я пока не понимаю. Напишите вопрос текстом или пришлите книгу файлом.
library-not-a-book-media = 🎵 Это звук или видео, а не книга. Пришлите книгу <b>файлом</b> (📎 → Файл): PDF, EPUB, FB2, TXT, DOCX, Markdown или HTML.

## Сообщение на каждый код ошибки (services/ingestion/errors.py, services/ingestion/service.py)
library-error-unsupported-type = 🤔 Я не умею читать такие файлы ({ $detected }). Пришлите книгу в PDF, EPUB, FB2 (или .fb2.zip), TXT, DOCX, Markdown или HTML.
library-error-empty-file = 📭 Этот файл пустой. Пришлите, пожалуйста, саму книгу.
library-error-corrupt-file = 🧩 Этот файл { $format } повреждён или недокачан, поэтому я не могу его прочитать. Пришлите целую копию.
library-error-too-large = 📦 Файл слишком большой ({ $size } МБ). Я принимаю книги до { $limit } МБ.
library-error-zip-bomb = 🛑 Этот архив распаковывается в гораздо больший объём, чем нужно любой книге, поэтому я его не открыл. Пришлите саму книгу.
library-error-xml-bomb = 🛑 В этом файле есть XML-сущности, которые могут меня перегрузить, поэтому я его не читал. Пришлите чистую копию книги.
library-error-unsafe-archive-path = 🛑 Внутри архива есть файлы с небезопасными путями, поэтому я его не открыл. Пришлите чистую копию книги.
library-error-pdf-active-content = 🛑 В этом PDF есть активное содержимое ({ $features }), и ради вашей безопасности я его не открыл. Сохраните его как обычный PDF или EPUB и пришлите снова.
library-error-password-required = 🔒 Этот PDF защищён паролем.
library-error-wrong-password = ❌ Этот пароль не открывает PDF.
library-error-no-text-layer = 🖼 Этот PDF состоит из сканов без текстового слоя ({ $pages ->
        [one] { $pages } страница
        [few] { $pages } страницы
       *[other] { $pages } страниц
    }), так что текста для чтения в нём нет: распознавать текст на картинках (OCR) я пока не умею. Пришлите PDF с текстовым слоем или EPUB.
library-error-no-text = 📭 Я не нашёл текста в этом файле { $format }.
library-error-too-many-pages = 📚 В этом PDF { $pages ->
        [one] { $pages } страница
        [few] { $pages } страницы
       *[other] { $pages } страниц
    }, а я читаю книги не длиннее { $limit } страниц.
library-error-internal = 😔 При чтении этой книги у меня несколько раз что-то сломалось. Я это записал; пришлите файл ещё раз чуть позже.
library-error-timeout = ⌛ Чтение этого файла заняло слишком много времени, и я остановился. Если это книга, попробуйте другой формат (EPUB или FB2).
library-error-interrupted = 😔 Меня несколько раз прерывали во время чтения этой книги, и я остановился. Пришлите файл ещё раз чуть позже.
library-error-file-missing = 😔 Я потерял загруженный файл, не дочитав его. Пришлите его ещё раз.
library-error-rejected = 🚫 Сейчас я не могу добавить эту книгу.
library-card-read-until = 📍 Без спойлеров: ответы только по первым { $percent }% книги, докуда вы дочитали.
library-button-read-until = 📍 Докуда прочитано
