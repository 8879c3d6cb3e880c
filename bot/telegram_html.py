"""LLM Markdown to Telegram's HTML subset, and splitting HTML into messages Telegram accepts.

`markdown_to_html` turns the Markdown-ish text models write (bold, italic, code, fenced code, links,
headings, lists, blockquotes) into the tags Telegram's HTML parse mode allows; everything else is
escaped, and a delimiter without its partner stays literal text. The output always nests properly.

`split_html` cuts well-formed HTML (ours, or any built from Telegram's tags) into parts of at most
`limit` visible characters, breaking at paragraph, line, sentence or word boundaries, and closes the
tags open at the end of a part and reopens them at the start of the next.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

TEXT_LIMIT = 4096

_SAFE_URL = re.compile(r"^(https?://|tg://|mailto:)[^\s<>\"]+$", re.IGNORECASE)
_LANGUAGE = re.compile(r"^[A-Za-z0-9_+#.-]{1,32}$")
_FENCE = re.compile(r"^\s{0,3}(```+|~~~+)\s*([^\s`]*)\s*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+•]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d{1,3})[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")


def escape(text: str) -> str:
    return html.escape(text, quote=False)


# --- Markdown to HTML ----------------------------------------------------------------------------


def markdown_to_html(text: str) -> str:
    """Telegram HTML for Markdown-ish `text`; safe for any input."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker[:3]):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence (or past the end when the model never closed it)
            code = escape("\n".join(body))
            language = fence.group(2)
            if language and _LANGUAGE.match(language):
                out.append(f'<pre><code class="language-{escape(language)}">{code}</code></pre>')
            else:
                out.append(f"<pre>{code}</pre>")
            continue
        if _QUOTE.match(line):
            quoted: list[str] = []
            while i < len(lines) and (match := _QUOTE.match(lines[i])):
                quoted.append(_inline(match.group(1)))
                i += 1
            out.append("<blockquote>" + "\n".join(quoted) + "</blockquote>")
            continue
        out.append(_block_line(line))
        i += 1
    return "\n".join(out).strip("\n")


def _block_line(line: str) -> str:
    if match := _HEADING.match(line):
        return f"<b>{_inline(match.group(1))}</b>" if match.group(1) else ""
    if _RULE.match(line):
        return "———"
    if match := _BULLET.match(line):
        return f"{match.group(1)}• {_inline(match.group(2))}"
    if match := _NUMBERED.match(line):
        return f"{match.group(1)}{match.group(2)}. {_inline(match.group(3))}"
    return _inline(line)


# Inline delimiters in the order they are tried at one position; longer first.
_PAIRS: tuple[tuple[str, str], ...] = (
    ("***", "b+i"),
    ("**", "b"),
    ("__", "b"),
    ("~~", "s"),
    ("||", "tg-spoiler"),
    ("*", "i"),
    ("_", "i"),
)


