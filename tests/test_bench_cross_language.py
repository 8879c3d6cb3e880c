"""The retrieval benchmark's cross-language rows on a few xquad questions: the stand-in translator (a
local OpenAI-compatible server answering with the parallel question) runs the bot's own search path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bench.retrieval import DEFAULT_DATA, Options, run_benchmark

XQUAD = DEFAULT_DATA / "xquad"


@pytest.mark.slow
@pytest.mark.skipif(not (XQUAD / "xquad.ru.json").exists(), reason="needs the shared xquad data")
async def test_cross_language_rows_with_and_without_the_stand_in_translator(tmp_path: Path) -> None:
    options = Options(
        data=DEFAULT_DATA, sets=["xquad"], limit=6, extractive=False, out=tmp_path, baselines=False
    )
    result = await run_benchmark(options)
    rows = {row["run"]: row["hybrid"] for row in result["rows"]}
    for there in ("ru→en", "en→ru"):
        plain = rows[f"xquad {there} one shelf"]
        llm = rows[f"xquad {there} one shelf, LLM translator"]
        words = rows[f"xquad {there} one shelf, no LLM: word list"]
        assert plain["n"] == llm["n"] == words["n"] == 6
        # The parallel question is the right question in the shelf's language.
        assert llm["recall@5"] >= 5 / 6 and llm["recall@5"] >= plain["recall@5"]
        assert llm["mrr@10"] > plain["mrr@10"]
