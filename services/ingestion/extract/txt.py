"""Plain text books: decoding, paragraphs, and chapters found from heading lines.

Headings are lines like "CHAPTER I. Down the Rabbit-Hole", "Chapter 1.", "ГЛАВА I", "Часть первая",
"BOOK II", "ACT I. SCENE II.", "Actus Primus. Scoena Prima.", "I. The Absence of Mr Glass" or a lone
roman numeral; a short all-capitals line right after one is taken as its title. A chapter inside a
volume or part is named with it ("VOLUME II, CHAPTER I"); a play's scenes are named "Act I, Scene 2"
(see `services.places.play_label`). A table of contents at the top is not taken for chapters. Project
Gutenberg licence boilerplate is dropped and its header read for metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract.language import pick_language
from services.ingestion.extract.model import ExtractedBook
from services.ingestion.extract.structure import (
    SectionBuilder,
    clean_title,
    title_from_filename,
)
from services.ingestion.extract.textdecode import decode_text
from services.places import play_label

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
    "действие": 2, "явление": 3, "сцена": 3,
}  # fmt: skip
_ACTS = {"act", "actus", "действие"}
_SCENES = {"scene", "scena", "scoena", "явление", "сцена"}
_KEYWORD_RE = re.compile(
    rf"^(?P<kw>{'|'.join(_KEYWORDS)})\.?\s+(?P<num>{_NUMBER})\b[.:]?(?P<rest>.*)$", re.IGNORECASE
)
# "ACT I. SCENE II." / "Actus Primus. Scoena Prima.": the scene named on the act's line.
_SCENE_IN_REST_RE = re.compile(rf"^[\s.,;:]*(?:{'|'.join(_SCENES)})\.?\s+(?P<num>{_NUMBER})\b", re.IGNORECASE)
_ORDINAL_VALUES = {
    word: value
    for value, words in enumerate(
        [
            "",
            "one first primus prima первая первый первое",
            "two second secundus secunda вторая второй второе",
            "three third tertius tertia третья третий третье",
            "four fourth quartus quarta четвертая четвёртая четвертый четвёртый четвертое четвёртое",
            "five fifth quintus quinta пятая пятый пятое",
            "six sixth шестая шестой шестое",
            "seven seventh седьмая седьмой седьмое",
            "eight eighth восьмая восьмой восьмое",
            "nine ninth девятая девятый девятое",
            "ten tenth десятая десятый десятое",
            "eleven eleventh одиннадцатая одиннадцатый",
            "twelve twelfth двенадцатая двенадцатый",
        ]
    )
    for word in words.split()
}
# A line that names the table of contents; the headings listed under it are not chapters.
_CONTENTS_RE = re.compile(r"^(?:table of )?contents[.:]?$|^(?:содержание|оглавление)[.:]?$", re.IGNORECASE)
# A contents entry has at most this much prose under it; a real chapter has more.
_CONTENTS_ENTRY_CHARS = 1500
_SHORT_HEADING_CHARS = 200
_STANDALONE_RE = re.compile(
    r"^(prologue|epilogue|preface|introduction|afterword|conclusion|пролог|эпилог|предисловие|"
    r"введение|послесловие|заключение)\.?$",
    re.IGNORECASE,
)
_ROMAN = r"(?=[IVXLCDM])M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_ROMAN_RE = re.compile(rf"^{_ROMAN}\.?$")
# "IV. A DISCUSSION AT DAWN": a numeral and a title in capitals.
_ROMAN_TITLED_RE = re.compile(rf"^(?P<num>{_ROMAN})\.\s+(?P<title>[^a-zа-яё]+)$")
# "I. The Absence of Mr Glass": a numeral and a title in ordinary case, on a line of its own.
_ROMAN_NAMED_RE = re.compile(rf"^(?P<num>{_ROMAN})\.\s+(?P<title>[A-ZА-ЯЁ\"'‘“(][^;]*[^,;:\-–—])$")
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
    short: str = ""  # "VOLUME II" for "VOLUME II. THE RETURN": how chapters inside it name it
    act: int | None = None  # a play's act ("ACT I", "Actus Primus")
    scene: int | None = None  # a play's scene, on its own line or on the act's


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
    builder = SectionBuilder(join_bare_headings=True)
    paragraph: list[str] = []
    skip_until = -1
    parents: dict[int, _Heading] = {}
    act: int | None = None
    for index, line in enumerate(lines):
        if index <= skip_until:
            continue
        heading = headings.get(index)
        if heading is not None:
            builder.paragraph("\n".join(paragraph))
            paragraph = []
            parents = {level: parent for level, parent in parents.items() if level < heading.level}
            if heading.act is not None:
                act = heading.act
            elif heading.scene is None and not parents:
                act = None  # a new top-level heading that is not an act ends the play's acts
            builder.heading(heading.title, heading.level, label=_label(heading, parents, act))
            parents[heading.level] = heading
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
    named: list[int] = []
    contents: list[int] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or len(stripped) > _MAX_HEADING_CHARS:
            continue
        if not per_line and index > 0 and lines[index - 1].strip():
            continue  # inside a paragraph
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if _CONTENTS_RE.match(stripped):
            contents.append(index)
            continue
        unbracketed = stripped[1:-1].strip() if stripped[0] == "[" and stripped[-1] == "]" else stripped
        match = _KEYWORD_RE.match(unbracketed)
        if match and _heading_rest(match.group("rest"), following, per_line):
            found[index] = _keyword_heading(lines, index, unbracketed, match)
        elif _STANDALONE_RE.match(stripped):
            found[index] = _Heading(stripped, 2, 0)
        elif _ROMAN_RE.match(stripped) or _ROMAN_TITLED_RE.match(stripped):
            romans.append(index)
        elif not per_line and not following and _ROMAN_NAMED_RE.match(stripped):
            named.append(index)
    # "I. The Absence of Mr Glass" could be a list item too: chapters only three or more in sequence.
    values = [_roman_value(lines[index].strip().split(".", 1)[0]) for index in named]
    if len(named) >= 3 and all(v == 1 or (i and v == (values[i - 1] or 0) + 1) for i, v in enumerate(values)):
        for index in named:
            stripped = lines[index].strip()
            found[index] = _Heading(stripped, 2, 0, short=stripped.split(".", 1)[0])
    # A roman numeral is a chapter only when the book numbers its chapters that way.
    numerals = [re.split(r"[.\s]", lines[index].strip(), maxsplit=1)[0] for index in romans]
    if len(romans) >= 2 and ("I" in numerals or "II" in numerals):
        for index in romans:
            stripped = lines[index].strip()
            if _ROMAN_RE.match(stripped):
                found[index] = _with_subtitle(lines, index, stripped, 2)
                found[index].short = stripped.rstrip(".")
            else:
                found[index] = _Heading(stripped, 2, 0, short=stripped.split(".", 1)[0])
    _drop_contents(lines, found, contents)
    levels = sorted({heading.level for heading in found.values()})
    remap = {level: rank + 1 for rank, level in enumerate(levels)}
    for heading in found.values():
        heading.level = remap[heading.level]
    return found


def _heading_rest(rest: str, following: str, per_line: bool) -> bool:
    """Whether what follows "CHAPTER I" on its line fits a heading rather than a sentence running on."""
    rest = rest.strip()
    if rest.endswith(",") or "--" in rest:
        return False  # "BOOK I. (FOLIO), CHAPTER I. (SPERM WHALE).--This whale, among the"
    if per_line or not following:
        return True
    # a paragraph that goes on in the next line rather than a title under the heading
    return not (following[0].islower() or "--" in following or len(following) > 60)


def _keyword_heading(lines: list[str], index: int, title: str, match: re.Match[str]) -> _Heading:
    keyword = match.group("kw").lower()
    heading = _with_subtitle(lines, index, title, _KEYWORDS[keyword])
    heading.short = f"{match.group('kw')} {match.group('num')}"
    number = _number(match.group("num"))
    if keyword in _ACTS:
        heading.act = number
        scene = _SCENE_IN_REST_RE.match(match.group("rest"))
        if scene:
            heading.scene = _number(scene.group("num"))
    elif keyword in _SCENES:
        heading.scene = number
    return heading


def _number(text: str) -> int | None:
    """'XIV' -> 14, '3' -> 3, 'Secunda' -> 2, 'первое' -> 1; None for what is not a number."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    value = _ORDINAL_VALUES.get(text.lower())
    if value is not None:
        return value
    return _roman_value(text) if text.isupper() and _ROMAN_RE.match(text) else None


