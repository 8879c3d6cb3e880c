"""The sentences an answer without an LLM quotes: the ones that answer the question, never a speaker's
name, a stage direction, a heading or a fragment, and never more than the reply's length."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from services.search.extractive import carries_kind, extractive_answer, question_kind


@dataclass(frozen=True)
class Passage:
    text: str
    page: int | None = None
    chapter: str | None = None


def quoted(question: str, passages: list[str], max_chars: int = 600) -> list[str]:
    answer = extractive_answer(question, [Passage(text) for text in passages], max_chars)
    assert len(answer.text) <= max_chars
    return [sentence.text for sentence in answer.sentences]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who opened the door of the tower?", "who"),
        ("Why did the miller leave the mill?", "why"),
        ("When did the snow queen come back?", "when"),
        ("Where did the fox hide the goose?", "where"),
        ("How many sons did the king have?", "count"),
        ("What happened when the boy fell asleep?", "other"),
        ("Кто открыл дверь башни?", "who"),
        ("Почему мельник ушёл с мельницы?", "why"),
        ("Когда вернулась Снежная королева?", "when"),
        ("Куда лиса спрятала гуся?", "where"),
        ("Сколько сыновей было у короля?", "count"),
    ],
)
def test_the_question_kind_is_its_first_question_word(question: str, kind: str) -> None:
    assert question_kind(question) == kind


# Each pair: two sentences that match the question's words equally; only the second carries what the
# question asks for, and only one of them fits the reply. Term overlap alone quotes the first.
KIND_CASES = [
    (
        "Who opened the door of the tower?",
        "The door of the tower was opened very slowly at last.",
        "The door of the tower was opened by Rapunzel herself.",
    ),
    (
        "Why did the miller leave the mill?",
        "The miller left the mill early on a grey and windy day.",
        "The miller left the mill because the river had run dry.",
    ),
    (
        "When did the snow queen come back?",
        "The snow queen came back to her cold palace of ice.",
        "The snow queen came back after seven long winters.",
    ),
    (
        "Where did the fox hide the goose?",
        "The fox was very pleased with the fat goose he caught.",
        "The fox hid the fat goose under the old oak tree.",
    ),
    (
        "Почему мельник ушёл с мельницы?",
        "Мельник ушёл с мельницы рано утром, не сказав ни слова.",
        "Мельник ушёл с мельницы, потому что река совсем пересохла.",
    ),
]


@pytest.mark.parametrize(("question", "other", "answer"), KIND_CASES)
def test_the_sentence_that_carries_what_the_question_asks_is_chosen(
    question: str, other: str, answer: str
) -> None:
    assert carries_kind(question_kind(question), answer, question)
    assert not carries_kind(question_kind(question), other, question)
    chosen = quoted(question, [f"{other} {answer}"], max_chars=80)
    assert chosen == [answer]


def test_the_answer_a_few_lines_after_the_question_words_is_quoted() -> None:
    story = (
        "Goody Tiptoes gathered the nuts all afternoon. Then she carried them away in a little bag. "
        "She hid them under a tree root; they rattled down, down, down."
    )
    elsewhere = " ".join(
        f"Goody Tiptoes and Timmy Tiptoes talked about the nuts {when}."
        for when in ("at breakfast", "at dinner", "at supper", "in the rain", "in the wind", "at dusk",
                     "by the fire", "in bed", "on the way", "all winter", "all spring")
    )  # fmt: skip
    chosen = quoted("Where did Goody Tiptoes hide the nuts?", [story, elsewhere])
    assert "She hid them under a tree root; they rattled down, down, down." in chosen
    # The run where the question's words gather comes first, in reading order.
    assert chosen[0] == "Goody Tiptoes gathered the nuts all afternoon."


PLAY = (
    "### The Tragedy of the Three Witches\n\n"
    "ACT I. SCENE III.\n\n"
    "A heath. Thunder.\n\n"
    "ENTER THE THREE WITCHES.\n\n"
    "FIRST WITCH. Where hast thou been, sister?\n\n"
    "SECOND WITCH. Killing swine.\n\n"
    "[Exit Banquo.]\n\n"
    "THE THREE WITCHES OF THE HEATH\n\n"
    "MACBETH. So foul and fair a day I have not seen.\n\n"
    "Enter Macbeth and Banquo."
)


def test_speaker_names_stage_directions_headings_and_fragments_are_not_quoted() -> None:
    chosen = quoted("What did Macbeth say to the three witches about the day?", [PLAY])
    assert "So foul and fair a day I have not seen." in chosen
    for never in (
        "### The Tragedy of the Three Witches",
        "ACT I.",
        "SCENE III.",
        "ENTER THE THREE WITCHES.",
        "FIRST WITCH.",
        "SECOND WITCH.",
        "Killing swine.",
        "Thunder.",
        "[Exit Banquo.]",
        "THE THREE WITCHES OF THE HEATH",
        "MACBETH.",
        "Enter Macbeth and Banquo.",
    ):
        assert never not in chosen, chosen


def test_the_reply_stays_within_its_length() -> None:
    long_sentence = "The king's golden apples " + "and the silver pears " * 60 + "were stolen."
    passages = [
        " ".join(f"The golden apples of the king were counted on morning {n}." for n in range(40)),
        long_sentence,
    ]
    for question in ("Who stole the golden apples?", "Why were the golden apples stolen?"):
        for limit in (600, 200):
            answer = extractive_answer(question, [Passage(text) for text in passages], limit)
            assert answer.sentences and len(answer.text) <= limit
    only_long = extractive_answer("Who stole the golden apples?", [Passage(long_sentence)], 600)
    assert len(only_long.text) <= 600 and only_long.text.startswith("The king's golden apples")


def test_a_line_running_into_the_next_speakers_name_or_a_stage_direction_loses_it() -> None:
    play = (
        "We shall, my Lord,\nPerforme what you command vs\n\n"
        "   1.Murth. Though our Liues were lost-\n  Macb. Your Spirits shine through you.\n"
        "So we went on through the dark wood\nEnter Macbeth.\n\nHow now, my Lord, why doe you keepe alone?"
    )
    chosen = quoted("Why does Macbeth keep alone? What of our lives and spirits?", [play])
    assert "Though our Liues were lost-" in chosen
    assert "So we went on through the dark wood" in chosen
    assert all(not line.strip().endswith(("Macb.", "Enter Macbeth.")) for line in chosen), chosen
