"""Chunking: whole sentences, whole paragraphs where they fit, places, English and Russian."""

from __future__ import annotations

import itertools

from services.search.chunking import ChunkingOptions, TextSection, chunk_book, chunk_sections, chunk_text
from services.search.sentences import paragraph_spans, sentence_spans, split_long


def sentences(text: str) -> list[str]:
    return [text[s:e] for ps, pe in paragraph_spans(text) for s, e in sentence_spans(text, ps, pe)]


def test_english_sentences_know_abbreviations_initials_and_quotes() -> None:
    text = (
        'Mr. Smith went to St. Petersburg. He met J. R. R. Tolkien there! "Is it you?" he asked. '
        "It was 5 p.m. and raining... Then e.g. this. The end."
    )
    assert sentences(text) == [
        "Mr. Smith went to St. Petersburg.",
        "He met J. R. R. Tolkien there!",
        '"Is it you?" he asked.',
        "It was 5 p.m. and raining...",
        "Then e.g. this.",
        "The end.",
    ]


def test_russian_sentences_dialogue_and_abbreviations() -> None:
    text = (
        "— Иди сюда, — сказал он. — Я приду. «Ты кто?» — спросила она. "
        "А. С. Пушкин жил в г. Москве, т. е. в столице. Ну и т.д. Прощай!"
    )
    assert sentences(text) == [
        "— Иди сюда, — сказал он.",
        "— Я приду.",
        "«Ты кто?» — спросила она.",
        "А. С. Пушкин жил в г. Москве, т. е. в столице.",
        "Ну и т.д. Прощай!",
    ]


def test_chunks_are_exact_slices_made_of_whole_sentences() -> None:
    paragraphs = [
        " ".join(f"Sentence {p}-{i} talks about the garden and the old king." for i in range(9))
        for p in range(12)
    ]
    text = "\n\n".join(paragraphs)
    chunks = chunk_text(text, options=ChunkingOptions(target_chars=400))
    assert len(chunks) > 5
    spans = [(c.char_start, c.char_end) for c in chunks]
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.text
        assert len(chunk.text) <= 400
    # Every sentence lies inside exactly one chunk: none is cut.
    for ps, pe in paragraph_spans(text):
        for s, e in sentence_spans(text, ps, pe):
            assert sum(1 for a, b in spans if a <= s and e <= b) == 1
    assert [c.seq for c in chunks] == list(range(len(chunks)))


def test_paragraphs_stay_together_when_they_fit() -> None:
    paragraphs = [f"Paragraph {n} begins. It has a middle. It ends here." for n in range(10)]
    text = "\n\n".join(paragraphs)
    chunks = chunk_text(text, options=ChunkingOptions(target_chars=130, min_chars=10))
    for chunk in chunks:
        # A chunk starts and ends on a paragraph boundary (each paragraph is ~52 characters).
        assert chunk.text.startswith("Paragraph") and chunk.text.endswith("ends here.")


def test_places_chapters_pages_and_percent() -> None:
    sections = [
        TextSection("Chapter One\n\n" + "The fox ran. " * 40, page=1, chapter="Chapter One"),
        TextSection("The fox slept. " * 40, page=2, chapter="Chapter One"),
        TextSection("Chapter Two\n\n" + "The hare woke. " * 40, page=3, chapter="Chapter Two"),
    ]
    chunks = chunk_sections(sections, ChunkingOptions(target_chars=300))
    full = "\n\n".join(s.text for s in sections)
    assert chunks[0].chapter == "Chapter One" and chunks[0].page == 1 and chunks[0].percent == 0.0
    assert chunks[-1].chapter == "Chapter Two" and chunks[-1].page == 3
    assert [c.percent for c in chunks] == sorted(c.percent for c in chunks) and chunks[-1].percent < 100
    second = full.index("Chapter Two")
    for chunk in chunks:
        assert not (chunk.char_start < second < chunk.char_end), "a chunk spans two chapters"
        assert full[chunk.char_start : chunk.char_end] == chunk.text
        assert ("hare" in chunk.text) == (chunk.chapter == "Chapter Two")
    assert {c.page for c in chunks if "slept" in c.text and "ran" not in c.text} == {2}


def test_russian_book_chunks() -> None:
    text = "\n\n".join(
        "— Здравствуй, Наташа, — сказал князь Андрей. Она улыбнулась и ответила: «Здравствуйте!» " * 4
        for _ in range(6)
    )
    chunks = chunk_text(text, chapter="Глава 1", options=ChunkingOptions(target_chars=500))
    assert len(chunks) >= 3 and all(c.chapter == "Глава 1" for c in chunks)
    for chunk in chunks:
        assert chunk.text.startswith("— Здравствуй") and chunk.text.endswith("«Здравствуйте!»")


def test_long_sentence_without_stops_is_cut_at_clause_marks() -> None:
    text = ", ".join(["and the river went on"] * 200) + "."
    pieces = split_long(text, 0, len(text), 300)
    assert all(e - s <= 300 for s, e in pieces) and len(pieces) > 5
    assert "".join(text[s:e] for s, e in pieces).replace(" ", "") == text.replace(" ", "")
    chunks = chunk_text(text, options=ChunkingOptions(target_chars=250, max_chars=300))
    assert all(len(c.text) <= 300 for c in chunks)


def test_overlap_repeats_the_last_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = chunk_text(text, options=ChunkingOptions(target_chars=200, overlap_sentences=1))
    for before, after in itertools.pairwise(chunks):
        assert after.char_start < before.char_end  # the last sentence of one starts the next


def test_chunk_book_takes_an_extracted_book() -> None:
    from services.ingestion.detect import BookFormat
    from services.ingestion.extract.model import ExtractedBook, Section

    book = ExtractedBook(
        title="T",
        author=None,
        language="en",
        format=BookFormat.TXT,
        pages=None,
        sections=[Section("One. Two.", chapter="A", level=1), Section("Three.", chapter="B", level=1)],
    )
    chunks = chunk_book(book, ChunkingOptions(min_chars=0))
    assert [(c.text, c.chapter) for c in chunks] == [("One. Two.", "A"), ("Three.", "B")]
    assert book.text[chunks[1].char_start : chunks[1].char_end] == "Three."
    # A scrap shorter than min_chars (a part title) joins the next chapter's first chunk.
    merged = chunk_book(book)
    assert [c.text for c in merged] == ["One. Two.\n\nThree."]


def test_empty_and_blank_sections() -> None:
    assert chunk_text("") == []
    assert chunk_sections([TextSection("   \n\n  "), TextSection("Only this.")])[0].text == "Only this."


def test_windows_group_whole_sentences_within_paragraphs() -> None:
    from services.search.sentences import window_spans

    text = (
        "One short. Two short. Three is a little longer than that.\n\nNew paragraph here. "
        + "Long " * 80
        + "end."
    )
    windows = [text[a:b] for a, b in window_spans(text, 40)]
    assert windows[0] == "One short. Two short."
    assert windows[1] == "Three is a little longer than that."
    assert windows[2] == "New paragraph here."
    assert windows[3].startswith("Long") and windows[3].endswith("end.")  # longer than 40: alone, whole
