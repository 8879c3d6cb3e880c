## Spoiler-safe reading: how far the reader has got in a book

reading-prompt = 📍 How far have you read <b>{ $title }</b>? Send a percentage, for example <code>40</code>. Answers, quotes, summaries and search will then use only the text before it, so nothing later is given away.
reading-prompt-chapters = Or tap the last chapter you finished:
reading-button-clear = ✖️ I've read it all (no limit)
reading-cancelled = Nothing changed.
reading-bad-percent = That isn't a percentage from 0 to 100, so I left it as it was. Tap 📍 on the book card to try again.
reading-saved = 📍 Saved: in <b>{ $title }</b> I'll use only the first { $percent }% of the book. Change it any time from the book card.
reading-cleared = 📖 <b>{ $title }</b>: no limit now, I'll use the whole book.
reading-note = <i>📍 Only the first { $percent }% of the book, as far as you've read: nothing later is used.</i>
reading-note-books = <i>📍 Only the parts you've read of { $count ->
    [one] { $count } book
   *[other] { $count } books
}: nothing later is used.</i>
