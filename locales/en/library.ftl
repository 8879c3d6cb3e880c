## Books in: upload progress, the book card, the shelf (/books), rename, delete, passwords, errors

library-stage-download = 📥 Downloading
library-stage-queued = ⏳ Waiting to be read
library-stage-reading = 📖 Reading
library-stage-indexing = 🧠 Indexing
library-stage-copying = 📚 Putting it on your shelf
library-progress =
    { $stage } <b>{ $name }</b>
    { $bar } { $percent }%

library-card-title = 📖 <b>{ $title }</b>
library-card-author = ✍️ { $author }
library-card-pages = 📄 { $pages ->
        [one] { $pages } page
       *[other] { $pages } pages
    }
library-card-chapters = 📑 { $chapters ->
        [one] { $chapters } chapter
       *[other] { $chapters } chapters
    }
library-card-chunks = 🧩 { $chunks ->
        [one] { $chunks } passage indexed
       *[other] { $chunks } passages indexed
    }
library-card-active = ⭐ Your active book: questions go to it.
library-card-processing = ⏳ Still reading it: { $percent }%
library-card-password = 🔒 Waiting for the password.
library-card-ready = ✅ Ready. Ask me anything about it, or tap a button.
library-card-words-only = 🔎 Search by meaning is still being prepared; search by words already works.

library-button-ask = 💬 Ask
library-button-summary = 📝 Summary
library-button-delete = 🗑 Delete
library-button-activate = ⭐ Make active
library-button-rename = ✏️ Rename
library-button-shelf = 📚 Shelf
library-button-delete-yes = 🗑 Yes, delete
library-button-delete-no = ↩️ Keep it
library-button-prev = ◀️
library-button-next = ▶️

library-shelf-empty = 📚 Your shelf is empty. Send me a book as a file: PDF, EPUB, FB2, TXT, DOCX, Markdown or HTML.
library-shelf-title = 📚 <b>Your shelf</b>: { $count ->
        [one] { $count } book
       *[other] { $count } books
    }
library-shelf-page = Page { $page } of { $pages }. Tap a book to open it; ⭐ marks the active one.

library-duplicate = 📚 This book is already on your shelf.
library-duplicate-processing = ⏳ I'm already reading this book; it will be ready soon.
library-activated = ⭐ Now your active book.
library-rename-prompt = ✏️ Send me the new title for <b>{ $title }</b>, or /cancel.
library-rename-empty = The title can't be empty. Send the new title, or /cancel.
library-renamed = ✏️ Renamed.
library-delete-confirm = 🗑 Delete <b>{ $title }</b>? Its passages and search index go with it.
library-deleted = 🗑 <b>{ $title }</b> is deleted.
library-not-found = This book is no longer on your shelf.
library-cancelled = OK, cancelled.
library-password-prompt = 🔒 <b>{ $name }</b> is protected with a password. Send me the password: I use it once to open the file and don't keep it. Or /cancel.
library-password-wrong = ❌ That password doesn't open <b>{ $name }</b>. Try again, or /cancel.
library-password-checking = 🔑 Trying the password…
library-password-not-waiting = This book is no longer waiting for a password.
library-too-big-for-telegram = 📦 This file is { $size } MB, and Telegram lets bots download files of up to 20 MB. Please send a smaller file: an EPUB or FB2 of the same book is usually far smaller than a PDF.
library-download-failed = 😔 I couldn't download the file from Telegram. Please send it again.
library-upload-not-stored = 💾 I couldn't save your book: the server is out of space or can't store files right now, so the book was not added. Please send it again later.
library-not-a-book-photo = This is a photo. Send the book as a <b>file</b> (📎 → File): PDF, EPUB, FB2, TXT, DOCX, Markdown or HTML.
library-voice-unsupported = 🎙 I can't listen to voice messages yet. Please type your question, or send a book as a file.
library-not-a-book-media = 🎵 This is sound or video, not a book. Send the book as a <b>file</b> (📎 → File): PDF, EPUB, FB2, TXT, DOCX, Markdown or HTML.

## One message per error code (services/ingestion/errors.py, services/ingestion/service.py)
library-error-unsupported-type = 🤔 I can't read this kind of file ({ $detected }). Send a book as PDF, EPUB, FB2 (or .fb2.zip), TXT, DOCX, Markdown or HTML.
library-error-empty-file = 📭 This file is empty. Please send the book itself.
library-error-corrupt-file = 🧩 This { $format } file is damaged or incomplete, so I can't read it. Please send an intact copy.
library-error-too-large = 📦 This file is too large ({ $size } MB). I take books of up to { $limit } MB.
library-error-zip-bomb = 🛑 This archive unpacks to far more than any book needs, so I didn't open it. Please send the book itself.
library-error-xml-bomb = 🛑 This file contains XML entity tricks that could overload me, so I didn't read it. Please send a clean copy of the book.
library-error-unsafe-archive-path = 🛑 This archive has files with unsafe paths inside, so I didn't open it. Please send a clean copy of the book.
library-error-pdf-active-content = 🛑 This PDF carries active content ({ $features }), so I didn't open it for your safety. Save it as a plain PDF or EPUB and send it again.
library-error-password-required = 🔒 This PDF is protected with a password.
library-error-wrong-password = ❌ That password doesn't open this PDF.
library-error-no-text-layer = 🖼 This PDF is scanned pages without a text layer ({ $pages ->
        [one] { $pages } page
       *[other] { $pages } pages
    }), so there is no text for me to read: I can't recognise text in images (OCR) yet. Send a PDF with a text layer, or an EPUB.
library-error-no-text = 📭 I found no text in this { $format } file.
library-error-too-many-pages = 📚 This PDF has { $pages ->
        [one] { $pages } page
       *[other] { $pages } pages
    }; I read books of up to { $limit } pages.
library-error-internal = 😔 Something went wrong on my side while reading this book, several times. It has been logged; please send the file again later.
library-error-timeout = ⌛ Reading this file took far too long, so I stopped. If it is a book, try another format (EPUB or FB2).
library-error-interrupted = 😔 I was interrupted while reading this book more than once, so I stopped. Please send the file again later.
library-error-file-missing = 😔 I lost the uploaded file before I finished. Please send it again.
library-error-rejected = 🚫 I can't add this book right now.
library-card-read-until = 📍 Spoiler-safe: answers keep to the first { $percent }%, as far as you've read.
library-button-read-until = 📍 How far I've read
