import pytest

from bot.bench.retrieval import fold_split


def test_folds_are_deterministic_and_cover_every_anthology_once():
    names = [f"fairytale/{n}" for n in "mkbadcfehgjil"]
    folds = fold_split(names, 3)
    assert folds == fold_split(list(reversed(names)), 3)
    flat = [n for fold in folds for n in fold]
    assert sorted(flat) == sorted(names) and len(flat) == len(set(flat))
    assert folds[0][0] == "fairytale/a"


def test_too_many_folds_is_refused():
    with pytest.raises(ValueError):
        fold_split(["a", "b"], 3)


def test_fold_rows_sum_each_folds_questions():
    from bot.bench.retrieval import Score, _fold_rows

    per = {}
    for i, name in enumerate(["fairytale/a", "fairytale/b", "fairytale/c", "fairytale/d"]):
        score = Score()
        score.n, score.r5, score.mrr = 2, i % 2 * 2, 1.0
        per[name] = {"hybrid": score}
    rows = _fold_rows(per, 2)
    assert [r["anthologies"] for r in rows] == [
        ["fairytale/a", "fairytale/c"],
        ["fairytale/b", "fairytale/d"],
    ]
    assert rows[0]["hybrid"]["recall@5"] == 0.0 and rows[1]["hybrid"]["recall@5"] == 1.0
    assert rows[0]["hybrid"]["n"] == 4


def _score(n, r5, mrr):
    from bot.bench.retrieval import Score

    score = Score()
    score.n, score.r5, score.mrr = n, r5, mrr
    return score


def test_cross_validation_chooses_each_fold_on_the_others_only():
    from bot.bench.retrieval import cross_validate

    # "x" is best on a and b, "y" on c and d (by far); folds of 2: {a, c} and {b, d}.
    grid = {
        "x": {"fairytale/a": _score(10, 10, 10), "fairytale/b": _score(10, 10, 10),
              "fairytale/c": _score(10, 0, 0), "fairytale/d": _score(10, 0, 0)},
        "y": {"fairytale/a": _score(10, 5, 5), "fairytale/b": _score(10, 5, 5),
              "fairytale/c": _score(10, 10, 10), "fairytale/d": _score(10, 10, 10)},
    }  # fmt: skip
    result = cross_validate(grid, 2)
    rows = result["folds"]
    assert [r["anthologies"] for r in rows] == [
        ["fairytale/a", "fairytale/c"],
        ["fairytale/b", "fairytale/d"],
    ]
    # Each fold's choice is made on the other fold: {b, d} x: 20+0, y: 10+20 -> y; measured on {a, c}.
    assert [r["chosen"] for r in rows] == ["y", "y"]
    assert rows[0]["hybrid"]["recall@5"] == 0.75 and rows[0]["hybrid"]["n"] == 20
    assert result["mean"] == {"recall@5": 0.75, "mrr@10": 0.75}
    assert result["chosen"] == "y" and result["chosen_index"] == 1


def test_cross_validation_choice_does_not_see_the_measured_fold():
    from bot.bench.retrieval import cross_validate

    # "x" is perfect on a alone; on the other anthologies "y" wins: fold {a, c} must not pick x.
    grid = {
        "x": {"fairytale/a": _score(100, 100, 100), "fairytale/b": _score(10, 0, 0),
              "fairytale/c": _score(10, 0, 0), "fairytale/d": _score(10, 0, 0)},
        "y": {"fairytale/a": _score(100, 0, 0), "fairytale/b": _score(10, 1, 1),
              "fairytale/c": _score(10, 1, 1), "fairytale/d": _score(10, 1, 1)},
    }  # fmt: skip
    result = cross_validate(grid, 2)
    assert result["folds"][0]["chosen"] == "y"
    assert result["folds"][0]["hybrid"]["recall@5"] == round(1 / 110, 4)
    assert result["folds"][1]["chosen"] == "x"  # chosen on {a, c}, where x's 100 on a outweighs


def test_the_untouched_anthology_is_left_out_unless_asked_for_and_then_comes_last():
    from bot.bench.retrieval import HELD_OUT, anthologies_to_run

    names = ["zzz-fairybook", HELD_OUT, "aaa-fairybook"]
    assert anthologies_to_run(names, False, None) == ["aaa-fairybook", "zzz-fairybook"]
    assert anthologies_to_run(names, True, None) == ["aaa-fairybook", "zzz-fairybook", HELD_OUT]
    assert anthologies_to_run(names, False, [HELD_OUT]) == ["aaa-fairybook", "zzz-fairybook", HELD_OUT]


def test_the_default_setting_stays_unless_another_beats_it_by_the_margin():
    from bot.bench.retrieval import cross_validate

    names = ["fairytale/a", "fairytale/b", "fairytale/c", "fairytale/d"]
    grid = {
        "default": {n: _score(1000, 900, 800) for n in names},
        "slightly": {n: _score(1000, 902, 801) for n in names},  # +0.003: noise
    }
    assert cross_validate(grid, 2, "default")["chosen"] == "default"
    assert cross_validate(grid, 2)["chosen"] == "slightly"
    grid["clearly"] = {n: _score(1000, 910, 805) for n in names}  # +0.015
    result = cross_validate(grid, 2, "default")
    assert result["chosen"] == "clearly" and [r["chosen"] for r in result["folds"]] == ["clearly"] * 2
