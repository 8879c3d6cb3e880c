"""The progress message editor: paced edits, no identical edits, back-off on 429, a final state that lands."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from services.ingestion.progress import MessageGone, RetryLater, ThrottledEditor


class FakeTime:
    """A clock that sleeping advances, so pacing is checked without real waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


class Recorder:
    def __init__(self, time: FakeTime, fail_with: list[Exception] | None = None) -> None:
        self.time = time
        self.edits: list[tuple[float, str, Any]] = []
        self.fail_with = fail_with or []

    async def __call__(self, text: str, markup: Any) -> None:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.edits.append((self.time.now, text, markup))


def make(
    fail_with: list[Exception] | None = None, shown: tuple[str, Any] | None = None
) -> tuple[ThrottledEditor, Recorder, FakeTime]:
    time = FakeTime()
    recorder = Recorder(time, fail_with)
    editor = ThrottledEditor(recorder, interval=1.5, shown=shown, clock=time.clock, sleep=time.sleep)
    return editor, recorder, time


async def test_burst_of_updates_shows_only_the_latest() -> None:
    editor, recorder, _ = make(shown=("0%", None))
    for percent in range(1, 101):
        editor.update(f"{percent}%")
    assert await editor.finish("done", "card")
    assert [edit[1:] for edit in recorder.edits] == [("done", "card")], "stale values are dropped, not queued"


async def test_edits_are_paced() -> None:
    editor, recorder, _ = make(shown=("0%", None))
    for percent in range(1, 21):
        editor.update(f"{percent}%")
        await asyncio.sleep(0)
    await editor.finish("done")
    times = [moment for moment, _, _ in recorder.edits]
    assert times[0] - 1000.0 >= 1.5, "the first edit waits for the message that was just sent"
    assert all(b - a >= 1.5 for a, b in itertools.pairwise(times)), times
    assert recorder.edits[-1][1] == "done"


async def test_same_content_is_never_sent_twice() -> None:
    editor, recorder, _ = make(shown=("Reading 10%", None))
    editor.update("Reading 10%")
    await editor.flush()
    assert recorder.edits == []
    for text in ["Reading 20%", "Reading 20%", "Reading 20%"]:
        editor.update(text)
        await editor.flush()
    assert [text for _, text, _ in recorder.edits] == ["Reading 20%"]
    # Same text with a different keyboard is a real change.
    assert await editor.finish("Reading 20%", "buttons")
    assert len(recorder.edits) == 2


async def test_retry_after_is_honoured_and_the_newest_text_wins() -> None:
    editor, recorder, _ = make(fail_with=[RetryLater(5)])
    editor.update("a")
    await asyncio.sleep(0)
    editor.update("b")
    assert await editor.finish("c")
    assert [text for _, text, _ in recorder.edits] == ["c"]
    assert recorder.edits[0][0] >= 1000.0 + 5


async def test_a_deleted_message_stops_editing_and_finish_says_so() -> None:
    editor, recorder, _ = make(fail_with=[MessageGone()])
    editor.update("a")
    await editor.flush()
    assert editor.gone
    assert not await editor.finish("card")
    assert recorder.edits == []


async def test_a_failed_edit_does_not_stop_later_ones() -> None:
    editor, recorder, _ = make(fail_with=[RuntimeError("network")])
    editor.update("a")
    await editor.flush()
    assert await editor.finish("b")
    assert [text for _, text, _ in recorder.edits] == ["b"]
