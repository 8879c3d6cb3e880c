"""What each user wants to receive and when: kinds on/off, the hour, the time zone.

Stored in `users.settings["notifications"]` as `{"off": [kinds], "hour": H}` and `users.timezone`; a user
who never opened /settings gets everything at DEFAULT_HOUR in the zone their language suggests.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from db.models import User

SETTINGS_KEY = "notifications"
DEFAULT_HOUR = 9


class Kind(StrEnum):
    """Kinds of messages the bot starts; each can be turned off in /settings."""

    QUOTE = "quote"  # the daily quote
    DIGEST = "digest"  # the weekly digest
    BOOKS = "books"  # a book is ready or failed
    PAYMENTS = "payments"  # payment received or refunded
    TRIAL = "trial"  # trial started, ending, ended
    BALANCE = "balance"  # credits running low
    REMINDERS = "reminders"  # "we miss you" after a week or a month away
    NEWS = "news"  # broadcasts from the team


KINDS: tuple[Kind, ...] = tuple(Kind)

# The likely zone for each language: the default until the user picks one, and offered first in /settings.
DEFAULT_TIMEZONES = {"ru": "Europe/Moscow", "en": "UTC"}

# Offered as buttons in /settings (the likely zones among them); any other IANA name may be typed.
COMMON_TIMEZONES: tuple[str, ...] = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Kyiv",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Almaty",
    "Asia/Novosibirsk",
    "Asia/Vladivostok",
    "Asia/Dubai",
    "America/New_York",
    "America/Los_Angeles",
)


def _prefs(user: User) -> dict[str, Any]:
    value = (user.settings or {}).get(SETTINGS_KEY)
    return value if isinstance(value, dict) else {}


def is_enabled(user: User, kind: Kind | str) -> bool:
    return str(kind) not in _prefs(user).get("off", [])


def hour_of(user: User) -> int:
    hour = _prefs(user).get("hour", DEFAULT_HOUR)
    return hour if isinstance(hour, int) and 0 <= hour <= 23 else DEFAULT_HOUR


def likely_timezone(user: User) -> str:
    """The zone the user's language suggests."""
    return DEFAULT_TIMEZONES.get(user.language, "UTC")


def timezone_of(user: User) -> ZoneInfo:
    for name in (user.timezone, likely_timezone(user)):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_time(user: User, now: datetime) -> datetime:
    return now.astimezone(timezone_of(user))


def is_valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@cache
def _zone_names() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Every IANA zone by its lower-case name, and the zones by their lower-case city (last part)."""
    by_name: dict[str, str] = {}
    by_city: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        by_name[name.lower()] = name
        by_city.setdefault(name.rsplit("/", 1)[-1].lower(), []).append(name)
    return by_name, by_city


def find_timezone(text: str) -> str | None:
    """The IANA zone a user typed: its name in any case ("europe/paris"), or a city ("Tokyo", "new york",
    "buenos aires"); None when it is neither, or the city names zones that keep different times."""
    typed = "_".join(text.strip().split()).lower()
    by_name, by_city = _zone_names()
    if typed in by_name:
        return by_name[typed]
    cities = by_city.get(typed, [])
    if not cities or len({_offsets(name) for name in cities}) > 1:
        return None
    # Several names for one zone (old aliases): the fullest, e.g. America/Argentina/Buenos_Aires.
    return max(cities, key=lambda name: (len(name), name))


def _offsets(name: str) -> tuple[Any, ...]:
    zone = ZoneInfo(name)
    return tuple(datetime(2025, month, 15, tzinfo=zone).utcoffset() for month in (1, 7))


def set_enabled(user: User, kind: Kind | str, enabled: bool) -> None:
    prefs = dict(_prefs(user))
    off = [k for k in prefs.get("off", []) if k != str(kind)]
    if not enabled:
        off.append(str(kind))
    prefs["off"] = sorted(off)
    _store(user, prefs)


def set_hour(user: User, hour: int) -> None:
    if not 0 <= hour <= 23:
        raise ValueError("hour must be 0..23")
    _store(user, {**_prefs(user), "hour": hour})


def set_timezone(user: User, name: str) -> None:
    if not is_valid_timezone(name):
        raise ValueError(f"unknown time zone {name!r}")
    user.timezone = name


def _store(user: User, prefs: dict[str, Any]) -> None:
    # A new dict, so SQLAlchemy sees the JSON column change.
    user.settings = {**(user.settings or {}), SETTINGS_KEY: prefs}
