"""Time zones typed in /settings: any IANA name in any case, or a city in it; nothing else."""

from __future__ import annotations

import pytest

from services.notifications.preferences import COMMON_TIMEZONES, DEFAULT_TIMEZONES, find_timezone


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Asia/Tokyo", "Asia/Tokyo"),
        ("  europe/paris ", "Europe/Paris"),
        ("UTC", "UTC"),
        ("Tokyo", "Asia/Tokyo"),
        ("new york", "America/New_York"),
        ("Sao Paulo", "America/Sao_Paulo"),
        # Old aliases of one zone: the fullest name.
        ("buenos aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_names_and_cities_are_found(typed: str, zone: str) -> None:
    assert find_timezone(typed) == zone


@pytest.mark.parametrize("typed", ["", "   ", "Mars/Olympus", "Москва", "UTC+3", "West"])
def test_anything_else_is_not_a_zone(typed: str) -> None:
    # "West" names Australia/West and Brazil/West, which keep different times.
    assert find_timezone(typed) is None


def test_every_language_suggests_a_zone_offered_as_a_button() -> None:
    assert set(DEFAULT_TIMEZONES.values()) <= set(COMMON_TIMEZONES)
