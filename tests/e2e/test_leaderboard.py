"""The opt-in leaderboard through the sandbox: off by default, joined from /settings under a typed name
(checked and escaped, never the Telegram name), ranked by the scheduled recount, shown by /top, left at
once, exported and erased with the user's data; in English and Russian."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import AppContext
from db.models import ChatTurn, LeaderboardEntry
from handlers.privacy import PrivacyCb
from services.privacy.export import JSON_NAME
from tests.e2e.client import Message, SandboxHarness, UserClient, buttons_of, text_of
from tests.e2e.test_chat import upload_book

HOUR = timedelta(hours=1)


def ctx_of(sandbox: SandboxHarness) -> AppContext:
    ctx: AppContext = sandbox.running.dispatcher["ctx"]
    return ctx


async def _board_screen(user: UserClient, marker: str) -> Message:
    menu = await user.ask("/settings", contains="⚙️")
    await user.tap_button(menu, "🏆")
    return await user.wait_edit(int(menu["message_id"]), lambda m: marker in text_of(m))


async def _join(user: UserClient, screen: Message, button: str, prompt: str) -> None:
    await user.tap_button(screen, button)
    await user.wait_edit(int(screen["message_id"]), lambda m: prompt in text_of(m))


async def _lines(ctx: AppContext) -> dict[int, LeaderboardEntry]:
    async with ctx.session_factory() as session:
        return {e.user_id: e for e in await session.scalars(select(LeaderboardEntry))}


async def test_join_recount_top_leave_export_and_delete(sandbox_bot: SandboxHarness) -> None:
    ctx = ctx_of(sandbox_bot)
    ann = sandbox_bot.user(first_name="Annabel Secret")
    boris = sandbox_bot.user(language_code="ru", first_name="Борис Тайный")
    await upload_book(ann)
    for _ in range(2):
        await ann.ask("Who is the Firebird?", timeout=60)
    await boris.ask("/start")

    top = await ann.ask("/top", contains="Readers' leaderboard")
    assert "Nobody is on the board yet" in text_of(top) and "not on the board" in text_of(top)
    settings = await ann.ask("/settings", contains="Settings")
    assert "Not on the leaderboard" in text_of(settings)
    assert any(b["text"] == "🏆 Leaderboard: off" for b in buttons_of(settings))

    screen = await _board_screen(ann, "You are not on it")
    await _join(ann, screen, "Join", "Type the name to show")
    assert "No links" in text_of(await ann.ask("@annabel"))
    assert "2 to 24 characters" in text_of(await ann.ask("A"))
    joined = await ann.ask("<i>Ann</i>   the reader")
    assert "You are on the leaderboard as <i>Ann</i> the reader" in text_of(joined), text_of(joined)
    assert joined.get("entities") and all(e["type"] != "italic" for e in joined["entities"])  # escaped
    reply = await ann.ask("Who is the Firebird?", timeout=60)  # text is a question again, not a name
    assert "leaderboard" not in text_of(reply)
    pending = await ann.ask("/top", contains="Readers' leaderboard")
    assert "you will appear after the next hourly recount" in text_of(pending)

    # A command instead of a name ends the asking: the text after it is a question, not a public name.
    screen = await _board_screen(boris, "Вас в нём нет")
    await _join(boris, screen, "Участвовать", "Напишите имя")
    await boris.ask("/stats", contains="Ваше чтение")
    await boris.ask("Жар-птица")
    assert set(await _lines(ctx)) == {ann.user_id}

    screen = await _board_screen(boris, "Вас в нём нет")
    await _join(boris, screen, "Участвовать", "Напишите имя")
    assert "уже занято" in text_of(await boris.ask("<I>ANN</I> THE READER"))  # Ann's name, another case
    await boris.ask("Борис", contains="Вы в рейтинге под именем Борис")

    # The next hour's recount (this hour's ran at start-up, when nobody had joined).
    now = ctx.services["clock"].now()
    async with ctx.session_factory() as session:
        asked = await session.scalar(
            select(func.count()).select_from(ChatTurn).where(ChatTurn.user_id == ann.user_id)
        )
    assert asked and asked >= 2
    outcome = await ctx.services["jobs"].run("leaderboard", now=now + HOUR)
    assert outcome.result == {"ranked": 2, "hidden": 0}, outcome
    top = text_of(await ann.ask("/top", contains="Readers' leaderboard"))
    assert f"1. <i>Ann</i> the reader — 🔥 1 · 💬 {asked} · 📚 1" in top, top
    assert "2. Борис — 🔥 0 · 💬 0 · 📚 0" in top and "You are #1 of 2" in top, top
    assert "Secret" not in top and "Тайный" not in top  # Telegram names never appear
    ru_top = text_of(await boris.ask("/top", contains="Рейтинг читателей"))
    assert "Вы на 2-м месте из 2" in ru_top, ru_top

    exported = await ann.ask("/export")
    with zipfile.ZipFile(io.BytesIO(await ann.download(exported))) as archive:
        data = json.loads(archive.read(JSON_NAME))
    assert data["leaderboard"]["display_name"] == "<i>Ann</i> the reader" and data["leaderboard"]["rank"] == 1

    # Boris leaves: his line is gone from /top at once, before any recount.
    screen = await _board_screen(boris, "Вы в нём под именем")
    await boris.tap_button(screen, "Выйти")
    await boris.wait_edit(int(screen["message_id"]), lambda m: "Вас в нём нет" in text_of(m))
    top = text_of(await ann.ask("/top", contains="Readers' leaderboard"))
    assert "Борис" not in top and "1. <i>Ann</i>" in top
    assert set(await _lines(ctx)) == {ann.user_id}

    # Ann erases her data: her line goes with it.
    confirm = await ann.ask("/delete_me")
    await ann.tap(int(confirm["message_id"]), PrivacyCb(action="delete").pack())
    await ann.wait_edit(int(confirm["message_id"]), lambda m: "is deleted" in text_of(m))
    assert await _lines(ctx) == {}
    await ctx.services["jobs"].run("leaderboard", now=now + 2 * HOUR)
    assert await _lines(ctx) == {}
