"""Plain text books: decoding, paragraphs, and chapters found from heading lines.

Headings are lines like "CHAPTER I. Down the Rabbit-Hole", "Chapter 1.", "ГЛАВА I", "Часть первая",
"BOOK II", "Actus Primus." or a lone roman numeral; a short all-capitals line right after one is taken
as its title. Project Gutenberg licence boilerplate is dropped and its header read for metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract.language import pick_language
from services.ingestion.extract.model import ExtractedBook
from services.ingestion.extract.structure import SectionBuilder, clean_title, title_from_filename
from services.ingestion.extract.textdecode import decode_text

_ORDINALS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty first second third fourth fifth sixth seventh eighth ninth tenth "
    "eleventh twelfth last final "
    "первая первый первое вторая второй второе третья третий третье четвертая четвёртая четвертый "
    "четвёртый пятая пятый шестая шестой седьмая седьмой восьмая восьмой девятая девятый десятая "
    "десятый одиннадцатая одиннадцатый двенадцатая двенадцатый последняя последний "
    "primus prima secundus secunda tertius tertia quartus quarta quintus quinta"
).split()
_NUMBER = rf"(?:(?-i:[IVXLCDM]+)|\d{{1,4}}|{'|'.join(_ORDINALS)})"
# keyword -> nominal depth (parts above chapters above scenes); remapped to 1..n per book.
_KEYWORDS = {
    "volume": 1, "book": 1, "part": 1, "том": 1, "книга": 1, "часть": 1,
    "chapter": 2, "глава": 2, "act": 2, "actus": 2, "stave": 2, "letter": 2,
    "scene": 3, "scena": 3, "scoena": 3,
}  # fmt: skip
_KEYWORD_RE = re.compile(
    rf"^(?P<kw>{'|'.join(_KEYWORDS)})\.?\s+(?P<num>{_NUMBER})\b[.:]?(?P<rest>.*)$", re.IGNORECASE
)
_STANDALONE_RE = re.compile(
    r"^(prologue|epilogue|preface|introduction|afterword|conclusion|пролог|эпилог|предисловие|"
    r"введение|послесловие|заключение)\.?$",
    re.IGNORECASE,
)
_ROMAN = r"(?=[IVXLCDM])M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_ROMAN_RE = re.compile(rf"^{_ROMAN}\.?$")
# "IV. A DISCUSSION AT DAWN": a numeral and a title in capitals.
_ROMAN_TITLED_RE = re.compile(rf"^(?P<num>{_ROMAN})\.\s+(?P<title>[^a-zа-яё]+)$")
_NAME_RE = re.compile(r"^[A-ZА-ЯЁ][a-zа-яё'.-]+(?: [A-ZА-ЯЁ][a-zа-яё'.-]+){1,3}$")
_BRACKET_RE = re.compile(r"^\[(?P<title>.+?) by (?P<author>.+?)(?: (?P<year>\d{4}))?\]\s*$")
_GUTENBERG_START_RE = re.compile(r"^\*{3}\s*START OF (?:THIS|THE) PROJECT GUTENBERG.*$", re.MULTILINE)
_GUTENBERG_END_RE = re.compile(r"^\*{3}\s*END OF (?:THIS|THE) PROJECT GUTENBERG.*$", re.MULTILINE)
_HEADER_FIELD_RE = re.compile(r"^(Title|Author|Language):\s*(.+)$", re.MULTILINE)
_MAX_HEADING_CHARS = 90


@dataclass(slots=True)
class _Heading:
    title: str
    level: int
    consumed: int  # extra lines (the subtitle) that belong to the heading


def read_txt(data: bytes, filename: str | None) -> ExtractedBook:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    return text_book(text, filename, BookFormat.TXT)


def text_book(text: str, filename: str | None, fmt: BookFormat) -> ExtractedBook:
    meta, text = _strip_gutenberg(text)
    if not text.strip():
        raise IngestionError(ErrorCode.NO_TEXT, format=fmt.value)
    lines = text.split("\n")
    per_line = _paragraph_per_line(lines)
    headings = find_headings(lines, per_line)
    builder = SectionBuilder()
    paragraph: list[str] = []
    skip_until = -1
    parents: dict[int, str] = {}
    for index, line in enumerate(lines):
        if index <= skip_until:
            continue
        heading = headings.get(index)
        if heading is not None:
            builder.paragraph("\n".join(paragraph))
            paragraph = []
            parents = {level: title for level, title in parents.items() if level < heading.level}
            label = None
            if heading.level > 1 and _ROMAN_RE.match(heading.title) and parents:
                # A bare "II" says little in a citation; "Часть первая, II" does.
                label = f"{parents[max(parents)]}, {heading.title.rstrip('.')}"
            parents[heading.level] = heading.title
            builder.heading(heading.title, heading.level, label=label)
            skip_until = index + heading.consumed
            continue
        stripped = line.strip()
        if per_line:
            builder.paragraph(stripped)
        elif stripped:
            paragraph.append(stripped)
        elif paragraph:
            builder.paragraph("\n".join(paragraph))
            paragraph = []
    builder.paragraph("\n".join(paragraph))
    sections = builder.build()
    if not sections:
        raise IngestionError(ErrorCode.NO_TEXT, format=fmt.value)
    guessed_author, guessed_title = _byline(lines)
    title = meta.get("title") or guessed_title or title_from_filename(filename)
    author = meta.get("author") or guessed_author
    return ExtractedBook(
        title=clean_title(title) or None,
        author=clean_title(author) or None,
        language=pick_language(meta.get("language"), text),
        format=fmt,
        pages=None,
        sections=sections,
    )


def find_headings(lines: list[str], per_line: bool) -> dict[int, _Heading]:
    """Line index -> heading, for lines that stand alone and look like chapter titles."""
    found: dict[int, _Heading] = {}
    romans: list[int] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or len(stripped) > _MAX_HEADING_CHARS:
            continue
        if not per_line and index > 0 and lines[index - 1].strip():
            continue  # inside a paragraph
        match = _KEYWORD_RE.match(stripped)
        if match and not match.group("rest").strip().endswith(","):
            level = _KEYWORDS[match.group("kw").lower()]
            found[index] = _with_subtitle(lines, index, stripped, level)
        elif _STANDALONE_RE.match(stripped):
            found[index] = _Heading(stripped, 2, 0)
        elif _ROMAN_RE.match(stripped) or _ROMAN_TITLED_RE.match(stripped):
            romans.append(index)
    # A roman numeral is a chapter only when the book numbers its chapters that way.
    numerals = [re.split(r"[.\s]", lines[index].strip(), maxsplit=1)[0] for index in romans]
    if len(romans) >= 2 and ("I" in numerals or "II" in numerals):
        for index in romans:
            stripped = lines[index].strip()
            if _ROMAN_RE.match(stripped):
                found[index] = _with_subtitle(lines, index, stripped, 2)
            else:
                found[index] = _Heading(stripped, 2, 0)
    levels = sorted({heading.level for heading in found.values()})
    remap = {level: rank + 1 for rank, level in enumerate(levels)}
    for heading in found.values():
        heading.level = remap[heading.level]
    return found


def _with_subtitle(lines: list[str], index: int, title: str, level: int) -> _Heading:
    """'ГЛАВА I' followed by 'СЕРЖАНТ ГВАРДИИ' -> 'ГЛАВА I. СЕРЖАНТ ГВАРДИИ'."""
    for offset in (1, 2):
        if index + offset >= len(lines):
            break
        candidate = lines[index + offset].strip()
        if not candidate:
            continue
        if (
            len(candidate) <= 70
            and candidate.upper() == candidate
            and any(char.isalpha() for char in candidate)
            and not _KEYWORD_RE.match(candidate)
            and not _ROMAN_RE.match(candidate)
            and not _ROMAN_TITLED_RE.match(candidate)
        ):
            return _Heading(f"{title.rstrip('.')}. {candidate}", level, offset)
        break
    return _Heading(title, level, 0)


def _paragraph_per_line(lines: list[str]) -> bool:
    """Texts without blank lines put one paragraph on each line (common in Russian e-texts)."""
    non_blank = sum(1 for line in lines if line.strip())
    blank = len(lines) - non_blank
    return non_blank > 0 and blank < 0.05 * non_blank


def _strip_gutenberg(text: str) -> tuple[dict[str, str], str]:
    meta: dict[str, str] = {}
    start = _GUTENBERG_START_RE.search(text)
    if start:
        for key, value in _HEADER_FIELD_RE.findall(text[: start.start()]):
            meta.setdefault(key.lower(), value.strip())
        text = text[start.end() :]
    end = _GUTENBERG_END_RE.search(text)
    if end:
        text = text[: end.start()]
    first = text.lstrip().split("\n", 1)[0].strip()
    bracket = _BRACKET_RE.match(first)
    if bracket:
        meta.setdefault("title", bracket.group("title"))
        meta.setdefault("author", bracket.group("author"))
    return meta, text


def _byline(lines: list[str]) -> tuple[str | None, str | None]:
    """'Александр Пушкин' then 'ПИКОВАЯ ДАМА' at the top of a file: author and title."""
    head = [line.strip() for line in lines[:12] if line.strip()][:2]
    if len(head) < 2 or not _NAME_RE.match(head[0]):
        return None, None
    title = head[1]
    if len(title) > 80 or _KEYWORD_RE.match(title) or _ROMAN_RE.match(title):
        return head[0], None
    if title.upper() == title:
        title = title[0] + title[1:].lower()
        return head[0], title
    return head[0], None
