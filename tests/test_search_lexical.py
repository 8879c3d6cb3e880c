"""Lexical vectors: stems per script, stop words, stable hashing, BM25 saturation."""

from __future__ import annotations

import zlib

from services.search import lexical


def test_english_stems() -> None:
    assert lexical.stems("running") == lexical.stems("runs") == ["run"]
    assert lexical.stems("The king's castles") == ["king", "castl"]


def test_russian_stems_and_yo() -> None:
    assert lexical.stems("книги") == lexical.stems("книгой") == lexical.stems("книга")
    assert lexical.stems("ёлка") == lexical.stems("елка")


def test_each_word_stemmed_by_its_script_whatever_the_text_language() -> None:
    mixed = lexical.stems("Князь Андрей read the books книгами")
    assert mixed == [*lexical.stems("Князь Андрей"), "read", "book", *lexical.stems("книги")]


def test_stop_words_are_dropped() -> None:
    assert lexical.tokenize("What did the king do with it?") == ["king"]
    assert lexical.tokenize("И что он сделал с ней?") == ["сделал"]


def test_language_detection() -> None:
    assert lexical.detect_language("Война и мир, a novel") == "ru"
    assert lexical.detect_language("War and Peace, роман") == "en"
    assert lexical.detect_language("12345", default="ru") == "ru"


def test_term_ids_are_stable_crc32() -> None:
    assert lexical.term_id("king") == zlib.crc32(b"king") & 0x7FFFFFFF
    assert 0 <= lexical.term_id("книг") < 2**31


def test_document_vector_saturates_term_frequency() -> None:
    once = lexical.document_vector("dragon castle")
    many = lexical.document_vector("dragon dragon dragon dragon castle")
    dragon = lexical.term_id("dragon")
    value_once = once.values[once.indices.index(dragon)]
    value_many = many.values[many.indices.index(dragon)]
    assert value_once < value_many < value_once * 4
    assert many.indices == sorted(many.indices)


def test_query_vector_counts_each_stem_once_and_adds_transliterations() -> None:
    vector = lexical.query_vector("runs running run?")
    weights = dict(zip(vector.indices, vector.values, strict=True))
    assert weights.pop(lexical.term_id("run")) == 1.0  # once, whatever the word form
    assert set(weights.values()) == {lexical.TRANSLITERATION_WEIGHT}  # the Cyrillic spellings
    assert lexical.query_vector("the of and").indices == []
    # A Russian name matches the English book's word, and back.
    assert lexical.term_id("denver") in lexical.query_vector("Денвер").indices
    assert lexical.term_id(lexical.stems("Денвер")[0]) in lexical.query_vector("Denver").indices


def test_proximity_prefers_the_words_together_in_one_window() -> None:
    together = "The miller mended the wheel. " + "Birds sang in the trees all morning long. " * 6
    apart = "The miller slept. " + "Birds sang in the trees all morning long. " * 6 + "A wheel rolled by."
    scores = lexical.proximity_scores("Who mended the miller's wheel?", [together, apart], window_chars=60)
    assert scores[0] > scores[1] and 0.0 <= scores[1] <= scores[0] <= 1.0
    assert lexical.proximity_scores("the of", [together]) == [0.0]
