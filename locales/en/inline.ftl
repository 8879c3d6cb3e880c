# Inline mode: @bot words in any chat
inline-no-books = Your shelf is empty: send me a book
inline-nothing = Nothing found on your shelf: open the bot
inline-book-hint = Type words after the bot's name to search this book and the rest of your shelf
inline-book-message = 📖 I'm reading <b>{ $title }</b>
