"""Assembling sections from paragraphs and headings, shared by the format readers."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from services.ingestion.extract.model import Section

# Headings deeper than this stay inside their parent's section as ordinary paragraphs.
SPLIT_LEVEL = 3

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_TRAILING_SPACE_RE = re.compile(r"[ \t]+\n")
_MANY_NEWLINES_RE = re.compile(r"\n{3,}")


class SectionBuilder:
    """Collects paragraphs; a heading closes the running section and opens a new one."""

    def __init__(self, *, split_level: int = SPLIT_LEVEL, join_bare_headings: bool = False) -> None:
        """`join_bare_headings`: a heading with no text under it before a deeper one ("VOLUME I" right
        above "CHAPTER I") opens no section of its own; its title goes into the deeper one's."""
        self.sections: list[Section] = []
        self._paragraphs: list[str] = []
        self._chapter: str | None = None
        self._level = 0
        self._page: int | None = None
        self._split_level = split_level
        self._join_bare = join_bare_headings
        self._bare = False  # the running section holds only its heading so far
        self.headings: list[tuple[str, int]] = []

    def heading(self, title: str, level: int, *, label: str | None = None) -> None:
        """Start a section with `title` as its first paragraph; `label` overrides its chapter name."""
        title = clean_title(title)
        if not title:
            return
        if level > self._split_level:
            self.paragraph(title)
            return
        if not (self._join_bare and self._bare and max(1, level) > self._level):
            self.flush()
        self._chapter, self._level = clean_title(label) or title, max(1, level)
        self.headings.append((self._chapter, self._level))
        self._paragraphs.append(title)
        self._bare = True

    def chapter(self, title: str | None, level: int = 1) -> None:
        """Start a new section under `title` without adding the title as text."""
        self.flush()
        self._bare = False
        self._chapter, self._level = (clean_title(title) or None, level) if title else (None, 0)

    def page(self, number: int | None) -> None:
        self.flush()
        self._bare = False
        self._page = number

    def paragraph(self, text: str) -> None:
        text = text.strip()
        if text:
            self._paragraphs.append(text)
            self._bare = False

    def flush(self) -> None:
        if self._paragraphs:
            text = clean_text("\n\n".join(self._paragraphs))
            if text:
                self.sections.append(Section(text, self._page, self._chapter, self._level))
            self._paragraphs = []

    def build(self) -> list[Section]:
        self.flush()
        return self.sections


def clean_text(text: str) -> str:
    """Drop control characters, trailing spaces and runs of blank lines."""
    text = _CONTROL_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _TRAILING_SPACE_RE.sub("\n", text)
    return _MANY_NEWLINES_RE.sub("\n\n", text).strip()


def clean_title(title: str | None, limit: int = 300) -> str:
    if not title:
        return ""
    title = " ".join(_CONTROL_RE.sub("", title).split())
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def title_from_filename(filename: str | None) -> str | None:
    """'Tolstoy_-_War_and_Peace.fb2.zip' -> 'Tolstoy - War and Peace'."""
    if not filename:
        return None
    name = PurePosixPath(filename.replace("\\", "/")).name
    for _ in range(2):
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 1 <= len(ext) <= 8 and ext.isalnum():
            name = stem
    name = clean_title(name.replace("_", " "))
    return name or None
