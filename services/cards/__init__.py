"""Quote cards: a quote, its book and place drawn as an image to share."""
