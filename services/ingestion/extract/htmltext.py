"""(X)HTML to paragraphs and headings, for the EPUB and HTML readers.

Block elements end paragraphs, inline elements join, whitespace collapses (except in <pre>), <br>
keeps a line break; scripts, styles, SVG, MathML and EPUB page-break markers are dropped. The walk is
iterative, so deeply nested markup cannot exhaust the Python stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from services.ingestion.extract.xmlsafe import entity_text, local, plain_text

_BLOCK = frozenset(
    "p div section article aside header footer nav main blockquote li ul ol dl dt dd pre table tr "
    "thead tbody tfoot caption figure figcaption hr address center form fieldset details summary body "
    "html title legend".split()
)
_SKIP = frozenset(
    "script style head noscript template svg math object embed iframe button select input textarea "
    "rt rp audio video canvas map".split()
)
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_CELLS = frozenset(("td", "th"))
_EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
_SPACE_RE = re.compile(r"[ \t\r\n\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BREAK = "\x00"


@dataclass(frozen=True, slots=True)
class Block:
    kind: Literal["p", "h", "anchor"]
    text: str
    level: int = 0


def html_blocks(root: etree._Element, anchors: frozenset[str] = frozenset()) -> list[Block]:
    """Paragraphs and headings of a document in order; an 'anchor' block marks each id in `anchors`."""
    body = next((node for node in root.iter() if local(node.tag) == "body"), root)
    walker = _Walker(anchors)
    walker.walk(body)
    walker.flush()
    return walker.blocks


class _Walker:
    def __init__(self, anchors: frozenset[str]) -> None:
        self.blocks: list[Block] = []
        self._buffer: list[str] = []
        self._anchors = anchors

    def flush(self) -> None:
        if not self._buffer:
            return
        text = _SPACE_RE.sub(" ", "".join(self._buffer))
        self._buffer = []
        lines = [line.strip() for line in text.split(_BREAK)]
        text = "\n".join(line for line in lines if line)
        if text:
            self.blocks.append(Block("p", text))

    def walk(self, top: etree._Element) -> None:
        # (node, entering) pairs; on exit only the closing work and the tail remain.
        stack: list[tuple[etree._Element, bool]] = [(top, True)]
        while stack:
            node, entering = stack.pop()
            if not entering:
                self._leave(node)
                if node is not top and node.tail:
                    self._buffer.append(node.tail)
                continue
            if isinstance(node, etree._Entity):
                self._buffer.append(entity_text(node))
                if node.tail:
                    self._buffer.append(node.tail)
                continue
            tag = local(node.tag)
            if not tag or tag in _SKIP or _is_pagebreak(node):
                if node is not top and node.tail:
                    self._buffer.append(node.tail)
                continue
            if self._anchors:
                self._mark_anchor(node)
            if tag in _HEADINGS:
                self._heading(node, _HEADINGS[tag])
                if node is not top and node.tail:
                    self._buffer.append(node.tail)
                continue
            if tag == "pre":
                self.flush()
                text = "".join(node.itertext()).strip("\n")
                if text.strip():
                    self.blocks.append(Block("p", text))
                if node.tail:
                    self._buffer.append(node.tail)
                continue
            if tag == "br":
                self._buffer.append(_BREAK)
            elif tag in _BLOCK:
                self.flush()
            if node.text:
                self._buffer.append(node.text)
            stack.append((node, False))
            stack.extend((child, True) for child in reversed(node))

    def _leave(self, node: etree._Element) -> None:
        tag = local(node.tag)
        if tag in _BLOCK:
            self.flush()
        elif tag in _CELLS:
            self._buffer.append(" ")

    def _mark_anchor(self, node: etree._Element) -> None:
        node_id = node.get("id") or (node.get("name") if local(node.tag) == "a" else None)
        if node_id and node_id in self._anchors:
            self.flush()
            self.blocks.append(Block("anchor", node_id))

    def _heading(self, node: etree._Element, level: int) -> None:
        self.flush()
        if self._anchors:
            for inner in node.iter():
                if inner is not node and isinstance(inner.tag, str):
                    self._mark_anchor(inner)
        text = plain_text(node)
        if text:
            self.blocks.append(Block("h", text, level))


def _is_pagebreak(node: etree._Element) -> bool:
    kind = node.get(_EPUB_TYPE) or node.get("epub:type") or node.get("role") or ""
    return "pagebreak" in kind
