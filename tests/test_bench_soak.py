"""librarity bench load --questions: the soak asks different questions and fits the RSS's slope."""

from __future__ import annotations

import numpy as np
import pytest

from bot.bench.load import malloc_figures, slope_per_100, soak_questions
from services.search.embeddings import encode_local
from services.search.minilm import MAX_SEQ_LENGTH, padded_shape


def test_soak_questions_are_all_different() -> None:
    questions = soak_questions(500)
    assert len(questions) == 500
    assert len(set(questions)) == 500


def test_slope_per_100_questions() -> None:
    mib = 2**20
    assert slope_per_100([(100, 500 * mib), (200, 510 * mib), (300, 520 * mib)]) == 10.0
    assert slope_per_100([(100, 500 * mib), (200, 500 * mib)]) == 0.0
    assert slope_per_100([(100, 500 * mib)]) is None


def test_malloc_figures_see_a_live_allocation() -> None:
    before = malloc_figures()
    if before is None:
        pytest.skip("not glibc")
    block = bytearray(64 * 2**20)
    during = malloc_figures()
    assert during is not None
    assert during["in_use"] - before["in_use"] >= 60 * 2**20
    assert during["held"] >= during["in_use"]
    del block


def test_batches_run_in_a_few_shapes() -> None:
    shapes = {
        padded_shape(texts, tokens) for texts in range(1, 17) for tokens in range(1, MAX_SEQ_LENGTH + 1)
    }
    assert len(shapes) <= 5 * 10
    for texts in range(1, 17):
        for tokens in range(1, MAX_SEQ_LENGTH + 1):
            rows, length = padded_shape(texts, tokens)
            assert texts <= rows < 2 * texts
            assert tokens <= length <= max(tokens + 7, tokens * 1.5)


def test_padding_rows_change_no_vector() -> None:
    texts = ["Alice", "The Cheshire Cat grinned from ear to ear.", "Off with her head!", "Why?", "Curiouser"]
    together = encode_local(texts, precision="float32")  # five texts run as a batch of eight rows
    alone = np.stack([encode_local([text], precision="float32")[0] for text in texts])
    assert np.isfinite(together).all()
    assert (np.sum(together * alone, axis=1) > 0.9999).all()
