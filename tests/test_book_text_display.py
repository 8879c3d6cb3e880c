"""Book text as the chat shows it: hard line breaks reflowed (stored text and citations stay exact),
headings and verse kept apart, extractive answers without a play's speaker names and stage directions,
and the daily quote without the headings a passage starts with."""

from __future__ import annotations

import pytest

from bot.i18n import I18n, Translator
from handlers.chat_ui import passages_html, search_html
from services.chat.offline import extractive_reply
from services.chat.types import Citation
from services.notifications.content import QUOTE_MAX, quote_text
from services.search.extractive import extractive_answer
from services.search.sentences import reflow

# Project Gutenberg style: prose wrapped at about 70 characters, paragraphs apart by a blank line.
PROSE = (
    "CHAPTER I\n"
    "\n"
    "Emma Woodhouse, handsome, clever, and rich, with a comfortable home\n"
    "and happy disposition, seemed to unite some of the best blessings\n"
    "of existence; and had lived nearly twenty-one years in the world\n"
    "with very little to distress or vex her.\n"
    "\n"
    "She was the youngest of the two daughters of a most affectionate,\n"
    "indulgent father; and had, in consequence of her sister's marriage,\n"
    "been mistress of his house from a very early period."
)
# A title and a heading on lines of their own right above the text, no blank line between.
HEADED = (
    "The Lighthouse Keeper\n"
    "Chapter One: Arrival\n"
    "Marta arrived at the lighthouse as the sun went down over the grey\n"
    "sea. She had not seen her father for eleven years, and the keeper\n"
    "who opened the door to her that evening was not the man she remembered."
)
VERSE = (
    "Mine Eyes are made the fooles o'th' other Sences,\n"
    "Or else worth all the rest: I see thee still;\n"
    "And on thy Blade, and Dudgeon, Gouts of Blood,\n"
    "Which was not so before. There's no such thing:\n"
    "It is the bloody Businesse, which informes\n"
    "Thus to mine Eyes."
)
# A play as Project Gutenberg has it: speakers' names before their lines, stage directions.
PLAY = (
    "Thunder. Enter the three Witches.\n"
    "\n"
    "  1. Where hast thou beene, Sister?\n"
    "  2. Killing Swine\n"
    "\n"
    "Enter Macbeth and Banquo.\n"
    "\n"
    "  Macb. So foule and faire a day I haue not seene\n"
    "\n"
    "  Banq. What are these,\n"
    "So wither'd, and so wilde in their attyre,\n"
    "That looke not like th' Inhabitants o'th' Earth?\n"
    "\n"
    "  Macb. Speake if you can: what are you?\n"
    "\n"
    "Hec. Why how now, the Witches of the heath meet here again\n"
    "\n"
    "Exeunt."
)


@pytest.fixture(scope="module")
def i18n_en() -> Translator:
    return I18n().translator("en")


def citation(text: str, seq: int = 0) -> Citation:
    return Citation(book_id=1, chunk_id=seq, page=None, chapter="CHAPTER I", text=text, score=1.0)


def test_wrapped_prose_becomes_paragraphs_and_headings_stay_apart() -> None:
    shown = reflow(PROSE)
    paragraphs = shown.split("\n\n")
    assert paragraphs[0] == "CHAPTER I"
    assert paragraphs[1].startswith(
        "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy"
    )
    assert "\n" not in paragraphs[1] and "\n" not in paragraphs[2] and len(paragraphs) == 3
    assert " ".join(shown.split()) == " ".join(PROSE.split())  # nothing lost or added but breaks

    headed = reflow(HEADED).split("\n")
    assert headed[:2] == ["The Lighthouse Keeper", "Chapter One: Arrival"]
    assert headed[2].startswith("Marta arrived") and headed[2].endswith("the man she remembered.")
    assert len(headed) == 3


def test_verse_keeps_its_lines() -> None:
    assert reflow(VERSE) == VERSE


def test_a_sentence_cut_from_a_passage_reflows_as_the_passage() -> None:
    start = PROSE.index("She was")
    end = PROSE.index("marriage,") + len("marriage,")
    assert reflow(PROSE, start, end) == (
        "She was the youngest of the two daughters of a most affectionate, indulgent father; and had, "
        "in consequence of her sister's marriage,"
    )


async def test_extractive_answer_is_reflowed_and_citations_stay_exact() -> None:
    passage = citation(PROSE)
    reply = await extractive_reply("Who was the youngest of the two daughters?", [passage])
    assert (
        "«She was the youngest of the two daughters of a most affectionate, indulgent father;" in reply.text
    )
    assert all("\n" not in line[1:-5] for line in reply.text.split("\n")), reply.text  # one sentence a line
    assert reply.citations == [passage] and reply.citations[0].text == PROSE


def test_passages_and_search_results_show_paragraphs_not_line_breaks(i18n_en: Translator) -> None:
    for html in (
        passages_html(i18n_en, [citation(PROSE)]),
        search_html(i18n_en, "Emma", [citation(PROSE)], {1: "Emma"}),
    ):
        assert "CHAPTER I\n\nEmma Woodhouse" in html
        assert "comfortable home and happy disposition" in html
        assert "comfortable home\nand" not in html


def test_quotes_skip_speaker_names_and_stage_directions() -> None:
    answer = extractive_answer("What are the witches? What does Macbeth say to them?", [citation(PLAY)], 600)
    quoted = [sentence.text for sentence in answer.sentences]
    assert quoted, "whole sentences are left to quote"
    for fragment in (
        "Macb.",
        "Banq.",
        "Hec.",
        "Exeunt.",
        "Enter Macbeth and Banquo.",
        "Enter the three Witches.",
    ):
        assert fragment not in quoted, quoted
    assert any("What are these" in text for text in quoted)
    assert any("the Witches of the heath" in text for text in quoted)


def test_a_short_answer_to_the_books_own_question_is_kept() -> None:
    text = (
        "The night was long and the fire burned low in the old hall. Who came to the door at midnight?\n"
        "The troll.\n"
        "Nobody in the village had ever seen it so close before."
    )
    answer = extractive_answer("Who came to the door at midnight?", [citation(text)], 600)
    quoted = [sentence.text for sentence in answer.sentences]
    assert "Who came to the door at midnight?" in quoted and "The troll." in quoted


def test_daily_quote_is_reflowed_without_its_headings() -> None:
    assert quote_text(HEADED) == (
        "Marta arrived at the lighthouse as the sun went down over the grey sea. She had not seen her "
        "father for eleven years, and the keeper who opened the door to her that evening was not the man "
        "she remembered."
    )
    quote = quote_text(PROSE)
    assert quote.startswith("Emma Woodhouse, handsome") and "\n\nShe was the youngest" in quote
    assert "comfortable home and happy" in quote

    long = quote_text("\n\n".join([PROSE.split("\n\n", 1)[1]] * 4))
    assert len(long) <= QUOTE_MAX and long.endswith((".", "her.")) and "\n" in long
