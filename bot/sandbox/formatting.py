"""Telegram text formatting: HTML parse mode to (text, entities), and entities Telegram detects itself.

The HTML parser follows Telegram's own (tdlib `parse_html`): only the documented tags, attributes in
quotes or as name tokens, tags closed in order, and errors worded the way the Bot API words them.
Offsets and lengths of entities are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

Entity = dict[str, Any]

_ALLOWED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
    "blockquote": "blockquote",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,4});")


class EntityParseError(ValueError):
    """Malformed markup; the message is the part after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    expandable: bool


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """The character an HTML entity at `pos` stands for and the position after it, if it is one."""
    match = _ENTITY_RE.match(text, pos)
    if match is None:
        return None
    body = match.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), match.end()
    char = _NAMED_ENTITIES.get(body)
    return (char, match.end()) if char is not None else None


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.out: list[str] = []
        self.utf16_offset = 0
        self.entities: list[Entity] = []
        self.open: list[_OpenTag] = []

    def byte_offset(self, pos: int) -> int:
        return len(self.src[:pos].encode("utf-8"))

    def char(self, pos: int) -> str:
        return self.src[pos] if pos < len(self.src) else ""

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.utf16_offset += utf16_len(chunk)

    def parse(self) -> tuple[str, list[Entity]]:
        pos = 0
        src = self.src
        while pos < len(src):
            char = src[pos]
            if char == "&":
                decoded = _decode_entity(src, pos)
                if decoded is not None:
                    self.emit(decoded[0])
                    pos = decoded[1]
                    continue
            if char != "<":
                next_special = min(
                    (i for i in (src.find("<", pos), src.find("&", pos + 1)) if i != -1), default=len(src)
                )
                self.emit(src[pos:next_special])
                pos = next_special
                continue
            pos = self.end_tag(pos) if self.char(pos + 1) == "/" else self.start_tag(pos)
        if self.open:
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{self.open[-1].name}"')
        return "".join(self.out), self.entities

    def start_tag(self, begin: int) -> int:
        pos = begin + 1
        while pos < len(self.src) and not self.src[pos].isspace() and self.src[pos] != ">":
            pos += 1
        if pos >= len(self.src):
            raise EntityParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = self.src[begin + 1 : pos].lower()
        if name not in _ALLOWED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}')
        argument = ""
        expandable = False
        while self.char(pos) != ">":
            while self.char(pos).isspace():
                pos += 1
            if self.char(pos) == ">":
                break
            attr_begin = pos
            while self.char(pos) and not self.char(pos).isspace() and self.char(pos) not in "=>":
                pos += 1
            attr_name = self.src[attr_begin:pos].lower()
            if not attr_name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {self.byte_offset(begin)}'
                )
            while self.char(pos).isspace():
                pos += 1
            if self.char(pos) != "=":
                if name == "blockquote" and attr_name == "expandable":
                    expandable = True
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {self.byte_offset(begin)}"
                )
            pos += 1
            while self.char(pos).isspace():
                pos += 1
            if not self.char(pos):
                raise EntityParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            value, pos = self.attribute_value(pos)
            if not self.char(pos):
                raise EntityParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            if name == "a" and attr_name == "href":
                argument = value
            elif name == "code" and attr_name == "class" and value.startswith("language-"):
                argument = value.removeprefix("language-")
            elif name == "span" and attr_name == "class" and value.startswith("tg-"):
                argument = value.removeprefix("tg-")
            elif name == "tg-emoji" and attr_name == "emoji-id":
                argument = value
        if name == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}'
            )
        self.open.append(_OpenTag(name, argument, self.utf16_offset, expandable))
        return pos + 1

    def attribute_value(self, pos: int) -> tuple[str, int]:
        quote = self.char(pos)
        if quote not in ("'", '"'):
            begin = pos
            while self.char(pos).isalnum() or self.char(pos) in (".", "-"):
                pos += 1
            if not (self.char(pos).isspace() or self.char(pos) == ">"):
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {self.byte_offset(begin)}"
                )
            return self.src[begin:pos].lower(), pos
        pos += 1
        chunks: list[str] = []
        while self.char(pos) and self.char(pos) != quote:
            if self.char(pos) == "&" and (decoded := _decode_entity(self.src, pos)) is not None:
                chunks.append(decoded[0])
                pos = decoded[1]
                continue
            chunks.append(self.char(pos))
            pos += 1
        if self.char(pos) == quote:
            pos += 1
        return "".join(chunks), pos

    def end_tag(self, begin: int) -> int:
        if not self.open:
            raise EntityParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        pos = begin + 2
        while self.char(pos) and not self.char(pos).isspace() and self.char(pos) != ">":
            pos += 1
        end_name = self.src[begin + 2 : pos].lower()
        while self.char(pos).isspace():
            pos += 1
        if self.char(pos) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        tag = self.open.pop()
        if end_name and end_name != tag.name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {self.byte_offset(begin)}, expected "</{tag.name}>", '
                f'found "</{end_name}>"'
            )
        self.close(tag)
        return pos + 1

    def close(self, tag: _OpenTag) -> None:
        length = self.utf16_offset - tag.utf16_offset
        if length <= 0:
            return
        entity: Entity = {"type": _TAG_TYPES[tag.name], "offset": tag.utf16_offset, "length": length}
        if tag.name == "a":
            entity["url"] = tag.argument or _text_since(self.out, length)
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.argument
        elif tag.name == "blockquote" and tag.expandable:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "pre":
            inner = next(
                (e for e in self.entities if e["type"] == "code" and e["offset"] == tag.utf16_offset),
                None,
            )
            if inner is not None and inner["length"] == length:
                self.entities.remove(inner)
                if inner.get("_language"):
                    entity["language"] = inner["_language"]
        elif tag.name == "code" and tag.argument:
            entity["_language"] = tag.argument
        self.entities.append(entity)


