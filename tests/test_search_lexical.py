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


def test_expansion_takes_the_best_passages_shared_words_not_the_books_everyday_ones():
    from services.search.lexical import expansion_terms, stems

    feedback = [
        "The goblin hid the golden spindle under the mill wheel, and the miller said nothing.",
        "At dawn the miller found the spindle by the wheel, and the king said it was his.",
        "The king rode out, and the miller's daughter said she would spin.",
    ]
    pool = [
        *feedback,
        "The king said the queen was wise.",
        "The king said nothing to the queen at all.",
        "The king said he was tired and the queen said so too.",
    ]
    terms = expansion_terms("Who hid the spindle?", feedback, [1.0, 0.8, 0.5], pool, count=3)
    assert stems("spindle")[0] not in terms  # the question's own word is in the query already
    assert stems("goblin")[0] not in terms  # in one passage only
    assert next(iter(terms)) == stems("miller")[0] and terms[stems("miller")[0]] == 1.0
    assert stems("king")[0] not in terms or terms[stems("king")[0]] < terms[stems("wheel")[0]]
    assert all(0 < weight <= 1 for weight in terms.values())


def test_expanded_query_keeps_the_question_words_weights():
    from services.search.lexical import expanded_query_vector, query_vector, term_id

    base = query_vector("Who hid the spindle?")
    vector = expanded_query_vector("Who hid the spindle?", {"miller": 1.0, "wheel": 0.5, "spindl": 1.0}, 0.4)
    weights = dict(zip(vector.indices, vector.values, strict=True))
    assert all(weights[i] == w for i, w in zip(base.indices, base.values, strict=True))
    assert weights[term_id("miller")] == 0.4 and weights[term_id("wheel")] == 0.2
    assert expanded_query_vector("Who hid the spindle?", {}, 0.4) == base
