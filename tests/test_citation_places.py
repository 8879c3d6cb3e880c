"""Every citation shows where the passage is: its chapter (a play's act and scene, in the reader's
language) and how far through the book it is, also in books without pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n import I18n, Translator
from handlers.chat_ui import answer_html, chapter_name, passages_html, place_text, search_html
from services.chat import AnswerResult, Citation
from services.ingestion.extract import extract
from services.search.chunking import chunk_book
from tests.ingestion_helpers import make_index

SPEECH = (
    "The quality of mercy is not strained; it droppeth as the gentle rain from heaven upon the place "
    "beneath, and it is twice blessed, for it blesseth him that gives and him that takes.\n\n"
)
OTHER = "The merchant walked along the quay and counted the ships that came in from the sea that morning.\n\n"
PLAY = (
    "[The Merchant by Somebody 1600]\n\n"
    f"ACT I\n\nSCENE I. Venice. A street.\n\n{OTHER * 40}"
    f"SCENE II. Belmont. A room in the house.\n\n{OTHER * 40}"
    f"ACT II. SCENE I. A court of justice.\n\n{OTHER * 20}{SPEECH}{OTHER * 20}"
)


@pytest.fixture(scope="module")
def i18n_en() -> Translator:
    return I18n().translator("en")


@pytest.fixture(scope="module")
def i18n_ru() -> Translator:
    return I18n().translator("ru")


def _citation(chapter: str | None, percent: float | None, page: int | None = None) -> Citation:
    return Citation(1, 3, page, chapter, "Some words of the book.", 1.0, percent)


def test_a_place_shows_chapter_and_percent(i18n_en: Translator, i18n_ru: Translator) -> None:
    assert place_text(i18n_en, _citation("CHAPTER XI. Who Stole the Tarts?", 87.6)) == (
        "CHAPTER XI. Who Stole the Tarts?, 87%"
    )
    assert place_text(i18n_en, _citation(None, 3.2)) == "3%"
    assert place_text(i18n_en, _citation("Intro", 0.0, page=12)) == "Intro, p. 12, 0%"
    assert (
        place_text(i18n_en, _citation("Act I, Scene 2", 42.0), title="Hamlet")
        == "Hamlet, Act I, Scene 2, 42%"
    )
    assert place_text(i18n_ru, _citation("Act I, Scene 2", 42.0)) == "Действие I, сцена 2, 42%"
    assert place_text(i18n_ru, _citation("Act III", 60.0, page=7)) == "Действие III, с. 7, 60%"
    # citations kept from before positions were stored still read as before
    assert place_text(i18n_en, _citation("CHAPTER I", None)) == "CHAPTER I"


def test_chapter_names_in_the_readers_language(i18n_en: Translator, i18n_ru: Translator) -> None:
    assert chapter_name(i18n_en, "Act II, Scene 1") == "Act II, Scene 1"
    assert chapter_name(i18n_ru, "Act II, Scene 1") == "Действие II, сцена 1"
    assert chapter_name(i18n_ru, "Act V") == "Действие V"
    assert chapter_name(i18n_ru, "Scene 4") == "Сцена 4"
    assert chapter_name(i18n_ru, "Глава первая") == "Глава первая"


def test_citation_keeps_its_percent_through_storage() -> None:
    citation = _citation("Act I, Scene 1", 12.5)
    assert Citation.from_dict(citation.as_dict()) == citation
    stored_before = {k: v for k, v in citation.as_dict().items() if k != "percent"}
    assert Citation.from_dict(stored_before).percent is None


async def test_a_plays_passage_is_cited_with_act_scene_and_percent(
    tmp_path: Path, i18n_en: Translator, i18n_ru: Translator
) -> None:
    """A TXT play read, chunked, indexed and searched: the passage found names its act, scene and position."""
    book = extract(PLAY.encode(), "merchant.txt")
    chunks = chunk_book(book)
    index = make_index(tmp_path / "index")
    try:
        await index.index_chunks(7, 70, "en", chunks, dense=False)
        hits = await index.search(7, "quality of mercy droppeth gentle rain", k=3, mode="lexical")
    finally:
        await index.close()
    assert hits and "quality of mercy" in hits[0].text
    citation = Citation.from_hit(hits[0])
    assert citation.chapter == "Act II, Scene 1"
    assert citation.percent is not None and 60 < citation.percent < 100
    percent = f"{int(citation.percent)}%"
    result = AnswerResult(
        text="Mercy droppeth as the gentle rain [1].",
        citations=[citation],
        passages=[citation],
        provider="llm",
        cached=False,
    )
    shown = answer_html(i18n_en, result, {70: "The Merchant"})
    assert f"[1] The Merchant, Act II, Scene 1, {percent}" in shown
    assert f"Действие II, сцена 1, {percent}" in passages_html(i18n_ru, [citation])
    assert f"Act II, Scene 1, {percent}" in search_html(i18n_en, "mercy", [citation], {70: "The Merchant"})
