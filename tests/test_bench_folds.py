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
    assert [r["anthologies"] for r in rows] == [["fairytale/a", "fairytale/c"], ["fairytale/b", "fairytale/d"]]
    assert rows[0]["hybrid"]["recall@5"] == 0.0 and rows[1]["hybrid"]["recall@5"] == 1.0
    assert rows[0]["hybrid"]["n"] == 4
