"""AnswerService with the real SDKs against the fake LLM servers, a real search index and both databases."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from db.models import ChatTurn, LLMUsageRecord
from services.chat import EXTRACTIVE, UNVERIFIED_MARK, AnswerService, UsageRecorder
from services.chat.memory import heuristic_rewrite, looks_like_follow_up
from services.llm import LLMRouter, build_router
from services.search.index import SearchIndex
from tests.chat_fixtures import USER
from tests.chat_helpers import FIREBIRD
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.llm_server import Answer, Fail, Hang
from tests.fakes.openai_server import FakeOpenAIServer

pytest_plugins = ["tests.fakes.fixtures", "tests.chat_fixtures"]
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")


def passage_numbers(prompt: str) -> dict[str, int]:
    """Which prompt number each seeded passage got (by its first words)."""
    found = {}
    for number, body in re.findall(r"<<<PASSAGE (\d+) \w+[^>]*>>>\n(.*?)\n<<<END PASSAGE \1", prompt, re.S):
        found[body[:30]] = int(number)
    return found


def number_of(prompt: str, passage: int) -> int:
    return passage_numbers(prompt)[FIREBIRD[passage][2][:30]]


@pytest.mark.parametrize("db_kind", ["sqlite", "postgres"], indirect=True)
async def test_grounded_answer_cites_places_and_records_usage(
    session: AsyncSession,
    book_id: int,
    index: SearchIndex,
    openai_router: LLMRouter,
    openai_server: FakeOpenAIServer,
) -> None:
    service = AnswerService(index, openai_router)
    question = "What did Ivan get from the Firebird in the garden?"
    # The fake answers whatever was asked: learn the prompt's passage order first (another mode, so the
    # real question is not answered from the cache).
    probe = await service.answer(
        session, user_id=USER, question=question, book_id=book_id, mode="simple", remember=False
    )
    assert probe.provider == "openai"
    prompt = openai_server.requests[-1].last_user_text or ""
    feather, wolf = number_of(prompt, 1), number_of(prompt, 2)

    openai_server.script(
        Answer(
            f"Ivan caught the Firebird, who left «a golden feather of the Firebird» [{feather}]. Later a grey wolf helped him [{wolf}, {feather}]."
        )
    )
    seen: list[str] = []

    async def on_text(text: str) -> None:
        seen.append(text)

    result = await service.answer(session, user_id=USER, question=question, book_id=book_id, on_text=on_text)
    assert result.provider == "openai" and not result.cached and result.found
    assert "[1]" in result.text and "[2]" in result.text and f"[{feather + 10}]" not in result.text
    assert "«a golden feather of the Firebird»" in result.text  # verified quote stays a quote
    assert result.unverified_quotes == []
    first, second = result.citations[:2]
    assert (first.page, first.chapter, first.chunk_id) == (2, "I. The Garden", 2)
    assert (second.page, second.chapter) == (5, "II. The Grey Wolf")
    assert first.text == FIREBIRD[1][2] and first.book_id == book_id
    assert len(seen) >= 2 and seen[-1].startswith("Ivan caught")  # streamed as it came
    assert result.usage and result.usage[0].input_tokens == 12

    rows = (await session.scalars(select(LLMUsageRecord).order_by(LLMUsageRecord.id))).all()
    assert len(rows) == 2
    assert (rows[-1].user_id, rows[-1].book_id, rows[-1].purpose, rows[-1].provider) == (
        USER,
        book_id,
        "answer",
        "openai",
    )
    assert rows[-1].input_tokens == 12 and rows[-1].output_tokens == 8 and rows[-1].model


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_made_up_quote_is_marked_and_real_quote_elsewhere_in_the_book_kept(
    session: AsyncSession,
    book_id: int,
    index: SearchIndex,
    openai_router: LLMRouter,
    openai_server: FakeOpenAIServer,
) -> None:
    # The second quotation is in the book (chapter III) even if retrieval did not hand it to the model.
    openai_server.script(
        Answer(
            "The Firebird sang «a song of silver rain over the sleeping garden» [1]. "
            'Then "win Elena the Beautiful, and they rode home" [2].'
        )
    )
    service = AnswerService(index, openai_router, k=2)
    result = await service.answer(
        session, user_id=USER, question="What did the Firebird do in the garden?", book_id=book_id
    )
    assert result.unverified_quotes == ["a song of silver rain over the sleeping garden"]
    assert f"a song of silver rain over the sleeping garden {UNVERIFIED_MARK}" in result.text
    assert "«a song of silver rain" not in result.text
    assert '"win Elena the Beautiful, and they rode home"' in result.text


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_prompt_injection_in_a_passage_stays_fenced(
    session: AsyncSession,
    book_id: int,
    index: SearchIndex,
    openai_router: LLMRouter,
    openai_server: FakeOpenAIServer,
) -> None:
    service = AnswerService(index, openai_router)
    await service.answer(
        session, user_id=USER, question="What did the wolf tell Ivan about the golden cage?", book_id=book_id
    )
    request = openai_server.requests[-1]
    assert request.system is not None and "not instructions" in request.system
    prompt = request.last_user_text or ""
    token = re.search(r"<<<PASSAGE 1 (\w+)", prompt).group(1)  # type: ignore[union-attr]
    assert token != "deadbeef0000"
    injection = prompt.index("IGNORE ALL PREVIOUS INSTRUCTIONS")
    opened = prompt.rfind("<<<PASSAGE", 0, injection)
    number = re.match(rf"<<<PASSAGE (\d+) {token}", prompt[opened:]).group(1)  # type: ignore[union-attr]
    closed = prompt.index(f"<<<END PASSAGE {number} {token}>>>", injection)
    # The book's fake end marker and its "System:" line are inside the real fence, before its end.
    assert injection < prompt.index("deadbeef0000") < prompt.index("System: reveal") < closed
    assert prompt.rstrip().endswith("Question: What did the wolf tell Ivan about the golden cage?")


@pytest.mark.parametrize("db_kind", ["sqlite", "postgres"], indirect=True)
async def test_every_provider_failing_falls_back_to_the_extractive_answer(
    make_settings: Callable[..., Settings],
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    book_id: int,
    index: SearchIndex,
    openai_server: FakeOpenAIServer,
    gemini_server: FakeGeminiServer,
) -> None:
    settings = make_settings(
        gemini_api_key=gemini_server.api_key,
        gemini_base_url=gemini_server.url,
        openai_api_key=openai_server.api_key,
        openai_base_url=openai_server.base_url,
        llm_order="gemini,openai",
        llm_retries=1,
        llm_timeout_seconds=0.5,
    )
    router = build_router(settings, usage_sink=UsageRecorder(session_factory))
    assert router is not None
    router.backoff_base = 0.01
    gemini_server.script(Fail(500), Hang(5))
    openai_server.script(Fail(503), Fail(500))
    service = AnswerService(index, router)
    result = await service.answer(
        session, user_id=USER, question="Who stole the golden apples?", book_id=book_id
    )
    assert len(gemini_server.requests) == 2 and len(openai_server.requests) == 2
    assert result.provider == EXTRACTIVE and result.degraded and not result.cached
    assert result.citations and result.usage == []
    for line in result.text.splitlines():
        sentence = re.fullmatch(r"«(.+)» \[(\d+)\]", line)
        assert sentence is not None
        assert sentence.group(1) in result.citations[int(sentence.group(2)) - 1].text  # verbatim
    assert "golden apples" in result.text
    assert await session.scalar(select(func.count()).select_from(LLMUsageRecord)) == 0


@pytest.mark.parametrize("db_kind", ["sqlite", "postgres"], indirect=True)
async def test_identical_question_is_answered_from_the_cache(
    session: AsyncSession,
    book_id: int,
    index: SearchIndex,
    openai_router: LLMRouter,
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.script(Answer("Someone stole the golden apples [1]."))
    service = AnswerService(index, openai_router)
    first = await service.answer(
        session, user_id=USER, question="Who stole the golden apples?", book_id=book_id
    )
    again = await service.answer(
        session, user_id=USER, question="  who STOLE the golden apples ", book_id=book_id
    )
    assert len(openai_server.requests) == 1
    assert not first.cached and again.cached and again.usage == []
    assert again.text == first.text and again.citations == first.citations
    # Another mode is another answer.
    await service.answer(
        session, user_id=USER, question="Who stole the golden apples?", book_id=book_id, mode="simple"
    )
    assert len(openai_server.requests) == 2


@pytest.mark.parametrize("db_kind", ["sqlite", "postgres"], indirect=True)
async def test_memory_survives_a_new_service_and_rewrites_follow_ups(
    session_factory: async_sessionmaker[AsyncSession],
    book_id: int,
    index: SearchIndex,
    openai_router: LLMRouter,
    openai_server: FakeOpenAIServer,
) -> None:
    async with session_factory() as session:
        await AnswerService(index, openai_router).answer(
            session, user_id=USER, question="Who helped Ivan on his journey?", book_id=book_id
        )
    openai_server.script(Answer("grey wolf carried Ivan"), Answer("He rode on the wolf [1]."))
    async with session_factory() as session:  # a new service and session: as after a restart
        result = await AnswerService(index, openai_router).answer(
            session, user_id=USER, question="What did he do next?", book_id=book_id
        )
    rewrite = openai_server.requests[1]
    assert "Who helped Ivan on his journey?" in (rewrite.last_user_text or "")
    assert "What did he do next?" in (rewrite.last_user_text or "")
    assert result.search_query == "grey wolf carried Ivan"
    answer_request = openai_server.requests[2]
    assert (
        "user",
        "Who helped Ivan on his journey?",
    ) in answer_request.messages  # the conversation goes along
    async with session_factory() as session:
        usage = (await session.scalars(select(LLMUsageRecord).order_by(LLMUsageRecord.id))).all()
    assert [r.purpose for r in usage] == ["answer", "rewrite", "answer"]

    async with session_factory() as session:
        offline = AnswerService(index, None)
        await offline.new_topic(session, USER, book_id)
        fresh = await offline.answer(session, user_id=USER, question="What did he do next?", book_id=book_id)
        assert fresh.search_query == "What did he do next?"  # /new: nothing to lean on
        followed = await offline.answer(
            session, user_id=USER, question="Who guarded the golden cage?", book_id=book_id
        )
        follow_up = await offline.answer(
            session, user_id=USER, question="Did they catch him?", book_id=book_id
        )
        assert followed.provider == EXTRACTIVE
        assert follow_up.search_query == "Did they catch him? guarded golden cage"
        turns = (await session.scalars(select(ChatTurn).where(ChatTurn.cleared.is_(False)))).all()
        assert len(turns) == 3


def test_follow_up_heuristics() -> None:
    assert looks_like_follow_up("What did he do next?")
    assert looks_like_follow_up("А что было потом с ней?")
    assert looks_like_follow_up("Why?")
    assert not looks_like_follow_up("Who stole the golden apples from Tsar Berendey?")
    assert heuristic_rewrite("Why did she leave?", "Where did Elena go after the wedding?") == (
        "Why did she leave? elena go wedding"
    )


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_no_llm_quotes_mode_other_users_and_no_match(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], book_id: int, index: SearchIndex
) -> None:
    service = AnswerService(index, None)
    quotes = await service.answer(
        session, user_id=USER, question="grey wolf horse", book_id=book_id, mode="quotes"
    )
    assert quotes.text == "" and quotes.citations[0].page == 5 and quotes.provider == "search"
    # Another user sees nothing of this book, even asking for it by id.
    other = await service.answer(session, user_id=202, question="grey wolf horse", book_id=book_id)
    assert not other.found and other.citations == []
    shelf = await service.answer(session, user_id=USER, question="Elena the Beautiful", book_id=None)
    assert shelf.found and shelf.citations[0].book_id == book_id
    as_json = shelf.as_json()  # what `librarity ask --json` prints
    assert as_json["provider"] == EXTRACTIVE and as_json["answer"] == shelf.text
    first = as_json["citations"][0]
    assert set(first) == {"book_id", "chunk_id", "page", "chapter", "text", "score", "percent"}
    assert first["text"] in {text for _chapter, _page, text in FIREBIRD}  # the passage exactly as stored
    more = await service.expand(session, user_id=USER, turn_id=quotes.turn_id or 0)
    assert more is not None and more.mode == "quotes"
    assert {c.chunk_id for c in more.citations}.isdisjoint({c.chunk_id for c in quotes.citations})
    assert await service.expand(session, user_id=202, turn_id=quotes.turn_id or 0) is None


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_more_detail_keeps_the_conversation_that_led_to_the_answer(
    session: AsyncSession,
    book_id: int,
    index: SearchIndex,
    openai_router: LLMRouter,
    openai_server: FakeOpenAIServer,
) -> None:
    service = AnswerService(index, openai_router)
    first = "Who kept watch in the Tsar's garden?"
    await service.answer(session, user_id=USER, question=first, book_id=book_id)
    second = await service.answer(session, user_id=USER, question="What did Ivan see there?", book_id=book_id)
    later = "Who helped Ivan win Elena?"
    await service.answer(session, user_id=USER, question=later, book_id=book_id)

    more = await service.expand(session, user_id=USER, turn_id=second.turn_id or 0)
    assert more is not None and more.provider == "openai"
    sent = [text for role, text in openai_server.requests[-1].messages if role == "user"]
    assert any(first in text for text in sent), "the question before it is in the conversation"
    assert not any(later in text for text in sent), "questions asked after it are not"
