"""`librarity bench answers`: its folds are fixed (the held-out one never moves) and the CLI knows it."""

from __future__ import annotations

import argparse

from bot.bench.answers import HELD_OUT, Tally, folds, markdown_table
from bot.cli import bench

ANTHOLOGIES = [
    "wonderclock-fairybook", "andersen-fairybook", "beatrix-potter-fairybook", "blue-fairybook",
    "chinese-fairybook", "first-round", "green-fairybook", "grimm-fairybook", "irish-fairybook",
    "japanese-fairybook", "lilac-fairybook", "norwegian-fairybook", "swedish-fairybook",
]  # fmt: skip


def test_the_anthologies_are_dealt_into_fixed_folds_whatever_their_order() -> None:
    fold_of = folds(ANTHOLOGIES)
    assert fold_of == folds(list(reversed(ANTHOLOGIES)))
    held_out = sorted(name for name, fold in fold_of.items() if fold == HELD_OUT)
    assert held_out == ["blue-fairybook", "green-fairybook", "japanese-fairybook", "swedish-fairybook"]
    assert sorted(set(fold_of.values())) == [1, 2, 3]


def test_the_cli_offers_the_answers_benchmark() -> None:
    parser = argparse.ArgumentParser()
    bench.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "answers", "--limit", "5", "--folds", "1,2"])
    assert args.benchmark == "answers" and args.limit == 5 and args.folds == "1,2"


def test_the_table_shows_how_often_the_answer_is_in_the_book_at_all() -> None:
    tally = Tally(questions=4, answered=2, top_passage=1, in_context=3, in_book=3, reply_chars=[500, 590])
    table = markdown_table({"rows": [{"run": "fairytale fold 3 (held out)", **tally.as_dict()}]})
    assert table.splitlines()[0].endswith("| answer in context | in book |")
    assert table.splitlines()[-1] == "| fairytale fold 3 (held out) | 4 | 0.50 | 0.25 | 0.75 | 0.75 |"