def _inline(text: str, *, links: bool = True) -> str:
    """Inline Markdown of one line; each pair is rendered recursively, so tags never cross."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "\\`*_~[]()#>|-!.":
            out.append(escape(text[i + 1]))
            i += 2
            continue
        if char == "`":
            ticks = len(text[i:]) - len(text[i:].lstrip("`"))
            end = text.find("`" * ticks, i + ticks)
            if end != -1 and text[i + ticks : end].strip():
                out.append(f"<code>{escape(text[i + ticks : end].strip())}</code>")
                i = end + ticks
                continue
            out.append(escape("`" * ticks))
            i += ticks
            continue
        if char == "[" and links:
            link = _link_at(text, i)
            if link is not None:
                label, url, end = link
                out.append(f'<a href="{html.escape(url, quote=True)}">{_inline(label, links=False)}</a>')
                i = end
                continue
        if char in "*_~|":
            pair = _pair_at(text, i)
            if pair is not None:
                delim, tag, end = pair
                inner = _inline(text[i + len(delim) : end], links=links)
                if tag == "b+i":
                    out.append(f"<b><i>{inner}</i></b>")
                else:
                    out.append(f"<{tag}>{inner}</{tag}>")
                i = end + len(delim)
                continue
            run = len(text) - len(text[i:].lstrip(char))
            out.append(escape(text[i : i + run]))
            i += run
            continue
        # Plain text up to the next character that may start markup.
        j = i + 1
        while j < n and text[j] not in "\\`[*_~|":
            j += 1
        out.append(escape(text[i:j]))
        i = j
    return "".join(out)


def _pair_at(text: str, i: int) -> tuple[str, str, int] | None:
    """The delimiter opening at `i`, its tag and where its partner starts, if it has one."""
    for delim, tag in _PAIRS:
        if not text.startswith(delim, i):
            continue
        start = i + len(delim)
        if start >= len(text) or text[start].isspace() or text[start] == delim[0]:
            continue
        if delim[0] == "_" and i > 0 and text[i - 1].isalnum():
            continue  # snake_case and the like
        search = start
        while True:
            end = text.find(delim, search)
            if end == -1:
                break
            after = end + len(delim)
            closes = not text[end - 1].isspace() and not (after < len(text) and text[after] == delim[0])
            if closes and delim[0] == "_" and after < len(text) and text[after].isalnum():
                closes = False
            if closes and end > start:
                return delim, tag, end
            search = end + 1
    return None


def _link_at(text: str, i: int) -> tuple[str, str, int] | None:
    close = text.find("](", i + 1)
    if close == -1 or "\n" in text[i:close]:
        return None
    end = text.find(")", close + 2)
    if end == -1:
        return None
    label, url = text[i + 1 : close], text[close + 2 : end].strip()
    if not label.strip() or not _SAFE_URL.match(url):
        return None
    return label, url, end + 1


# --- splitting -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);|[^<&]|[<&]"
)


@dataclass(slots=True)
class _Atom:
    raw: str  # exactly as in the source
    visible: str  # "" for tags
    tag: str | None = None
    closing: bool = False


def _atoms(source: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    for match in _TOKEN.finditer(source):
        raw = match.group(0)
        if match.group(2) is not None:
            atoms.append(_Atom(raw, "", match.group(2).lower(), bool(match.group(1))))
        elif raw.startswith("&") and len(raw) > 1:
            atoms.append(_Atom(raw, html.unescape(raw)))
        else:
            atoms.append(_Atom(raw, raw))
    return atoms


def visible_length(source: str) -> int:
    """Characters Telegram counts for an HTML string (UTF-16 code units, as the Bot API measures)."""
    return sum(_units(a.visible) for a in _atoms(source))


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _break_rank(prev: str, visible: str) -> int:
    """How good a place to break it is right after an atom showing `visible` (0: not a boundary)."""
    if visible == "\n":
        return 4 if prev == "\n" else 3
    if visible in (" ", "\t"):
        return 2 if prev and prev in '.!?;:…»")' else 1
    return 0


def split_html(source: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Parts of at most `limit` visible characters, each well-formed on its own; never empty parts."""
    if visible_length(source) <= limit:
        return [source] if source.strip() else []
    atoms = _atoms(source)
    parts: list[str] = []
    stack: list[_Atom] = []  # open tags at the current position
    start = 0
    while start < len(atoms):
        opened = list(stack)  # tags open at the start of this part, reopened in front of it
        count = 0
        best: tuple[int, int] | None = None  # (rank, index after which to break)
        candidates: list[tuple[int, int]] = []
        end = start
        prev = ""
        while end < len(atoms):
            atom = atoms[end]
            width = _units(atom.visible)
            if count + width > limit:
                break
            count += width
            if atom.tag is None:
                rank = _break_rank(prev, atom.visible)
                if rank:
                    candidates.append((rank, end))
                prev = atom.visible
            end += 1
        if end >= len(atoms):
            cut = len(atoms) - 1
        else:
            # Items (passages, list items, paragraphs) stay whole: break at the last blank line, else the
            # last line end, once the part is a fifth full. Else the best boundary in the last half; else
            # any boundary; else a hard cut (one "word" longer than a message).
            fifth = start + (end - start) // 5
            half = start + (end - start) // 2
            lines = [c for c in candidates if c[0] >= 3 and c[1] >= fifth]
            late = [c for c in candidates if c[1] >= half]
            if lines:
                best = max(lines, key=lambda c: (c[0], c[1]))
            elif late:
                best = max(late, key=lambda c: (c[0], c[1]))
            elif candidates:
                best = max(candidates, key=lambda c: c[1])
            cut = best[1] if best else end - 1
            cut = max(cut, start)
        body_atoms = atoms[start : cut + 1]
        for atom in body_atoms:
            if atom.tag is not None:
                _apply(stack, atom)
        while body_atoms and body_atoms[-1].tag is None and not body_atoms[-1].visible.strip():
            body_atoms = body_atoms[:-1]  # the space we broke at
        text = "".join(a.raw for a in opened) + "".join(a.raw for a in body_atoms)
        text += "".join(f"</{a.tag}>" for a in reversed(stack))
        text = _drop_empty_tags(text).strip()
        if _has_visible(text):
            parts.append(text)
        start = cut + 1
        # Whitespace at the start of the next part would be trimmed anyway; skip it (outside tags).
        while start < len(atoms) and atoms[start].tag is None and not atoms[start].visible.strip():
            start += 1
    return parts


def _apply(stack: list[_Atom], atom: _Atom) -> None:
    if not atom.closing:
        stack.append(atom)
        return
    for index in range(len(stack) - 1, -1, -1):
        if stack[index].tag == atom.tag:
            del stack[index]
            return


_EMPTY_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^>]*)?>(\s*)</\1>")


def _drop_empty_tags(text: str) -> str:
    while True:
        cleaned = _EMPTY_TAG.sub(r"\2", text)
        if cleaned == text:
            return text
        text = cleaned


def _has_visible(text: str) -> bool:
    return any(a.visible.strip() for a in _atoms(text))
