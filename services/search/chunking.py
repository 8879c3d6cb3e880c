"""Cut a book into passages for the index: whole sentences, paragraphs kept together where they fit.

A chunk is an exact slice of the book text (sections joined by a blank line, as `ExtractedBook.text`),
so quotes can be checked verbatim and `char_start`/`char_end` point into the book. Chunks do not span
two chapters, except that a scrap shorter than `min_chars` at a chapter's end (a part title, an
epigraph) joins the next chunk, named after the chapter holding most of it. `page` is where the chunk
starts, `percent` its position in the book (0-100).

Size: about 600 characters. The dense model reads a chunk in sentence windows (see index.py), so chunk
size costs nothing in embedding; it sets the grain of retrieval. Small chunks let the search return
several distinct places within a fixed context, and neighbouring hits are joined back together at
query time (up to ~1,200 characters, and a lone chunk is widened to about that with the sentences
around it), which measured best at equal context (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from services.search.sentences import paragraph_spans, sentence_spans, split_long


class SectionLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def page(self) -> int | None: ...
    @property
    def chapter(self) -> str | None: ...


class BookLike(Protocol):
    @property
    def sections(self) -> Sequence[SectionLike]: ...


@dataclass(frozen=True, slots=True)
class Chunk:
    seq: int
    text: str
    page: int | None
    chapter: str | None
    percent: float  # where the chunk starts, 0-100
    char_start: int  # offsets into the book text (sections joined with "\n\n")
    char_end: int
    # The book text between the previous chunk and this one (whitespace; "" for the first chunk), so
    # that neighbouring chunks can be joined back into the exact book text.
    gap_before: str = ""


@dataclass(frozen=True, slots=True)
class ChunkingOptions:
    target_chars: int = 600  # a chunk of several sentences stays within this
    max_chars: int = 1200  # one sentence longer than this is cut at clause marks
    min_chars: int = 120  # a shorter chunk at a chapter's end joins the next one
    overlap_sentences: int = 0  # sentences repeated from the previous chunk


DEFAULT_OPTIONS = ChunkingOptions()


@dataclass(frozen=True, slots=True)
class TextSection:
    """A plain section, for callers that chunk text without an `ExtractedBook`."""

    text: str
    page: int | None = None
    chapter: str | None = None


class _Unit(NamedTuple):
    start: int
    end: int
    section: int
    paragraph_end: int  # end of the paragraph this sentence belongs to
    opens_paragraph: bool


def chunk_book(book: BookLike, options: ChunkingOptions = DEFAULT_OPTIONS) -> list[Chunk]:
    """Chunks of an extracted book, in reading order, numbered from 0."""
    return chunk_sections(book.sections, options)


def chunk_text(
    text: str,
    *,
    page: int | None = None,
    chapter: str | None = None,
    options: ChunkingOptions = DEFAULT_OPTIONS,
) -> list[Chunk]:
    return chunk_sections([TextSection(text, page, chapter)], options)


def chunk_sections(
    sections: Sequence[SectionLike], options: ChunkingOptions = DEFAULT_OPTIONS
) -> list[Chunk]:
    full = "\n\n".join(section.text for section in sections)
    units = list(_units(full, sections, options))
    chunks: list[Chunk] = []
    for group in _pack(units, sections, options):
        start, end = group[0].start, group[-1].end
        previous_end = chunks[-1].char_end if chunks else start
        chunks.append(
            Chunk(
                seq=len(chunks),
                text=full[start:end],
                page=sections[group[0].section].page,
                chapter=_chapter_of(group, sections),
                percent=round(100.0 * start / len(full), 2),
                char_start=start,
                char_end=end,
                gap_before=full[previous_end:start] if previous_end <= start else "",
            )
        )
    return chunks


def _units(full: str, sections: Sequence[SectionLike], options: ChunkingOptions) -> Iterable[_Unit]:
    offset = 0
    for index, section in enumerate(sections):
        end = offset + len(section.text)
        for p_start, p_end in paragraph_spans(full, offset, end):
            first = True
            for s_start, s_end in sentence_spans(full, p_start, p_end):
                pieces = (
                    split_long(full, s_start, s_end, options.max_chars)
                    if s_end - s_start > options.max_chars
                    else [(s_start, s_end)]
                )
                for piece_start, piece_end in pieces:
                    yield _Unit(piece_start, piece_end, index, p_end, first)
                    first = False
        offset = end + 2


def _pack(
    units: list[_Unit], sections: Sequence[SectionLike], options: ChunkingOptions
) -> Iterable[list[_Unit]]:
    target = options.target_chars
    current: list[_Unit] = []
    for unit in units:
        if current:
            start = current[0].start
            size = current[-1].end - start
            new_chapter = sections[unit.section].chapter != sections[current[-1].section].chapter
            if new_chapter and size >= options.min_chars:
                flush = True
            elif unit.end - start > target:
                flush = True
            elif unit.opens_paragraph and size >= target // 2:
                # Break between paragraphs rather than split the next one, when the chunk has body.
                flush = unit.paragraph_end - start > target
            else:
                flush = False
            if flush:
                yield current
                current = _overlap(current, unit, sections, options)
        current.append(unit)
    if current:
        yield current


def _overlap(
    previous: list[_Unit], unit: _Unit, sections: Sequence[SectionLike], options: ChunkingOptions
) -> list[_Unit]:
    if options.overlap_sentences <= 0 or len(previous) <= options.overlap_sentences:
        return []
    tail = previous[-options.overlap_sentences :]
    same_chapter = sections[tail[0].section].chapter == sections[unit.section].chapter
    if not same_chapter or unit.end - tail[0].start > options.target_chars:
        return []
    return list(tail)


def _chapter_of(group: list[_Unit], sections: Sequence[SectionLike]) -> str | None:
    """The chapter holding most of the chunk (a short heading merged in front does not name it)."""
    first = sections[group[0].section].chapter
    if group[0].section == group[-1].section:
        return first
    sizes: dict[int, int] = {}
    for unit in group:
        sizes[unit.section] = sizes.get(unit.section, 0) + unit.end - unit.start
    return sections[max(sizes, key=lambda index: sizes[index])].chapter
