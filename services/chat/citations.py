"""Citation markers in an answer: `[2]`, `[1, 3]`, `[2-4]`, `[1][2]` mapped to the passages they name.

Markers are renumbered by first appearance, so the list under an answer reads [1], [2], [3] whatever
numbers the passages had in the prompt; numbers that name no passage are removed.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*(?:[,;]|[-–])\s*\d{1,3})*)\]")
_RANGE = re.compile(r"(\d{1,3})\s*[-–]\s*(\d{1,3})")


def _numbers(inside: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*[,;]\s*", inside):
        if match := _RANGE.fullmatch(part.strip()):
            low, high = int(match.group(1)), int(match.group(2))
            if 0 < high - low < 20:
                numbers.extend(range(low, high + 1))
                continue
            numbers.extend((low, high))
        elif part.strip().isdigit():
            numbers.append(int(part))
    return numbers


def renumber(text: str, passage_count: int) -> tuple[str, list[int]]:
    """The text with markers renumbered, and the cited passages' 0-based indexes in the new order."""
    order: list[int] = []

    def replace(match: re.Match[str]) -> str:
        new: list[int] = []
        for number in _numbers(match.group(1)):
            if not 1 <= number <= passage_count:
                continue
            index = number - 1
            if index not in order:
                order.append(index)
            position = order.index(index) + 1
            if position not in new:
                new.append(position)
        return "".join(f"[{n}]" for n in new)

    rewritten = _MARKER.sub(replace, text)
    # A marker removed whole may leave "word ." behind.
    rewritten = re.sub(r"[ \t]+([.,;:!?])", r"\1", rewritten) if rewritten != text else rewritten
    return rewritten, order


def cited_numbers(text: str) -> list[int]:
    """Every number cited in the text, in order of appearance, without repeats."""
    seen: list[int] = []
    for match in _MARKER.finditer(text):
        for number in _numbers(match.group(1)):
            if number not in seen:
                seen.append(number)
    return seen
