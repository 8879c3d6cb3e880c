"""Summaries (extractive and LLM map-reduce, stored once), study questions, and the answer preview's pacing."""

from __future__ import annotations

import random
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import SendMessageDraft
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Chunk, LLMUsageRecord
from handlers.chat_stream import AnswerStream, preview_html
from services.chat.study import GAP, StudyService
from services.chat.summaries import SummaryService, extractive_summary
from services.llm import LLMRouter
from services.search.index import SearchIndex
from tests.chat_fixtures import USER
from tests.chat_helpers import FIREBIRD, seed_book
from tests.fakes.llm_server import Answer, Fail
from tests.fakes.openai_server import FakeOpenAIServer

pytest_plugins = ["tests.fakes.fixtures", "tests.chat_fixtures"]

BOOK_TEXT = " ".join(text for _chapter, _page, text in FIREBIRD)


@pytest.mark.parametrize("db_kind", ["sqlite", "postgres"], indirect=True)
async def test_extractive_summary_is_verbatim_and_stored(session: AsyncSession, book_id: int) -> None:
    service = SummaryService(None)
    chapters = await service.chapters(session, book_id)
    assert [c.title for c in chapters] == ["I. The Garden", "II. The Grey Wolf", "III. Elena the Beautiful"]
    summary = await service.summarise(session, user_id=USER, book_id=book_id)
    assert summary is not None and summary.method == "extractive" and not summary.stored
    assert summary.short and summary.long and summary.topics
    for sentence in summary.short.split(". "):
        assert sentence.rstrip(".") in BOOK_TEXT
    assert summary.quotes and all(q.text in BOOK_TEXT for q in summary.quotes)
    assert any(t in ("Ivan", "Firebird", "wolf", "golden") for t in summary.topics)
    stored = await service.stored(session, book_id)
    assert stored is not None and stored.stored and stored.short == summary.short

    chapter = await service.summarise(session, user_id=USER, book_id=book_id, chapter=chapters[1].key)
    assert chapter is not None and chapter.chapter == "II. The Grey Wolf"
    assert "wolf" in chapter.long
    assert (await service.stored(session, book_id, chapters[1].key)) is not None
    assert await service.summarise(session, user_id=USER, book_id=book_id, chapter="nope") is None


@pytest.mark.parametrize("db_kind", ["sqlite", "postgres"], indirect=True)
async def test_llm_summary_is_map_reduce_as_estimated(
    session: AsyncSession, book_id: int, openai_router: LLMRouter, openai_server: FakeOpenAIServer
) -> None:
    openai_server.default = Answer(
        "SHORT: Ivan wins the Firebird.\nLONG: Ivan follows the Firebird with a grey wolf.\n"
        "TOPICS: courage; the grey wolf\nQUOTE: the wolf offered to carry Ivan on his back"
    )
    # Small windows and fan-in force several map calls and an intermediate combine.
    service = SummaryService(openai_router, window_chars=300, fan_in=2)
    estimate = await service.estimate(session, book_id)
    assert estimate.chunks == 5 and estimate.calls >= 5 + 2
    summary = await service.summarise(session, user_id=USER, book_id=book_id)
    assert summary is not None and summary.method == "llm" and summary.provider == "openai"
    assert len(openai_server.requests) == estimate.calls == summary.llm_calls
    assert summary.short == "Ivan wins the Firebird."
    assert summary.topics == ["courage", "the grey wolf"]
    assert summary.quotes[0].text == "the wolf offered to carry Ivan on his back"
    assert summary.quotes[0].page == 5  # the quote is kept with its place
    assert all(q.text in BOOK_TEXT for q in summary.quotes)
    systems = [r.system or "" for r in openai_server.requests]
    assert any("one part of a book" in s for s in systems) and any("SHORT:" in s for s in systems)
    usage = await session.scalar(
        select(func.count()).select_from(LLMUsageRecord).where(LLMUsageRecord.purpose == "summary")
    )
    assert usage == estimate.calls
    stored = await service.stored(session, book_id)
    assert stored is not None and stored.method == "llm"


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_llm_summary_falls_back_to_extractive(
    session: AsyncSession, book_id: int, openai_router: LLMRouter, openai_server: FakeOpenAIServer
) -> None:
    openai_server.default = Fail(500)
    summary = await SummaryService(openai_router).summarise(session, user_id=USER, book_id=book_id)
    assert summary is not None and summary.method == "extractive"


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_study_questions_offline_and_with_llm(
    session: AsyncSession, book_id: int, openai_router: LLMRouter, openai_server: FakeOpenAIServer
) -> None:
    chapters = await SummaryService(None).chapters(session, book_id)
    offline = StudyService(None, rng=random.Random(3))
    question = await offline.question(session, user_id=USER, book_id=book_id, chapter=chapters[1].key)
    assert question is not None and question.method == "gap" and GAP in question.question
    assert question.chapter == "II. The Grey Wolf"
    assert question.question.replace(GAP, question.expected) in question.passage
    assert (await offline.check(question, f"I think {question.expected}", user_id=USER)).verdict == "correct"
    assert (await offline.check(question, "no idea", user_id=USER)).verdict == "wrong"

    openai_server.script(
        Answer("QUESTION: What did the grey wolf eat?\nANSWER: Ivan's horse"),
        Answer("VERDICT: partly\nThe wolf ate his horse, not his boots."),
    )
    tutor = StudyService(openai_router)
    asked = await tutor.question(session, user_id=USER, book_id=book_id)
    assert asked is not None and asked.method == "llm" and asked.question == "What did the grey wolf eat?"
    restored = type(asked).from_dict(asked.as_dict())  # as kept in FSM state
    check = await tutor.check(restored, "his boots", user_id=USER)
    assert check.verdict == "partly" and check.feedback == "The wolf ate his horse, not his boots."
    assert "between the fence markers" in (openai_server.requests[0].system or "")


