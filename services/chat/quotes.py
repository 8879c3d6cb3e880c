"""Quotations in an answer, checked against the book: a quote that is not there verbatim is marked.

Text is compared after normalising what typesetting changes and a model cannot be blamed for: case,
whitespace, the kind of quotation marks, apostrophes, dashes, ellipses and "ё". Anything else — a
changed word, a reordered phrase — makes the quote unverified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.chat.types import UNVERIFIED_MARK

_QUOTE = re.compile(r"«([^«»]+)»|“([^“”]+)”|„([^„“”]+)[“”]|\"([^\"\n]+)\"")
# Shorter quotations are names and terms ("the Red Room"), not quotations of the book.
MIN_WORDS = 3

_TRANSLATE = str.maketrans(
    {
        "«": '"',
        "»": '"',
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "`": "'",
        "—": "-",
        "–": "-",
        "‒": "-",
        "―": "-",
        "−": "-",
        "ё": "е",
        "Ё": "Е",
        "\u00a0": " ",
        "\u00ad": None,  # soft hyphen
    }
)


def normalise(text: str) -> str:
    """Lower-case text with quotes, dashes, ellipses and whitespace made uniform."""
    text = text.translate(_TRANSLATE).replace("…", "...").lower()
    return re.sub(r"\s+", " ", text).strip()


def _core(text: str) -> str:
    # A quotation may start or end mid-sentence: ignore punctuation at its edges.
    return normalise(text).strip(" .,;:!?'\"-()[]")


@dataclass(frozen=True, slots=True)
class Quotation:
    text: str  # inside the marks
    start: int  # span of the whole quotation, marks included
    end: int


def find_quotations(text: str, min_words: int = MIN_WORDS) -> list[Quotation]:
    """Quoted passages of at least `min_words` words, in order."""
    found: list[Quotation] = []
    for match in _QUOTE.finditer(text):
        inner = next(group for group in match.groups() if group is not None)
        if len(inner.split()) >= min_words:
            found.append(Quotation(inner, match.start(), match.end()))
    return found


def is_verbatim(quote: str, sources: Iterable[str]) -> bool:
    core = _core(quote)
    if not core:
        return True
    return any(core in normalise(source) for source in sources)


def mark_unverified(text: str, unverified: Iterable[Quotation]) -> str:
    """The text with each unverified quotation's marks replaced: `«made up»` -> `made up ⚠️`."""
    pieces: list[str] = []
    position = 0
    for quote in sorted(unverified, key=lambda q: q.start):
        pieces.append(text[position : quote.start])
        pieces.append(f"{quote.text} {UNVERIFIED_MARK}")
        position = quote.end
    pieces.append(text[position:])
    return "".join(pieces)