def _roman_value(numeral: str) -> int | None:
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total, previous = 0, 0
    for char in reversed(numeral.rstrip(".")):
        value = values.get(char)
        if value is None:
            return None
        total, previous = (total - value, previous) if value < previous else (total + value, value)
    return total or None


def _label(heading: _Heading, parents: dict[int, _Heading], act: int | None) -> str | None:
    """How citations name the heading's chapter: with its volume or part, a play's with act and scene."""
    if heading.act is not None or heading.scene is not None:
        return play_label(heading.act if heading.act is not None else act, heading.scene)
    if not parents:
        return None
    parent = parents[max(parents)]
    if parent.act is not None or parent.scene is not None:
        return None
    # A bare "II" says little in a citation; "Часть первая, II" and "VOLUME II, CHAPTER I" do.
    return f"{parent.short or parent.title.rstrip('.')}, {heading.title.rstrip('.')}"


def _drop_contents(lines: list[str], found: dict[int, _Heading], contents: list[int]) -> None:
    """Headings listed in a table of contents are entries, not chapters: drop them from `found`.

    Under a "Contents" line, entries run until the first of them comes again or a heading has a
    chapter's worth of prose under it. Without such a line, three or more headings in a row with
    hardly any text under them, each of which comes again later, are a contents list too.
    """
    order = sorted(found)
    prose = _prose_after(lines, order)
    for start in contents:
        listed = [index for index in order if index > start and index in found]
        if not listed:
            continue
        first = _key(found[listed[0]])
        for position, index in enumerate(listed):
            if position and _key(found[index]) == first:
                break
            if prose[index] > _CONTENTS_ENTRY_CHARS:
                break
            del found[index]
    order = sorted(found)
    prose = _prose_after(lines, order)
    later: dict[str, int] = {}
    for index in order:
        later[_key(found[index])] = index  # the last place each heading appears
    run: list[int] = []
    line_or_end: int | None
    for line_or_end in [*order, None]:
        if line_or_end is not None and prose[line_or_end] < _SHORT_HEADING_CHARS:
            again = later[_key(found[line_or_end])]
            # An entry comes again later as a real chapter, with far more text under it; a volume's short
            # chapters numbered afresh in the next volume have as much text under them each time.
            if again > line_or_end and prose[again] > max(3 * prose[line_or_end], _SHORT_HEADING_CHARS):
                run.append(line_or_end)
                continue
        if len(run) >= 3:
            for entry in run:
                del found[entry]
        run = []


def _prose_after(lines: list[str], order: list[int]) -> dict[int, int]:
    """Heading line -> characters of text before the next heading, not counting heading-like lines."""
    sizes: dict[int, int] = {}
    for position, index in enumerate(order):
        end = order[position + 1] if position + 1 < len(order) else len(lines)
        size = 0
        for line in lines[index + 1 : end]:
            stripped = line.strip()
            if stripped and not (_KEYWORD_RE.match(stripped) or _ROMAN_TITLED_RE.match(stripped)):
                size += len(stripped)
        sizes[index] = size
    return sizes


def _key(heading: _Heading) -> str:
    """What a contents entry and its chapter share: 'chapter i' for 'CHAPTER I.   Loomings'."""
    return " ".join(re.findall(r"\w+", (heading.short or heading.title).lower()))


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