# --- the answer preview ----------------------------------------------------------------------------


class FakeBot:
    """Records what AnswerStream sends; fails drafts or pushes back with 429 on demand."""

    def __init__(self, *, drafts: bool = True) -> None:
        self.drafts = drafts
        self.calls: list[tuple[str, Any]] = []
        self.flood = 0

    def _check_flood(self, method: Any) -> None:
        if self.flood:
            self.flood -= 1
            raise TelegramRetryAfter(method=method, message="Too Many Requests: retry after 5", retry_after=5)

    async def send_chat_action(self, chat_id: int, action: str) -> bool:
        self.calls.append(("action", action))
        return True

    async def send_message_draft(self, chat_id: int, draft_id: int, text: str) -> bool:
        method = SendMessageDraft(chat_id=chat_id, draft_id=draft_id, text=text)
        if not self.drafts:
            raise TelegramBadRequest(method=method, message="Bad Request: method not available")
        self._check_flood(method)
        self.calls.append(("draft", text))
        return True

    async def send_message(self, chat_id: int, text: str) -> Any:
        self.calls.append(("send", text))
        return type("Sent", (), {"message_id": 77})()

    async def edit_message_text(self, *, text: str, chat_id: int, message_id: int) -> Any:
        self.calls.append(("edit", text))

    async def delete_message(self, chat_id: int, message_id: int) -> bool:
        self.calls.append(("delete", message_id))
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_preview_is_paced_never_repeats_and_backs_off_on_429() -> None:
    bot, clock = FakeBot(), Clock()
    stream = AnswerStream(bot, 1, draft_id=5, clock=clock)  # type: ignore[arg-type]
    await stream.start()
    assert bot.calls == [("action", "typing")]
    await stream.update("Ivan **caught**")
    await stream.update("Ivan **caught** the")  # too soon: skipped
    clock.now += 1.1
    await stream.update("Ivan **caught** the")
    clock.now += 5
    await stream.update("Ivan **caught** the")  # same text: not sent again
    bot.flood = 1
    await stream.update("Ivan **caught** the bird")  # 429: pushed back, not retried at once
    clock.now += 2
    await stream.update("Ivan **caught** the bird.")
    clock.now += 4
    await stream.update("Ivan **caught** the bird.")
    await stream.close()
    drafts = [text for kind, text in bot.calls if kind == "draft"]
    assert drafts == ["Ivan <b>caught</b>", "Ivan <b>caught</b> the", "Ivan <b>caught</b> the bird."]


