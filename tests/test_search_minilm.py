"""The local MiniLM run directly in torch: the same vectors as sentence-transformers gives for the same
files, bfloat16 close to float32, and a book embedded in bounded batches through the search index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.search.chunking import ChunkingOptions, chunk_text
from services.search.embeddings import LocalEmbedder, encode_local, load_local_model, local_model_path
from services.search.sentences import window_spans
from tests.ingestion_helpers import make_index

SENTENCES = [
    "The cat sat on the mat.",
    "Old Martha kept the lighthouse on the northern cliff for forty years.",
    "Кошка сидела на коврике.",
    "A baker named Tobias made rye bread with caraway seeds, and the whole street smelled of bread.",
    "x",
    # Longer than the model's 256 tokens: cut there, as sentence-transformers cuts it.
    " ".join(f"word{i} and the river" for i in range(120)),
]

PARAGRAPH = (
    "The miller opened the sluice every morning and the heavy wheel began to turn. "
    "In spring the flood tore the wheel away, and he mended it for three weeks with his sons. "
    "Beyond the forest an old man kept bees, and in winter he sold linden honey at the fair. "
)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """sentence-transformers' float32 vectors for SENTENCES, from the same model files."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(local_model_path(), device="cpu", local_files_only=True)
    return np.asarray(model.encode(SENTENCES, normalize_embeddings=True), dtype=np.float32)


def test_float32_vectors_are_sentence_transformers_vectors(reference: np.ndarray) -> None:
    vectors = encode_local(SENTENCES, precision="float32")
    assert vectors.shape == (len(SENTENCES), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert _cosines(vectors, reference).min() > 0.9999


def test_bfloat16_vectors_stay_close_to_float32(reference: np.ndarray) -> None:
    vectors = encode_local(SENTENCES, precision="bfloat16")
    assert _cosines(vectors, reference).min() > 0.98
    # Distinct sentences stay distinct: the vectors are not all alike.
    assert float(vectors[0] @ vectors[1]) < 0.9


def test_int8_vectors_stay_close_to_float32(reference: np.ndarray) -> None:
    """EMBEDDINGS_PRECISION=int8: the matrices in int8, on this CPU's kernels (7-bit activations where
    it has no VNNI); a few sentences' vectors stay within cosine 0.98 of float32."""
    vectors = encode_local(SENTENCES, precision="int8")
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert _cosines(vectors, reference).min() > 0.98
    assert not np.allclose(vectors, reference, atol=1e-4)  # int8 indeed, not float32 again
    # Without VNNI: coarser (cosine 0.91 for the one-letter text), still the same sentence.
    seven_bits = load_local_model().encode(SENTENCES, precision="int8-7bit")
    assert _cosines(seven_bits, reference).min() > 0.85
    assert np.all(
        _cosines(seven_bits, reference) > (seven_bits @ reference.T - np.eye(len(SENTENCES))).max(1)
    )


def test_order_and_padding_do_not_change_a_vector() -> None:
    """Texts are sorted by length and padded within a batch: each vector must still be its own text's."""
    alone = np.stack([encode_local([text], precision="float32")[0] for text in SENTENCES])
    together = encode_local(SENTENCES, precision="float32", batch_size=len(SENTENCES))
    reversed_ = encode_local(SENTENCES[::-1], precision="float32", batch_size=2)[::-1]
    assert np.allclose(together, alone, atol=1e-5)
    assert np.allclose(reversed_, alone, atol=1e-5)


def test_batches_hold_at_most_batch_size_texts_and_max_tokens() -> None:
    model = load_local_model()
    texts = [f"{'river ' * (5 + i % 7)}end." for i in range(23)]
    lengths = [len(ids) for ids in model.token_ids(texts)]
    sizes: list[int] = []
    vectors = encode_local(texts, batch_size=4, max_tokens=40, on_batch=sizes.append)
    assert vectors.shape == (23, 384) and sum(sizes) == 23
    assert max(sizes) <= 4
    # Sorted by length, each batch padded to its longest text: count x longest stays within 40 tokens.
    ordered = sorted(lengths)
    start = 0
    for size in sizes:
        assert size == 1 or size * ordered[start + size - 1] <= 40
        start += size
    assert len(sizes) > 23 // 4  # the token limit split batches the count limit alone would not have


@pytest.mark.parametrize("engine", ["edge"])
async def test_a_long_book_is_embedded_in_bounded_batches(tmp_path: Path, engine: str) -> None:
    """Through the search index as ingestion calls it: a book's dense vectors go in batches of at most
    N texts, however long the book, and every window of every chunk is embedded once."""
    sizes: list[int] = []
    embedder = LocalEmbedder(batch_size=3, max_tokens=512, on_batch=sizes.append)
    index = make_index(tmp_path / "qdrant", embedder, engine=engine)
    try:
        chunks = chunk_text(PARAGRAPH * 40, options=ChunkingOptions(target_chars=400, min_chars=20))
        windows = sum(len(window_spans(chunk.text, index.tuning.window_chars) or [0]) for chunk in chunks)
        await index.index_chunks(1, 10, "en", chunks, dense=False)
        assert sizes == []  # the words alone need no model
        assert await index.add_dense(1, 10, chunks) == len(chunks)
        assert max(sizes) <= 3 and sum(sizes) == windows and len(sizes) >= windows // 3
        hits = await index.search(1, "Who sold honey at the fair?", k=1, mode="dense")
        assert hits and "honey" in hits[0].text
    finally:
        await index.close()
