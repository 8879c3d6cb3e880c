"""The clock every scheduled job reads: the real one in production, the sandbox's movable one, and a fake
one that tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """The real time moved by an offset that may change while the bot runs: the sandbox's clock, which its
    control API moves (to a Sunday, past a trial's end) so that scheduled jobs can be seen at any moment."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set(self, moment: datetime) -> None:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        self.offset = moment - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


class FakeClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime) -> None:
        self._now = start if start.tzinfo else start.replace(tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta
