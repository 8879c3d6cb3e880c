"""Cross-language questions: QueryTranslator with the real openai SDK against a fake OpenAI-compatible
server that translates a fixed list of questions, and CrossLanguageSearch over a real index of an English
book with the books' languages read from SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.bench.translator import ParallelTranslations, StandIn
from bot.settings import Settings
from services.chat import AnswerService
from services.llm import LLMRouter, build_router
from services.search.index import Hit, SearchIndex
from services.search.translate import (
    CrossLanguageSearch,
    QueryTranslator,
    book_languages,
    fuse_hits,
    language_code,
    question_language,
)
from services.search.wordlist import gloss
from tests.chat_fixtures import USER
from tests.chat_helpers import FIREBIRD, seed_book
from tests.fakes.llm_server import Answer, Fail, Hang
from tests.fakes.translating_server import TranslatingOpenAIServer

pytest_plugins = ["tests.chat_fixtures"]
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")

WHO_ATE = "Кто съел коня Ивана на перекрёстке?"
STOLEN = "Что крали каждую ночь?"
TRANSLATIONS = {
    WHO_ATE: "Who ate Ivan's horse at the crossroads?",
    STOLEN: "What was stolen every night?",
    "Что оставила жар-птица в руке?": "What did the Firebird leave in his hand?",
    "Who stole the apples?": "Кто крал яблоки?",
}
WOLF = FIREBIRD[2][2]  # "... At a crossroads a grey wolf ate his horse ..."
GARDEN = FIREBIRD[0][2]  # "... Every night someone stole the apples ..."


@pytest.fixture
async def server() -> AsyncIterator[TranslatingOpenAIServer]:
    async with TranslatingOpenAIServer(TRANSLATIONS, api_key="sk-test") as running:
        yield running


@pytest.fixture
def router(make_settings: Callable[..., Settings], server: TranslatingOpenAIServer) -> LLMRouter:
    settings = make_settings(
        openai_api_key="sk-test",
        openai_base_url=server.base_url,
        llm_order="openai",
        llm_retries=0,
        llm_timeout_seconds=5,
    )
    built = build_router(settings)
    assert built is not None
    return built


def test_languages_of_questions_and_books() -> None:
    assert question_language(WHO_ATE) == "ru"
    assert question_language("Who ate the horse? (Иван)") == "en"
    assert question_language("1984?") is None
    assert [language_code(v) for v in ("en-US", "eng", "RU", "rus", "ru_RU", None, "")] == [
        "en",
        "en",
        "ru",
        "ru",
        "ru",
        None,
        None,
    ]


async def test_translation_is_one_call_cached_per_question(
    server: TranslatingOpenAIServer, router: LLMRouter
) -> None:
    translator = QueryTranslator(router)
    assert await translator.translate(WHO_ATE, "en") == TRANSLATIONS[WHO_ATE]
    assert (
        await translator.translate("  кто съел коня Ивана   на перекрёстке? ", "en") == TRANSLATIONS[WHO_ATE]
    )
    assert len(server.requests) == 1 and server.translated == [WHO_ATE]
    request = server.requests[0]
    assert "into English" in (request.system or "") and request.temperature == 0.0
    assert await translator.translate("Who stole the apples?", "ru") == "Кто крал яблоки?"
    # Already in the books' language: no call at all.
    assert await translator.translate("Who stole the apples?", "en") is None
    assert len(server.requests) == 2
    await router.aclose()


async def test_translation_falls_back_silently(server: TranslatingOpenAIServer, router: LLMRouter) -> None:
    assert await QueryTranslator(None).translate(WHO_ATE, "en") is None
    translator = QueryTranslator(router, timeout=0.5)
    server.script(Fail(500))
    assert await translator.translate(WHO_ATE, "en") is None
    server.script(Hang(10))
    assert await translator.translate(WHO_ATE, "en") is None  # its own short timeout
    server.script(Answer("Кто съел коня?"))  # "translated" into the wrong language
    assert await translator.translate(WHO_ATE, "en") is None
    server.script(Answer("   \n"))
    assert await translator.translate(WHO_ATE, "en") is None
    # Failures are not cached: the next time it works.
    assert await translator.translate(WHO_ATE, "en") == TRANSLATIONS[WHO_ATE]
    assert len(server.translated) == 5
    await router.aclose()


@pytest.mark.parametrize("db_kind", ["sqlite", "postgres"], indirect=True)
async def test_russian_question_finds_the_english_passage(
    session_factory: async_sessionmaker[AsyncSession],
    index: SearchIndex,
    server: TranslatingOpenAIServer,
    router: LLMRouter,
) -> None:
    book_id = await seed_book(session_factory, index, user_id=USER)
    search = CrossLanguageSearch(index, QueryTranslator(router), book_languages(session_factory))
    service = AnswerService(search, router)

    # No name to transliterate: as asked, the Russian words match nothing of the English book.
    as_asked = await AnswerService(index, None).retrieve(USER, STOLEN, book_id=None, k=3)
    assert GARDEN not in [c.text for c in as_asked]
    found = await service.retrieve(USER, STOLEN, book_id=None, k=3)
    assert found[0].text == GARDEN and found[0].book_id == book_id
    found = await service.retrieve(USER, WHO_ATE, book_id=None, k=3)
    assert found[0].text == WOLF
    assert server.translated == [STOLEN, WHO_ATE]
    one_book = await service.retrieve(USER, "Что оставила жар-птица в руке?", book_id=book_id, k=3)
    assert "golden feather" in one_book[0].text

    # Inline queries (translate=False): no call to the model, however new the text.
    asked = len(server.requests)
    await service.retrieve(USER, "Кто украл коня?", book_id=None, k=3, translate=False)
    assert len(server.requests) == asked

    # An English question over the English book: no translation asked for.
    english = await service.retrieve(USER, "Who ate the horse?", book_id=book_id, k=3)
    assert english[0].text == WOLF and len(server.requests) == asked

    # Another user's shelf has no books: no languages, no call, nothing found.
    assert await service.retrieve(USER + 1, "Кто крал яблоки?", book_id=None, k=3) == []
    assert len(server.requests) == asked

    # The model down: the question is searched as asked, no error reaches the reader.
    server.script(Fail(503))
    fallback = await search.search(USER, "Кто крал золотые яблоки?", book_ids=[book_id], k=3)
    assert fallback and len(server.translated) == 4
    # The wrapper is the index for everything else.
    assert await search.count(USER, book_id) == len(FIREBIRD)
    await router.aclose()


def hit(book: int, seq: int, start: int, end: int) -> Hit:
    return Hit(book, seq, "x" * (end - start), None, None, 0.0, 1.0, start, end)


def test_fusion_ranks_agreement_first_drops_overlaps_and_keeps_the_budget() -> None:
    original = [hit(1, 0, 0, 100), hit(1, 5, 500, 700), hit(2, 3, 0, 50)]
    translated = [hit(1, 5, 500, 700), hit(1, 6, 650, 800), hit(1, 9, 900, 1000)]
    fused = fuse_hits([original, translated], [0.5, 1.0], k=10)
    keys = [(h.book_id, h.seq) for h in fused]
    assert keys[0] == (1, 5)  # in both rankings
    assert (1, 6) not in keys  # overlaps (1, 5)'s characters
    assert set(keys) == {(1, 5), (1, 0), (2, 3), (1, 9)}
    assert fused[0].score > fused[1].score
    assert len(fuse_hits([original, translated], [0.5, 1.0], k=2)) == 2
    budgeted = fuse_hits([original, translated], [0.5, 1.0], k=10, budget=260)
    assert sum(len(h.text) for h in budgeted) <= 260 and budgeted[0].seq == 5
    # The first passage is always kept, even over the budget.
    assert [h.seq for h in fuse_hits([translated], [1.0], k=10, budget=10)] == [5]


async def test_benchmark_stand_in_answers_with_the_parallel_question(tmp_path: Path) -> None:
    stand_in = await StandIn.start({WHO_ATE: TRANSLATIONS[WHO_ATE]})
    try:
        assert await stand_in.translator.translate(WHO_ATE, "en") == TRANSLATIONS[WHO_ATE]
        assert await stand_in.translator.translate("Кто это?", "en") is None  # unknown: echoed, refused
        assert stand_in.server.requests == 2
    finally:
        await stand_in.close()
    noisy = ParallelTranslations({"раз два три": "one two three"}, noise=0.34)
    assert noisy.translation("раз два три") == "one two три"


def test_word_list_glosses_known_words_numbers_and_names() -> None:
    assert (
        gloss("Сколько людей жило в городе Денвер в 1990 году?", "en") == "many people city denver 1990 year"
    )
    assert gloss("How many people lived in the city in 1990?", "ru") == "сколько люди жить город 1990"
    assert gloss("Кто это?", "en") is None  # fewer than two known words: no gloss
    assert gloss("Где дом?", "de") is None


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_without_an_llm_the_word_list_is_searched_beside_the_question(
    session_factory: async_sessionmaker[AsyncSession], index: SearchIndex
) -> None:
    await seed_book(session_factory, index, user_id=USER)
    question = "Где сад с золотыми яблоками?"  # the list knows сад, золотой, яблоко
    as_asked = await index.search(USER, question, k=3)
    with_words = CrossLanguageSearch(index, QueryTranslator(None), book_languages(session_factory))
    found = await with_words.search(USER, question, k=3)
    assert found[0].text == GARDEN and as_asked[0].text != GARDEN
    off = CrossLanguageSearch(index, QueryTranslator(None), book_languages(session_factory), word_list=False)
    assert [h.text for h in await off.search(USER, question, k=3)] == [
        h.text for h in await index.search(USER, question, k=3)
    ]
