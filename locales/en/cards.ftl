cards-button = 🖼 Card { $n }
cards-unavailable = This passage is no longer in your books.
cards-drawing = Drawing the card…
cards-caption = 🖼 From «{ $title }»
cards-button-one = 🖼 Card
