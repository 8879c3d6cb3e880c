"""Observability of the bot through the sandbox: /metrics over real HTTP moves with updates, and JSON log
lines written while an update is handled carry its update_id and user_id."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import structlog

from bot.observability import setup_logging
from tests.e2e.client import SandboxHarness


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == wanted:
            return float(value)
    return 0.0


async def _metrics(sandbox_bot: SandboxHarness) -> str:
    async with sandbox_bot.session.get(f"{sandbox_bot.base_url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return await response.text()


async def test_metrics_count_updates_over_http(sandbox_bot: SandboxHarness) -> None:
    before = await _metrics(sandbox_bot)
    handled = _sample(before, "librarity_updates_total", outcome="handled", type="message")
    timed = _sample(before, "librarity_update_seconds_count", type="message")

    user = sandbox_bot.user()
    await user.ask("/start")
    await user.ask("/help")

    # The update is counted once its handler returns, just after the reply went out: wait for that.
    for _ in range(100):
        after = await _metrics(sandbox_bot)
        if _sample(after, "librarity_update_seconds_count", type="message") >= timed + 2:
            break
        await asyncio.sleep(0.05)
    assert _sample(after, "librarity_updates_total", outcome="handled", type="message") >= handled + 2
    assert _sample(after, "librarity_update_seconds_count", type="message") >= timed + 2
    assert "librarity_llm_calls_total" in after and "librarity_queue_depth" in after
    assert "process_resident_memory_bytes" in after


async def test_json_log_lines_carry_update_and_user(sandbox_bot: SandboxHarness) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = setup_logging("INFO", "json", stream=stream)
    access = logging.getLogger("bot.middlewares.observability")
    access.setLevel(logging.DEBUG)
    try:
        user = sandbox_bot.user()
        await user.ask("/start")
        for _ in range(100):  # the line is written once the handler returns, just after the reply
            if f'"user_id": {user.user_id}' in stream.getvalue():
                break
            await asyncio.sleep(0.05)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        access.setLevel(logging.NOTSET)
        structlog.reset_defaults()
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    mine = [line for line in lines if line.get("user_id") == user.user_id]
    assert mine, stream.getvalue()[-2000:]
    line = mine[0]
    assert isinstance(line["update_id"], int)
    assert line["event"].startswith("update message handled")
    assert {"timestamp", "level", "logger"} <= line.keys()


async def test_a_stars_payment_and_its_redelivery_in_the_metrics(sandbox_bot: SandboxHarness) -> None:
    labels = {"provider": "stars"}
    before = await _metrics(sandbox_bot)
    credited = _sample(before, "librarity_payments_total", outcome="credited", **labels)
    duplicate = _sample(before, "librarity_payments_total", outcome="duplicate", **labels)
    stars = _sample(before, "librarity_payment_amount_total", currency="XTR", **labels)

    user = sandbox_bot.user()
    await user.ask("/start")
    menu = await user.ask("/buy", contains="Credit packs")
    await user.tap_button(menu, "100 credits · 50")
    invoice = await user.wait_for(
        lambda messages: next((m for m in messages if m.get("invoice")), None), after=int(menu["message_id"])
    )
    assert (await user.pay(int(invoice["message_id"])))["status"] == "paid"
    await user.wait_reply(int(invoice["message_id"]), contains="100 credits added")
    await user.redeliver(last="successful_payment")
    await user.ask("/balance", contains="credits")  # the redelivered update has been handled by now

    after = await _metrics(sandbox_bot)
    assert _sample(after, "librarity_payments_total", outcome="credited", **labels) == credited + 1
    assert _sample(after, "librarity_payments_total", outcome="duplicate", **labels) == duplicate + 1
    assert _sample(after, "librarity_payment_amount_total", currency="XTR", **labels) == stars + 50


async def test_a_book_read_counts_its_pages(sandbox_bot: SandboxHarness) -> None:
    from tests.extract_factories import make_pdf

    before = await _metrics(sandbox_bot)
    ready = _sample(before, "librarity_books_total", outcome="ready")
    pages = _sample(before, "librarity_ingested_pages_total")
    timed = _sample(before, "librarity_ingestion_pages_per_second_count")
    sent_tasks = _sample(before, "librarity_tasks_sent_total", task="books.read")

    text = "The lighthouse keeper counted the ships that passed in the night, and wrote the weather down."
    pdf = make_pdf([f"Page {n}. {text}" for n in range(1, 5)], title="The Keeper")
    user = sandbox_bot.user()
    await user.ask("/start")
    await user.send_document(pdf, filename="keeper.pdf")
    for _ in range(600):  # the book is read in the background: wait until it is counted
        after = await _metrics(sandbox_bot)
        if _sample(after, "librarity_books_total", outcome="ready") > ready:
            break
        await asyncio.sleep(0.1)
    assert _sample(after, "librarity_books_total", outcome="ready") == ready + 1
    assert _sample(after, "librarity_ingested_pages_total") == pages + 4
    assert _sample(after, "librarity_ingestion_pages_per_second_count") == timed + 1
    assert _sample(after, "librarity_tasks_sent_total", task="books.read") >= sent_tasks + 1
