cards-button = 🖼 Card { $n }
cards-unavailable = This passage is no longer in your books.
cards-drawing = Drawing the card…
cards-caption = 🖼 From «{ $title }»
cards-button-one = 🖼 Card
cards-caption-link = 🖼 From «{ $title }»
    Open and share: { $link }
cards-button-share = 📤 Share
cards-share-text = A quote from «{ $title }»
cards-shared =
    <blockquote>{ $quote }</blockquote>
    — { $source }

    📚 Someone shared this quote with you. Send me a book as a file and ask it anything: I answer with quotes like this one.
cards-shared-gone = This quote is no longer shared. Send me a book and ask it anything: I answer with quotes from it.
# The admin's "Top quotes" section.
admin-menu-quotes = 🖼 Top quotes
admin-quotes-title = 🖼 <b>Most shared quotes</b> (cards sent · link opens by others)
admin-quotes-none = No quote cards shared yet.
admin-quotes-line = { $n }. 📤 { $shares } · 👁 { $views } — <b>{ $title }</b> (user <code>{ $user }</code>, #{ $id })
    <i>{ $quote }</i>