def _text_since(chunks: list[str], utf16_length: int) -> str:
    encoded = "".join(chunks).encode("utf-16-le")
    return encoded[len(encoded) - 2 * utf16_length :].decode("utf-16-le")


def parse_html(source: str) -> tuple[str, list[Entity]]:
    """Text and entities of an HTML parse-mode string; raises EntityParseError like Telegram does."""
    text, entities = _HtmlParser(source).parse()
    for entity in entities:
        entity.pop("_language", None)
    return text, sort_entities(entities)


def sort_entities(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Drop leading/trailing whitespace as Telegram does, keeping entities on the same characters."""
    stripped_left = text.lstrip()
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    limit = utf16_len(result)
    kept: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return result, kept


_DETECTORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bot_command", re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")),
    ("url", re.compile(r"(?<![\w@])(?:https?://)[^\s<>\"]+[^\s<>\".,;:!?)\]]")),
    ("email", re.compile(r"(?<![\w.])[\w.+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]*[A-Za-z]")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#[^\W\d][\w]*")),
)


def detect_entities(text: str) -> list[Entity]:
    """Entities Telegram finds in plain text that a user sends (commands, links, mentions, ...)."""
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DETECTORS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append(
                {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(match.group(0))}
            )
    return sort_entities(found)


def entities_to_html(text: str, entities: list[Entity]) -> str:
    """HTML for text with entities (used to show messages as HTML, e.g. in logs)."""
    encoded = text.encode("utf-16-le")
    starts: dict[int, list[Entity]] = {}
    ends: dict[int, list[Entity]] = {}
    for entity in sort_entities(entities):
        starts.setdefault(entity["offset"], []).append(entity)
        ends.setdefault(entity["offset"] + entity["length"], []).insert(0, entity)
    parts: list[str] = []
    units = len(encoded) // 2
    for unit in range(units + 1):
        for entity in ends.get(unit, []):
            parts.append(_close_tag(entity))
        for entity in starts.get(unit, []):
            parts.append(_open_tag(entity))
        if unit < units:
            # surrogate pairs: emit the pair once, at its first unit
            code = int.from_bytes(encoded[2 * unit : 2 * unit + 2], "little")
            if 0xDC00 <= code <= 0xDFFF:
                continue
            width = 2 if 0xD800 <= code <= 0xDBFF else 1
            parts.append(html.escape(encoded[2 * unit : 2 * (unit + width)].decode("utf-16-le"), quote=False))
    return "".join(parts)


_SIMPLE_TAGS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "spoiler": "tg-spoiler",
    "code": "code",
    "blockquote": "blockquote",
}


def _open_tag(entity: Entity) -> str:
    kind = entity["type"]
    if kind in _SIMPLE_TAGS:
        return f"<{_SIMPLE_TAGS[kind]}>"
    if kind == "expandable_blockquote":
        return "<blockquote expandable>"
    if kind == "pre":
        language = entity.get("language")
        return f'<pre><code class="language-{html.escape(language)}">' if language else "<pre>"
    if kind == "text_link":
        return f'<a href="{html.escape(entity["url"])}">'
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{html.escape(entity["custom_emoji_id"])}">'
    return ""


def _close_tag(entity: Entity) -> str:
    kind = entity["type"]
    if kind in _SIMPLE_TAGS:
        return f"</{_SIMPLE_TAGS[kind]}>"
    if kind == "expandable_blockquote":
        return "</blockquote>"
    if kind == "pre":
        return "</code></pre>" if entity.get("language") else "</pre>"
    if kind == "text_link":
        return "</a>"
    if kind == "custom_emoji":
        return "</tg-emoji>"
    return ""
