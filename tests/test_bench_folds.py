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
