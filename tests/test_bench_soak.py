"""librarity bench load --questions: the soak asks different questions and fits the RSS's slope."""

from __future__ import annotations

from bot.bench.load import slope_per_100, soak_questions


def test_soak_questions_are_all_different() -> None:
    questions = soak_questions(500)
    assert len(questions) == 500
    assert len(set(questions)) == 500


def test_slope_per_100_questions() -> None:
    mib = 2**20
    assert slope_per_100([(100, 500 * mib), (200, 510 * mib), (300, 520 * mib)]) == 10.0
    assert slope_per_100([(100, 500 * mib), (200, 500 * mib)]) == 0.0
    assert slope_per_100([(100, 500 * mib)]) is None
