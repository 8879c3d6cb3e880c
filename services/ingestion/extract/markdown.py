"""Markdown books: `#` and underlined headings become chapters, markup is reduced to plain text.

A light line-based reader rather than a full CommonMark parser: books need headings, paragraphs and
readable text, and this keeps code blocks intact and costs a few milliseconds per megabyte.
"""

from __future__ import annotations

import re

from services.ingestion.detect import BookFormat
from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract.language import pick_language
from services.ingestion.extract.model import ExtractedBook
from services.ingestion.extract.structure import SectionBuilder, clean_title, title_from_filename
from services.ingestion.extract.textdecode import decode_text

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FIELD_RE = re.compile(r"^(title|author|lang|language)\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_ATX_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-{2,})[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_RULE_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_TABLE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_INLINE_RULES = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links -> their text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # inline HTML tags
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # *emphasis*
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),  # _emphasis_
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])"), r"\1"),  # backslash escapes
)


def read_markdown(data: bytes, filename: str | None) -> ExtractedBook:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    meta, text = _front_matter(text)
    text = _COMMENT_RE.sub("", text)
    lines = text.split("\n")
    builder = SectionBuilder()
    paragraph: list[str] = []
    fence: str | None = None
    index = 0

    def flush() -> None:
        builder.paragraph("\n".join(paragraph))
        paragraph.clear()

    while index < len(lines):
        line = lines[index]
        index += 1
        fence_match = _FENCE_RE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = None
                flush()
            else:
                paragraph.append(line.rstrip())
            continue
        if fence_match:
            flush()
            fence = fence_match.group(1)
            continue
        atx = _ATX_RE.match(line)
        if atx:
            flush()
            builder.heading(inline(atx.group(2) or ""), len(atx.group(1)))
            continue
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        if (
            not paragraph
            and index < len(lines)
            and _SETEXT_RE.match(lines[index])
            and not _is_block_marker(stripped)
        ):
            builder.heading(inline(stripped), 1 if lines[index].strip().startswith("=") else 2)
            index += 1
            continue
        if _TABLE_RULE_RE.match(stripped) or _RULE_RE.match(line):
            flush()
            continue
        paragraph.append(inline(stripped))
    flush()
    sections = builder.build()
    if not sections:
        raise IngestionError(ErrorCode.NO_TEXT, format=BookFormat.MARKDOWN.value)
    first_h1 = next((title for title, level in builder.headings if level == 1), None)
    return ExtractedBook(
        title=clean_title(meta.get("title") or first_h1 or title_from_filename(filename)) or None,
        author=clean_title(meta.get("author")) or None,
        language=pick_language(
            meta.get("lang") or meta.get("language"), "\n\n".join(s.text for s in sections)
        ),
        format=BookFormat.MARKDOWN,
        pages=None,
        sections=sections,
    )


def inline(text: str) -> str:
    """Markdown inline markup to plain text."""
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return text.strip()


def _is_block_marker(line: str) -> bool:
    return line.startswith(("- ", "* ", "+ ", ">", "|")) or bool(re.match(r"\d+[.)]\s", line))


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    meta = {key.lower(): value.strip().strip("\"'") for key, value in _FIELD_RE.findall(match.group(1))}
    return meta, text[match.end() :]
