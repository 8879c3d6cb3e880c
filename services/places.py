"""Where a passage is in a book, in words: a play's act and scene, and chapter names in the reader's
language. Small enough to import anywhere: extraction names a play's chapters with it, the chat and
notifications show them."""

from __future__ import annotations

import re
from collections.abc import Callable

_PLAY_PLACE_RE = re.compile(r"^(?:Act (?P<act>[IVXLCDM]+))?(?:, )?(?:Scene (?P<scene>\d+))?$")


def roman(number: int) -> str:
    """4 -> 'IV' (1..3999; other numbers as digits)."""
    if not 0 < number < 4000:
        return str(number)
    digits = []
    for value, numeral in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):  # fmt: skip
        count, number = divmod(number, value)
        digits.append(numeral * count)
    return "".join(digits)


def play_label(act: int | None, scene: int | None) -> str | None:
    """How a play's place is stored as its chapter: 'Act I, Scene 2', 'Act III', 'Scene 4'.

    The words are fixed English so that one form is stored for every book; the bot shows them in the
    reader's language (`play_place` reads them back).
    """
    parts = []
    if act is not None:
        parts.append(f"Act {roman(act)}")
    if scene is not None:
        parts.append(f"Scene {scene}")
    return ", ".join(parts) or None


def play_place(chapter: str | None) -> tuple[str | None, int | None] | None:
    """'Act I, Scene 2' -> ('I', 2); 'Act III' -> ('III', None); None for any other chapter name."""
    if not chapter:
        return None
    match = _PLAY_PLACE_RE.match(chapter)
    if not match or not (match.group("act") or match.group("scene")):
        return None
    if match.group("act") and match.group("scene") and ", " not in chapter:
        return None
    scene = match.group("scene")
    return match.group("act"), int(scene) if scene else None


def chapter_name(chapter: str, translate: Callable[..., str]) -> str:
    """A chapter's name in the reader's language: a play's 'Act I, Scene 2' through the Fluent messages
    chapter-act-scene, chapter-act and chapter-scene (`translate(key, **values)`); others unchanged."""
    place = play_place(chapter)
    if place is None:
        return chapter
    act, scene = place
    if act and scene is not None:
        return translate("chapter-act-scene", act=act, scene=scene)
    return translate("chapter-act", act=act) if act else translate("chapter-scene", scene=scene or 0)
