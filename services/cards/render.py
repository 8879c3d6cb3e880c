"""Draw a quote card (PNG): the quote wrapped and fitted, the book, author and place below.

The font is DejaVu Sans, shipped inside matplotlib (a dependency), so Cyrillic, Greek and most Latin
scripts render without system fonts. Characters the font lacks (emoji) are left out rather than drawn
as boxes; right-to-left text is drawn in logical order (Pillow's basic layout) and never breaks the card.
"""

from __future__ import annotations

import importlib.util
import io
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1080, 1080
MARGIN = 90
BACKGROUND = (250, 247, 240)
INK = (34, 34, 34)
MUTED = (120, 110, 100)
ACCENT = (176, 122, 56)
LARGEST, SMALLEST = 64, 22
QUOTE_LIMIT = 1200  # characters; longer quotes end with an ellipsis


@dataclass(frozen=True, slots=True)
class QuoteCard:
    quote: str
    title: str
    author: str | None = None
    place: str | None = None  # "Chapter 3", "p. 41"
    book_id: int | None = None  # the user's book it comes from (not drawn)
    link: str | None = None  # the deep link that opens the quote, printed small at the bottom


def font_path(bold: bool = False) -> Path:
    """DejaVu Sans from matplotlib's data, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib (which ships the card font) is not installed")
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf" / name


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold)), size)


def drawable(text: str) -> str:
    """The text without what the font cannot draw (emoji, control characters), spaces collapsed."""
    kept = []
    for char in text:
        if char in "\n\t":
            kept.append(" ")
            continue
        # Control and format characters (joiners), variation selectors and everything past the Basic
        # Multilingual Plane (where emoji live) have no glyph in the font.
        if unicodedata.category(char).startswith("C") or ord(char) > 0xFFFF or 0xFE00 <= ord(char) <= 0xFE0F:
            continue
        kept.append(char)
    return " ".join("".join(kept).split())


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to `width` pixels; a word longer than a line is cut."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while font.getlength(word) > width:
            cut = len(word)
            while cut > 1 and font.getlength(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines


def fit(text: str, width: int, height: int) -> tuple[ImageFont.FreeTypeFont, list[str], int]:
    """The largest font size at which the wrapped text fits the box: (font, lines, line height)."""
    for size in range(LARGEST, SMALLEST - 1, -2):
        font = _font(size)
        lines = wrap(text, font, width)
        step = int(size * 1.35)
        if len(lines) * step <= height:
            return font, lines, step
    font = _font(SMALLEST)
    step = int(SMALLEST * 1.35)
    lines = wrap(text, font, width)[: max(1, height // step)]
    lines[-1] = lines[-1].rstrip(".,;: ") + "…"
    return font, lines, step


def render(card: QuoteCard) -> bytes:
    """The card as PNG bytes."""
    quote = drawable(card.quote)[:QUOTE_LIMIT] or "…"
    title = drawable(card.title) or "…"
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 14), fill=ACCENT)
    draw.text((MARGIN - 10, MARGIN - 40), "“", font=_font(120, bold=True), fill=ACCENT)
    footer_top = HEIGHT - MARGIN - 120
    font, lines, step = fit(f"{quote}", WIDTH - 2 * MARGIN, footer_top - MARGIN - 80)
    y = MARGIN + 80 + max(0, (footer_top - MARGIN - 80 - len(lines) * step) // 2)
    for line in lines:
        draw.text((MARGIN, y), line, font=font, fill=INK)
        y += step
    draw.line((MARGIN, footer_top, MARGIN + 120, footer_top), fill=ACCENT, width=4)
    head = _font(34, bold=True)
    title_line = wrap(title, head, WIDTH - 2 * MARGIN)[0]
    draw.text((MARGIN, footer_top + 24), title_line, font=head, fill=INK)
    below = " · ".join(part for part in (drawable(card.author or ""), drawable(card.place or "")) if part)
    if below:
        small = _font(28)
        draw.text(
            (MARGIN, footer_top + 74), wrap(below, small, WIDTH - 2 * MARGIN)[0], font=small, fill=MUTED
        )
    if card.link:
        tiny = _font(22)
        link = wrap(drawable(card.link), tiny, WIDTH - 2 * MARGIN)
        if link:
            draw.text((MARGIN, HEIGHT - 52), link[0], font=tiny, fill=MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
