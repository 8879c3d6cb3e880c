"""What extraction produces (`ExtractedBook`, `Section`) and the limits it works within."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from services.ingestion.detect import BookFormat

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text in reading order with its place in the book.

    `text` holds paragraphs separated by a blank line ("\\n\\n"); a heading, when the section starts
    with one, is its first paragraph. `page` is 1-based (PDF only). `chapter` is the title of the
    innermost chapter/section the text belongs to; `level` is that title's depth (1 = top level,
    0 = before any chapter).
    """

    text: str
    page: int | None = None
    chapter: str | None = None
    level: int = 0


@dataclass(slots=True)
class ExtractedBook:
    title: str | None
    author: str | None
    language: str | None  # ISO 639-1 ("en", "ru", ...)
    format: BookFormat
    pages: int | None
    sections: list[Section]
    warnings: list[str] = field(default_factory=list)  # non-fatal oddities, for logs

    @property
    def text(self) -> str:
        return "\n\n".join(section.text for section in self.sections)

    @property
    def chars(self) -> int:
        return sum(len(section.text) for section in self.sections) + 2 * max(0, len(self.sections) - 1)

    @property
    def chapters(self) -> int:
        """How many chapters the book has (for the book card): runs of sections under one title."""
        count, previous = 0, None
        for section in self.sections:
            key = (section.chapter, section.level)
            if section.chapter and key != previous:
                count += 1
            previous = key
        return count


@dataclass(frozen=True, slots=True)
class ExtractLimits:
    """Bounds on the work one file may cause. Defaults suit books; callers pass their settings."""

    max_bytes: int = 200 * MiB  # the file itself
    max_pages: int = 10_000  # PDF pages
    max_zip_members: int = 10_000
    max_unpacked_bytes: int = 1024 * MiB  # sum of declared member sizes
    max_member_bytes: int = 256 * MiB  # one member that we actually read
    max_read_bytes: int = 512 * MiB  # everything we decompress from one archive
    max_ratio: float = 200.0  # declared size / compressed size for members over ratio_floor
    ratio_floor: int = 2 * MiB

    def replace(self, **changes: Any) -> ExtractLimits:
        """A copy with the given fields changed; None values are ignored."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})


DEFAULT_LIMITS = ExtractLimits()
