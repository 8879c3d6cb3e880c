command-start = Start over
command-books = My books
command-help = What I can do
command-language = Change language

start-welcome =
    👋 Hi{ $name ->
        [none] {""}
       *[other] , { $name }
    }! I'm <b>Librarity</b>: send me a book and talk to it.

    📚 Send a book as a file: PDF, EPUB, FB2, TXT, DOCX, Markdown or HTML.
    💬 Then ask anything: I answer from the book itself, with quotes and the page or chapter they come from.
    📝 Ask for a summary, key ideas or quotes, or search across all your books.
start-button-upload = 📚 Add a book
start-button-help = ❓ Help
start-button-language = 🌐 Language
start-upload-hint =
    Send the book as a <b>file</b> (the 📎 paperclip → File). I read PDF, EPUB, FB2 (also .fb2.zip), TXT, DOCX, Markdown and HTML, up to 20 MB.

help-text =
    <b>What I can do</b>

    📚 <b>Add a book</b>: send it as a file (PDF, EPUB, FB2, TXT, DOCX, Markdown, HTML). I show the progress while I read it.
    💬 <b>Ask</b>: write a question and I answer from your active book, with quotes and places. Buttons under an answer show its sources, more detail or start a new topic; follow-up questions remember the conversation.
    📝 <b>Summary</b>: a short and a long summary, key topics and notable quotes of the book, or of one chapter.
    🎓 <b>Modes</b>: an answer, quotes only, a simple explanation, or study (I ask you about a chapter and check your answer).
    🔥 <b>Streaks</b>: each day you ask about or study a book counts; /stats shows your streak and milestones.
    💰 <b>Credits</b>: questions, books and summaries cost credits. Free credits come every month; a new user gets a Pro trial.

    /start: start over
    /books: your shelf
    /new: a new topic (I forget the conversation)
    /mode: how I answer (answer, quotes, simple, study)
    /summary: summary of the active book
    /search: search all your books
    /stats: your reading streak, figures and milestones
    /top: the readers' leaderboard (join under a name you choose in /settings)
    /balance: your credits, plan and payments
    /buy: buy credits or a plan (Telegram Stars or card)
    /paysupport: help with payments · /terms: terms of use
    /settings: daily quote, digest and other messages, their hour and time zone
    /language: change the language
    /help: this message

language-choose = Choose your language:
language-changed = Language: English 🇬🇧

fallback-not-understood = I didn't get that. Send me a book as a file, or write a question about your book.
fallback-unknown-command = I don't know that command. /help lists what I can do.
fallback-stale-button = This button is no longer active.

error-unexpected = 😔 Sorry, something went wrong on my side. It has been logged; please try again in a moment.
# A user over their rate limit: said once, then silence until { $seconds } have passed.
rate-limited = { $seconds ->
        [one] ⏳ You're sending messages too fast — I'll answer again in { $seconds } second.
       *[other] ⏳ You're sending messages too fast — I'll answer again in { $seconds } seconds.
    }
error-storage-unavailable = ⏳ I can't reach part of my storage right now. Please try again in a minute.
