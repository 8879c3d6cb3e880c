"""The sentence ranker of the answers without an LLM: the shipped one matches the features the code
computes and never saw the held-out fold; training learns what the questions teach; the reply keeps to
its length and to the book's order; vectors are used for English questions only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.bench import answer_ranker
from bot.bench.answers import HELD_OUT
from services.search.extractive import (
    DENSE_FEATURES,
    FEATURES,
    RANKER_PATH,
    SentenceRanker,
    candidate_sentences,
    candidate_table,
    choose_sentences,
    extractive_answer_dense,
)


@dataclass(frozen=True)
class Passage:
    text: str
    page: int | None = None
    chapter: str | None = None


ANIMALS = ["fox", "hare", "crow", "otter", "badger", "wren", "stoat", "mole", "heron", "toad", "lynx", "owl"]
THINGS = ["ring", "bell", "coin", "key", "cup", "comb", "pearl", "spoon", "needle", "lamp", "box", "horn"]
PLACES = ["stone", "bridge", "hedge", "willow", "haystack", "cellar", "mill", "barn", "well", "oak", "gate"]


def story(animal: str, thing: str, place: str) -> tuple[str, list[Passage], str]:
    """A question whose answer is the sentence after the one that repeats its words."""
    answer = f"It was put under the {place} by the river."
    passages = [
        Passage(
            f"The {animal} looked at the golden {thing} and decided to hide the {thing} from everyone. "
            f"{answer} Then the {animal} went home to sleep."
        ),
        Passage(f"Everyone in the wood talked about the {thing} of the {animal} all winter long."),
    ]
    return f"Where did the {animal} hide the {thing}?", passages, answer


def asked(question: str, passages: Sequence[Passage], answer: str) -> answer_ranker.Asked:
    spans, features, usable = candidate_table(question, passages)
    texts = [passages[p].text[s:e] for p, s, e in spans]
    return answer_ranker.Asked(
        fold=1,
        question=question,
        answers=[answer],
        features=features,
        usable=usable,
        positive=np.array([text == answer for text in texts]),
        lengths=np.array([e - s for _, s, e in spans]),
        texts=texts,
    )


def test_the_shipped_ranker_fits_the_features_and_never_saw_the_held_out_fold() -> None:
    weights = json.loads(RANKER_PATH.read_text(encoding="utf-8"))
    assert weights["features"] == list(FEATURES)
    assert HELD_OUT not in weights["trained_on"]
    ranker = SentenceRanker.shipped()
    question, passages, _ = story("fox", "ring", "stone")
    _, features, _ = candidate_table(question, passages)
    assert ranker.score(features).shape == (len(features),)


def test_training_learns_that_the_answer_follows_the_line_that_repeats_the_question() -> None:
    lessons = [
        asked(*story(animal, thing, place))
        for animal in ANIMALS[:8]
        for thing, place in zip(THINGS[:5], PLACES[:5], strict=True)
    ]
    weights = answer_ranker.train(lessons, seed=1)
    fresh = [
        asked(*story(animal, thing, place))
        for animal, thing, place in zip(ANIMALS[8:], THINGS[5:9], PLACES[5:9], strict=True)
    ]
    ranker = SentenceRanker(weights)
    for item in fresh:
        scores = np.where(item.usable, ranker.score(item.features), -np.inf)
        assert item.texts[int(np.argmax(scores))].startswith("It was put under the")
    assert answer_ranker.evaluate(weights, fresh) == 1.0
    assert weights["questions"] == len(lessons)


def test_the_reply_keeps_to_its_length_and_to_the_order_of_the_book() -> None:
    scores = np.array([0.1, 3.0, 2.0, -1.0, 5.0])
    usable = np.array([True, True, True, True, False])
    lengths = np.array([100, 250, 300, 40, 10])
    assert choose_sentences(scores, usable, lengths, 600) == [1, 2]
    assert choose_sentences(scores, usable, lengths, 500) == [0, 1, 3]  # the 300 did not fit
    assert choose_sentences(scores, usable, lengths, 200) == [0, 3]
    assert choose_sentences(scores, np.zeros(5, dtype=bool), lengths, 600) == []


class CountingEmbedder:
    """The embedder's interface, counting what it is asked to embed."""

    def __init__(self) -> None:
        self.texts = 0

    async def embed_query(self, text: str) -> np.ndarray:
        self.texts += 1
        return np.ones(4, dtype=np.float32) / 2

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return np.ones((len(texts), 4), dtype=np.float32) / 2


async def test_sentence_vectors_are_used_for_english_questions_only() -> None:
    question, passages, answer = story("fox", "ring", "stone")
    english = CountingEmbedder()
    reply = await extractive_answer_dense(question, passages, english)  # type: ignore[arg-type]
    assert english.texts == 1 + len(candidate_sentences(passages))
    assert answer in reply.text
    russian = CountingEmbedder()
    passages_ru = [Passage("Лиса спрятала кольцо под камнем у реки. Потом лиса пошла домой спать.")]
    reply_ru = await extractive_answer_dense("Где лиса спрятала кольцо?", passages_ru, russian)  # type: ignore[arg-type]
    assert russian.texts == 0
    assert "под камнем" in reply_ru.text


def test_without_vectors_the_features_of_meaning_are_zero() -> None:
    question, passages, _ = story("fox", "ring", "stone")
    _, features, _ = candidate_table(question, passages)
    dense = [FEATURES.index(name) for name in DENSE_FEATURES]
    assert not features[:, dense].any()
    vectors = np.eye(len(candidate_sentences(passages)), 8, dtype=np.float32)
    _, with_vectors, _ = candidate_table(question, passages, vectors[0], vectors)
    assert with_vectors[:, dense].any()
