## Talking to books: answers, sources, modes, /new, /search, summaries, study

command-new = New topic (forget the conversation)
command-mode = How I answer: answer, quotes, simple, study
command-summary = Summary of the active book
command-search = Search all your books

chat-no-book = 📚 You have no books yet. Send me one as a file (PDF, EPUB, FB2, TXT, DOCX, Markdown or HTML), then ask me anything about it.
chat-pick-book = 📚 Which book shall we talk about? Open /books and tap “Ask” on a book's card.
chat-book-unavailable = This book is not ready or no longer on your shelf.
chat-ask-prompt = 💬 Ask me anything about <b>{ $title }</b>. I answer from the book, with quotes and places.
chat-not-found = 🤷 I found nothing about that in <b>{ $title }</b>. Try other words, or /search across all your books.
chat-extractive-intro = 📖 From the book:
chat-offline-note = 📖 The AI model is not available right now, so here is what the book says, quoted word for word:
chat-sources-title = <b>Sources</b>
chat-place-page = p. { $page }
chat-place-unknown = a passage
chat-place-percent = { $percent }%
chapter-act = Act { $act }
chapter-act-scene = Act { $act }, Scene { $scene }
chapter-scene = Scene { $scene }
chat-unverified = ⚠️ marks words quoted by the model that I could not find in the book word for word: read them as a paraphrase.
chat-quotes-title = 📑 Passages from <b>{ $title }</b> for: <i>{ $query }</i>
chat-button-sources = 📖 Sources
chat-button-more = ➕ More detail
chat-button-new = 🆕 New topic
chat-sources-none = There are no sources to show for that answer.
chat-more-none = That is all I found on it.
chat-stale = That answer is no longer available.
chat-new-done = 🆕 New topic. I've forgotten our conversation; ask away.

chat-mode-choose = How should I answer? Now: <b>{ $mode }</b>
chat-mode-changed = Mode: { $mode }
chat-mode-answer = 💬 Answer
chat-mode-quotes = 📑 Quotes only
chat-mode-simple = 🧒 Explain simply
chat-mode-study = 🎓 Study
chat-mode-search = 🔎 Search all my books
chat-mode-answer-hint = I answer from the book with citations and places.
chat-mode-quotes-hint = I reply with the passages of the book that match, without retelling them.
chat-mode-simple-hint = I explain in plain words, still from the book and with citations.
chat-mode-study-hint = I ask you questions about a chapter and check your answers.

chat-search-prompt = 🔎 What should I look for across all your books? Write some words or a question.
chat-search-title = 🔎 Found in your books for: <i>{ $query }</i>
chat-search-book = 📕 <b>{ $title }</b>
chat-search-nothing = 🤷 Nothing found in your books for: <i>{ $query }</i>
chat-search-mode-on = <i>🔎 Searching all your books: write more words, or go back to asking your book.</i>
chat-search-mode-off = 📖 Back to asking <b>{ $title }</b>.
chat-button-leave-search = ↩ Ask my book again

summary-estimate = 📝 A summary of <b>{ $title }</b> reads the whole book with the AI model: about { $calls } requests, ~{ $tokens } tokens.
summary-estimate-credits = 💳 It costs { $credits } credits.
summary-confirm = Go ahead?
summary-button-confirm = ✅ Summarise
summary-button-cancel = ✖️ Cancel
summary-button-chapters = 📑 By chapter
summary-working = ⏳ Reading <b>{ $title }</b> to summarise it…
summary-title = 📝 <b>{ $title }</b>
summary-short = <b>In short</b>
summary-long = <b>Summary</b>
summary-topics = <b>Key topics:</b> { $topics }
summary-quotes = <b>Notable quotes</b>
summary-quote = «{ $text }» — <i>{ $place }</i>
summary-chapters = 📑 Which chapter?
summary-no-chapters = I could not tell this book's chapters apart.
summary-empty = There is no text in this book to summarise.
summary-cancelled = OK, no summary.
summary-chapter-confirm = 📝 A summary of <b>{ $title }</b> by the AI model costs up to { $credits } { $credits ->
        [one] credit
       *[other] credits
    }. Go ahead?
summary-method-extractive = <i>Made of the book's own sentences (no AI model).</i>

study-choose = 🎓 Study mode for <b>{ $title }</b>: I ask a question about a chapter, you answer, I check. Which chapter?
study-any = 🎲 Any chapter
chapters-previous = ◀️ Chapters { $first }–{ $last }
chapters-next = Chapters { $first }–{ $last } ▶️
study-question = 🎓 { $question }
study-gap = 🎓 Fill in the gap: { $question }
study-place = <i>{ $place }</i>
study-correct = ✅ Right!
study-partly = 🟡 Partly right.
study-wrong = ❌ Not quite.
study-expected = The book says: <b>{ $expected }</b>
study-next = ➡️ Next question
study-stop = ⏹ Stop studying
study-stopped = Study mode is off. Ask me anything about the book.
study-none = I could not make a question from this chapter.
study-confirm = 🎓 A question by the AI model and the check of your answer cost up to { $credits } { $credits ->
        [one] credit
       *[other] credits
    }. Go ahead?
study-button-confirm = ✅ Ask me