async def test_preview_edits_one_message_when_drafts_are_unavailable() -> None:
    bot, clock = FakeBot(drafts=False), Clock()
    stream = AnswerStream(bot, 1, draft_id=5, clock=clock)  # type: ignore[arg-type]
    await stream.start()
    await stream.update("one")
    clock.now += 2
    await stream.update("one two")
    await stream.close()
    assert [kind for kind, _ in bot.calls] == ["action", "send", "edit", "delete"]
    assert stream.mode == "edit"


def test_preview_of_a_long_answer_fits_one_message() -> None:
    html = preview_html("word " * 2000 + "**unclosed")
    assert html.endswith(" …") and len(html) <= 4100


# --- key topics without an LLM -----------------------------------------------------------------------

EMMA_LIKE = [
    '"I do not think so," said Mrs. Weston to Emma, and one could see that Harriet was pleased.',
    "Mr. Knightley said that one walk to Hartfield was enough, and Emma said nothing to him.",
    '"Harriet is a dear girl," said Miss Bates, "one of the best, I think, in all Highbury."',
    "Emma thought of Harriet and of Mr. Knightley; one thing was certain, she said, and Mrs. Goddard agreed.",
    '"My dear Emma," said Mr. Woodhouse, "one must not walk to Hartfield in such weather."',
    "Harriet said she would go, and one of the servants went with her as far as the Hartfield gate.",
]
CAPTAINS_DAUGHTER_LIKE = [
    "— Не бойся, — сказал Савельич, который стоял у ворот крепости, — Пугачев своих не тронет.",
    "Марья Ивановна сказала, что Швабрин был у коменданта, который говорил с ним о крепости.",
    "— Где Пугачев? — спросил я Савельича, который держал в руках свои вещи и молчал.",
    "Швабрин отвечал, что Марья Ивановна больна, и сказал, что комендант крепости знает об этом.",
    "Савельич сказал мне, что Пугачев уже близко и что в крепости все знают об этом своими глазами.",
]


def _chunks(sentences: list[str]) -> list[Chunk]:
    return [
        Chunk(book_id=1, seq=n, text=f"{text}\n{text}", page=None, chapter=None, percent=0.0)
        for n, text in enumerate(sentences)
    ]


@pytest.mark.parametrize(
    ("sentences", "names", "common"),
    [
        (
            EMMA_LIKE,
            {"Emma", "Harriet", "Knightley", "Hartfield"},
            {"said", "Mrs", "Mr", "Miss", "one", "think", "thing", "dear"},
        ),
        (
            CAPTAINS_DAUGHTER_LIKE,
            {"Савельич", "Пугачев", "Швабрин", "крепости"},
            {"сказал", "сказала", "который", "своих", "отвечал", "спросил", "говорил", "своими"},
        ),
    ],
    ids=["english", "russian"],
)
def test_extractive_key_topics_are_the_books_names_not_common_words(
    sentences: list[str], names: set[str], common: set[str]
) -> None:
    topics = extractive_summary(_chunks(sentences), book_id=1).topics
    assert names <= set(topics), topics
    assert not {t.lower() for t in topics} & {c.lower() for c in common}, topics


# --- chapters of a book in volumes, and gap questions cut between words -------------------------------

# Two volumes that number their chapters afresh, wrapped like Project Gutenberg; the volume's heading
# opens its first chapter's text.
VOLUMES: list[tuple[str, int, str]] = [
    (
        "CHAPTER I",
        1,
        "VOLUME I\n\nCHAPTER I\n\nThe snow had fallen all night on the roofs of Highbury, and by morning\n"
        "the lane to the vicarage was lost under a white and silent blanket.",
    ),
    ("CHAPTER I", 2, "Nobody in the village remembered a winter so hard since the old\nmill burned down."),
    (
        "CHAPTER II",
        3,
        "CHAPTER II\n\nThe carpenter walked every morning to the mill with his grey dog,\n"
        "whatever the weather, and came home with a basket of apples.",
    ),
    (
        "CHAPTER I",
        4,
        "VOLUME II\n\nCHAPTER I\n\nIn the spring the lighthouse keeper came back from the islands with\n"
        "a wooden chest full of letters that nobody had ever read.",
    ),
    (
        "CHAPTER II",
        5,
        "CHAPTER II\n\nThe letters spoke of a sailor who had crossed the northern sea in a\n"
        "small boat, alone, to bring the medicine to his sister.",
    ),
]


