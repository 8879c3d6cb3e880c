"""Quote cards: Cyrillic is drawn with real glyphs, long quotes are wrapped and fitted, emoji and RTL
text do not break the card."""

from __future__ import annotations

import dataclasses
import io

from PIL import Image, ImageChops

from services.cards.render import HEIGHT, SMALLEST, WIDTH, QuoteCard, _font, drawable, fit, render


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    return image.convert("RGB")


def test_the_font_has_cyrillic_and_latin_glyphs() -> None:
    font = _font(40)
    missing = font.getmask("\ue000")  # private use: the font's "no glyph" box
    for char in "ЖЩЮяёЁжAbß":
        glyph = font.getmask(char)
        assert (glyph.size, bytes(glyph)) != (missing.size, bytes(missing)), char


def test_a_card_draws_the_quote_and_the_book() -> None:
    card = _image(render(QuoteCard("Береги честь смолоду.", "Капитанская дочка", "А. С. Пушкин", "Глава 1")))
    blank = _image(render(QuoteCard(" ", "Капитанская дочка", "А. С. Пушкин", "Глава 1")))
    assert ImageChops.difference(card, blank).getbbox() is not None


def test_a_long_quote_is_wrapped_and_fitted_inside_the_margins() -> None:
    long = "Береги платье снову, а честь смолоду. " * 200
    font, lines, step = fit(long, WIDTH - 180, 600)
    assert len(lines) * step <= 600 and lines[-1].endswith("…") and font.size == SMALLEST
    assert all(font.getlength(line) <= WIDTH - 180 for line in lines)
    short_font, short_lines, _ = fit("Short.", WIDTH - 180, 600)
    assert short_font.size > font.size and short_lines == ["Short."]
    _image(render(QuoteCard(long, "A very long title " * 20, "Author " * 30, "Chapter 12")))
    _image(render(QuoteCard("Oneverylongwordwithoutanyspaces" * 20, "T")))


def test_emoji_and_right_to_left_text_do_not_break_it() -> None:
    assert drawable("Hello 👋🏽 world ❤️\u200d🔥 ok") == "Hello world ❤ ok"
    _image(render(QuoteCard("السلام عليكم 📚 שלום עולם", "كتاب", "مؤلف", "٣")))
    _image(render(QuoteCard("👋🏽🔥", "📚")))


def test_right_to_left_letters_have_glyphs() -> None:
    font = _font(40)
    missing = font.getmask("\ue000")
    for char in "שלוםسلام":
        glyph = font.getmask(char)
        assert (glyph.size, bytes(glyph)) != (missing.size, bytes(missing)), char


def test_the_deep_link_is_printed_small_at_the_bottom() -> None:
    card = QuoteCard("שלום עולם 📚 السلام عليكم", "كتاب 📖", "مؤلف", "٣")
    plain = _image(render(card))
    linked = _image(render(dataclasses.replace(card, link="https://t.me/librarity_bot?start=q_12")))
    box = ImageChops.difference(plain, linked).getbbox()
    assert box is not None and box[1] >= HEIGHT - 60 and box[3] <= HEIGHT and box[0] >= 80
