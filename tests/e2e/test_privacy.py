"""The user's own data through the sandbox: /privacy, /export's zip and /delete_me, in English and Russian."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from sqlalchemy import func, select

from bot.app import AppContext
from db.models import Achievement, Book, ChatTurn, Payment, User
from handlers.privacy import PrivacyCb
from services.privacy.export import JSON_NAME
from tests.admin_helpers import add_book, add_payment
from tests.e2e.client import SandboxHarness, UserClient, text_of


def ctx_of(sandbox: SandboxHarness) -> AppContext:
    ctx: AppContext = sandbox.running.dispatcher["ctx"]
    return ctx


async def _seed(ctx: AppContext, user: UserClient) -> int:
    book = await add_book(ctx.session_factory, user.user_id, title="Капитанская дочка")
    await add_payment(ctx.session_factory, user.user_id)
    async with ctx.session_factory() as session:
        session.add(
            ChatTurn(
                user_id=user.user_id,
                book_id=book,
                question="Who is Pugachev?",
                search_query="Pugachev",
                answer="A rebel.",
                citations=[],
                provider="x",
            )
        )
        await session.commit()
    return book


async def _count(ctx: AppContext, model: Any, user_id: int) -> int:
    async with ctx.session_factory() as session:
        return int(
            await session.scalar(select(func.count()).select_from(model).where(model.user_id == user_id)) or 0
        )


async def test_privacy_export_and_delete_me(sandbox_bot: SandboxHarness) -> None:
    ctx = ctx_of(sandbox_bot)
    user = sandbox_bot.user(first_name="Vera")
    other = sandbox_bot.user(first_name="Olga")
    await user.ask("/start")
    await other.ask("/start")
    await _seed(ctx, user)
    other_book = await add_book(ctx.session_factory, other.user_id, title="Olga's book")

    privacy = await user.ask("/privacy")
    assert "/export" in text_of(privacy) and "/delete_me" in text_of(privacy)
    await user.ask("/stats", contains="first book")  # a milestone to export and erase

    exported = await user.ask("/export")
    assert exported.get("document", {}).get("file_name", "").endswith(".zip"), exported
    with zipfile.ZipFile(io.BytesIO(await user.download(exported))) as archive:
        data = json.loads(archive.read(JSON_NAME).decode())
    assert data["profile"]["id"] == user.user_id and data["profile"]["first_name"] == "Vera"
    assert [b["title"] for b in data["books"]] == ["Капитанская дочка"]
    assert [t["question"] for t in data["conversations"]] == ["Who is Pugachev?"]
    assert len(data["payments"]) == 1 and "Olga" not in json.dumps(data)
    assert [m["code"] for m in data["reading"]["milestones"]] == ["first_book", "first_question"]

    # Saying no keeps everything.
    confirm = await user.ask("/delete_me")
    assert "cannot be undone" in text_of(confirm)
    await user.tap(int(confirm["message_id"]), PrivacyCb(action="keep").pack())
    await user.wait_edit(int(confirm["message_id"]), lambda m: "Nothing was deleted" in text_of(m))
    assert await _count(ctx, Book, user.user_id) == 1

    confirm = await user.ask("/delete_me")
    await user.tap(int(confirm["message_id"]), PrivacyCb(action="delete").pack())
    done = await user.wait_edit(int(confirm["message_id"]), lambda m: "is deleted" in text_of(m))
    assert "1 book" in text_of(done) and "1 question and answer" in text_of(done)
    assert await _count(ctx, Book, user.user_id) == 0
    assert await _count(ctx, ChatTurn, user.user_id) == 0
    assert await _count(ctx, Achievement, user.user_id) == 0
    assert await _count(ctx, Payment, user.user_id) == 1  # kept for the accounts, under the id only
    async with ctx.session_factory() as session:
        profile = await session.get(User, user.user_id, populate_existing=True)
        assert profile is not None and profile.first_name is None
        assert await session.get(Book, other_book) is not None


async def test_privacy_in_russian(sandbox_bot: SandboxHarness) -> None:
    user = sandbox_bot.user(language_code="ru")
    await user.ask("/start")
    privacy = await user.ask("/privacy")
    assert "Ваши данные" in text_of(privacy)
    confirm = await user.ask("/delete_me")
    assert "Удалить ваши данные?" in text_of(confirm)
    await user.tap(int(confirm["message_id"]), PrivacyCb(action="delete").pack())
    done = await user.wait_edit(int(confirm["message_id"]), lambda m: "удалены" in text_of(m))
    assert "0 книг" in text_of(done)
    exported = await user.ask("/export")
    assert exported.get("document", {}).get("file_name", "").endswith(".zip"), exported
