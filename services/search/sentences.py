"""Sentence and paragraph boundaries for English and Russian text, as character spans; and book text laid
out for reading (`reflow`).

Spans (not strings) so that every chunk and every quoted sentence is an exact slice of the book text.
The splitter is a single regex pass plus an abbreviation check: fast enough for a 2M-word book and
aware of what breaks naive splitters — abbreviations and initials ("Mr.", "т. е.", "А. С. Пушкин"),
closing quotes after the stop ("...end.» Next"), Russian dialogue dashes ("— сказал он. — Иди.") and
ellipses.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

# A stop, then any closing quotes/brackets, then whitespace, then (after opening quotes, brackets or
# dialogue dashes) something that starts a sentence: an upper-case letter or a digit.
_BOUNDARY = re.compile(
    r"""(?:[.!?…]+)["'»”’)\]]*(?=\s+(?:["'«„“(\[—–-]\s*)*[A-ZА-ЯЁ0-9])""",
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_LAST_WORD = re.compile(r"(\w+)[.]$")
# A text whose longest line is shorter than this was not wrapped at a fixed width (verse, headings).
MIN_WRAP_WIDTH = 40
# Verse: at least this many lines inside paragraphs, and this share of them starting with a capital.
VERSE_MIN_LINES = 4
VERSE_CAPITALS = 0.8
_SENTENCE_ENDS = tuple(".!?…:;\"'»”’)]")

# Lower-cased words that end with a dot without ending the sentence.
ABBREVIATIONS: frozenset[str] = frozenset(
    {
        # English
        "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "vol", "ch", "fig", "pp", "cf",
        "gen", "col", "capt", "lt", "sgt", "rev", "hon", "mt", "ft", "messrs", "mme", "mlle", "esq",
        "approx", "dept", "inc", "ltd", "corp", "jan", "feb", "apr", "jun", "jul", "aug", "sept", "oct",
        "nov",
        # Russian
        "т", "г", "гг", "др", "пр", "см", "стр", "им", "ул", "тов", "проф", "акад", "св", "ср", "напр",
        "кн", "руб", "коп", "тыс", "млн", "млрд", "чел", "рис", "гл", "ст", "вв", "мл", "ок", "англ",
        "франц", "нем", "лат", "рус", "кв", "д", "обл", "р", "с", "т.е", "т.к", "т.н", "т.п", "т.д",
    }
)  # fmt: skip


def paragraph_spans(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Non-blank paragraphs of text[start:end] (separated by blank lines), stripped, as spans."""
    end = len(text) if end is None else end
    position = start
    for match in _PARAGRAPH_BREAK.finditer(text, start, end):
        yield from _stripped(text, position, match.start())
        position = match.end()
    yield from _stripped(text, position, end)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Sentences of text[start:end] (one paragraph, or any run of text) as stripped spans."""
    end = len(text) if end is None else end
    sentence_start = start
    for match in _BOUNDARY.finditer(text, start, end):
        stop = match.end()
        if _is_abbreviation(text, sentence_start, match.start(), match.group()):
            continue
        yield from _stripped(text, sentence_start, stop)
        sentence_start = stop
    yield from _stripped(text, sentence_start, end)


def text_sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of every paragraph of text, in reading order, as spans of text."""
    return [span for start, end in paragraph_spans(text) for span in sentence_spans(text, start, end)]


def reflow(text: str, start: int = 0, end: int | None = None) -> str:
    """text[start:end] for display: the line breaks a book was wrapped with (Project Gutenberg's ~70
    characters, a PDF's column) become spaces, paragraphs stay apart by a blank line, and breaks that
    mean something stay: after a heading or a title line, between verse lines. Runs of spaces become one.

    A line was wrapped when the next one goes on in lower case, or when the next line's first word would
    not have fitted on it; verse (lines that nearly all start with a capital) keeps its lines. Both are
    judged on the whole `text`, so a sentence cut from a passage reflows as the passage does. For
    display only: stored text and citations stay exact."""
    end = len(text) if end is None else end
    layout = _Layout.of(text)
    paragraphs: list[str] = []
    for p_start, p_end in paragraph_spans(text, start, end):
        pieces: list[str] = []
        position = p_start
        while position < p_end:
            line_end = text.find("\n", position, p_end)
            line_end = p_end if line_end == -1 else line_end
            line = " ".join(text[position:line_end].split())
            if line:
                if pieces:
                    pieces.append(" " if layout.wrapped(text, position) else "\n")
                pieces.append(line)
            position = line_end + 1
        paragraphs.append("".join(pieces))
    return "\n\n".join(paragraphs)


@dataclass(frozen=True, slots=True)
class _Layout:
    width: int  # the longest line
    verse: bool

    @classmethod
    def of(cls, text: str) -> _Layout:
        lines = [line.strip() for line in text.split("\n")]
        following = [line for before, line in itertools.pairwise(lines) if before and line]
        capitals = sum(1 for line in following if line[0].isupper())
        return cls(
            width=max((len(line) for line in lines), default=0),
            verse=len(following) >= VERSE_MIN_LINES and capitals >= VERSE_CAPITALS * len(following),
        )

    def wrapped(self, text: str, line_start: int) -> bool:
        """Whether the line before the one at `line_start` ended only because it was full."""
        next_line = text[line_start:].split(None, 1)
        if not next_line:
            return False
        if next_line[0][0].islower():
            return True
        if self.verse or self.width < MIN_WRAP_WIDTH:
            return False
        previous_start = text.rfind("\n", 0, line_start - 1) + 1
        previous = text[previous_start : line_start - 1].strip()
        if len(previous) + 1 + len(next_line[0]) > self.width * 0.9:
            return True
        # Some transcriptions wrap early; a line of some length that stops mid-sentence goes on.
        return len(previous) >= self.width * 0.6 and not previous.endswith(_SENTENCE_ENDS)


def _is_abbreviation(text: str, sentence_start: int, stop_start: int, stop: str) -> bool:
    if not stop.startswith(".") or stop.startswith(".."):
        return False
    # "1." or "II." alone is a list number or a heading mark, not a sentence.
    if stop_start - sentence_start < 3:
        return True
    found = _LAST_WORD.search(text, max(sentence_start, stop_start - 24), stop_start + 1)
    if found is None:
        return False
    word = found.group(1)
    if len(word) == 1:
        # An initial ("J. R. R.", "А. С.") or "e.g." — but "I." ends sentences too often to skip.
        return word != "I"
    if word.lower() in ABBREVIATIONS:
        return True
    # "т.е.", "e.g." written without spaces
    before = text[max(sentence_start, found.start() - 3) : found.start()]
    return before.endswith(".") and len(word) <= 2


def _stripped(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut a span longer than max_chars at clause marks, else at spaces, else anywhere."""
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        cut = -1
        for marks in ((";", ":", "—", "–"), (",",), (" ", "\n")):
            cut = max(window.rfind(mark) for mark in marks)
            if cut > max_chars // 3:
                break
        cut = cut + 1 if cut > max_chars // 3 else max_chars
        pieces.extend(_stripped(text, start, start + cut))
        start += cut
    pieces.extend(_stripped(text, start, end))
    return pieces


def window_spans(text: str, max_chars: int = 250) -> list[tuple[int, int]]:
    """Runs of whole sentences of up to max_chars within each paragraph of text (a longer sentence is a
    window of its own): the pieces a passage is embedded in, so one matching sentence is not diluted
    by the rest of its passage."""
    windows: list[tuple[int, int]] = []
    for p_start, p_end in paragraph_spans(text):
        current: tuple[int, int] | None = None
        for start, end in sentence_spans(text, p_start, p_end):
            if current is not None and end - current[0] > max_chars:
                windows.append(current)
                current = None
            current = (current[0], end) if current is not None else (start, end)
        if current is not None:
            windows.append(current)
    return windows