@pytest.mark.parametrize("db_kind", ["sqlite", "postgres"], indirect=True)
async def test_chapters_of_each_volume_are_told_apart(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], index: SearchIndex
) -> None:
    book_id = await seed_book(session_factory, index, user_id=USER, title="Winter", passages=VOLUMES)
    chapters = await SummaryService(None).chapters(session, book_id)
    assert [c.label for c in chapters] == [
        "VOLUME I, CHAPTER I",
        "VOLUME I, CHAPTER II",
        "VOLUME II, CHAPTER I",
        "VOLUME II, CHAPTER II",
    ]
    assert [c.chunks for c in chapters] == [2, 1, 1, 1]
    assert len({c.key for c in chapters}) == 4

    second_volume = chapters[2]
    summary = await SummaryService(None).summarise(
        session, user_id=USER, book_id=book_id, chapter=second_volume.key
    )
    assert summary is not None and summary.chapter == "VOLUME II, CHAPTER I"
    assert "lighthouse keeper" in summary.long and "snow" not in summary.long

    question = await StudyService(None, rng=random.Random(1)).question(
        session, user_id=USER, book_id=book_id, chapter=second_volume.key
    )
    assert question is not None and question.chapter == "VOLUME II, CHAPTER I"
    assert question.passage == VOLUMES[3][2]


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_a_repeated_scene_is_named_by_its_act_or_else_numbered(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], index: SearchIndex
) -> None:
    texts = [
        "Thunder and lightning over the heath, and three figures wait for the king.",
        "A camp near the castle, where a wounded captain brings the news of battle.",
        "The court of the castle at night, where a torch burns by the gate.",
        "The same court, where the knocking at the gate wakes the porter.",
    ]

    async def labels(titles: list[str]) -> list[str]:
        passages = [
            (title, n, f"{title}\n\n{text}")
            for n, (title, text) in enumerate(zip(titles, texts, strict=True))
        ]
        book_id = await seed_book(session_factory, index, user_id=USER, title=titles[0], passages=passages)
        return [c.label for c in await SummaryService(None).chapters(session, book_id)]

    assert await labels(
        ["Actus Primus. Scena Prima.", "Scena Secunda.", "Actus Secundus. Scena Prima.", "Scena Secunda."]
    ) == [
        "Actus Primus. Scena Prima.",
        "Actus Primus, Scena Secunda.",
        "Actus Secundus. Scena Prima.",
        "Actus Secundus, Scena Secunda.",
    ]
    assert await labels(["Scena Prima.", "Scena Secunda.", "Scena Prima.", "Scena Secunda."]) == [
        "Scena Prima. (1)",
        "Scena Secunda. (1)",
        "Scena Prima. (2)",
        "Scena Secunda. (2)",
    ]


LONG_SENTENCE = (
    "And the whale-ship, having crossed the line and doubled the cape in the\n"
    "dead of winter, with her boats lowered and her men at the oars from dawn\n"
    "until the last light failed upon the water, came at length into the quiet\n"
    "bay where the old harpooner had promised that the great white whale would\n"
    "be found feeding among the floating weed, as he had seen it forty years before."
)


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_a_gap_question_from_a_long_sentence_is_cut_between_words_and_reflowed(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], index: SearchIndex
) -> None:
    passages = [("CHAPTER 1", 1, LONG_SENTENCE)]
    book_id = await seed_book(session_factory, index, user_id=USER, title="The Whale", passages=passages)
    flat = " ".join(LONG_SENTENCE.split())
    for seed in range(5):
        question = await StudyService(None, rng=random.Random(seed)).question(
            session, user_id=USER, book_id=book_id
        )
        assert question is not None and question.method == "gap" and "\n" not in question.question
        shown = question.question.replace(GAP, question.expected)
        assert shown in flat and len(shown.split()) >= 6
        at = flat.index(shown)
        # Whole words: nothing of a word is left on either side of the piece.
        assert (at == 0 or not flat[at - 1].isalpha()) and not flat[
            at + len(shown) : at + len(shown) + 1
        ].isalpha()
