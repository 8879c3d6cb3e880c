"""Conversations and cached answers at rest: encrypted with Fernet, old plain rows still read, keys rotate,
and a bot with a token but no key does not start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import SettingsError, encryption_keys
from db import encryption
from db.models import AnswerCacheEntry, ChatTurn

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def plain_afterwards() -> Iterator[None]:
    yield
    encryption.configure(None)


def test_a_token_without_a_key_does_not_start(make_settings: Any) -> None:
    with pytest.raises(SettingsError, match="DATA_ENCRYPTION_KEY is required") as error:
        make_settings(bot_token="123456:TEST")
    assert "\n" not in str(error.value)
    with pytest.raises(SettingsError, match="DATA_ENCRYPTION_KEY is invalid: key 2"):
        make_settings(bot_token="123456:TEST", data_encryption_key=f"{NEW},not-a-key")
    settings = make_settings(bot_token="123456:TEST", data_encryption_key=f" {NEW} , {OLD} ")
    assert encryption_keys(settings) == [NEW, OLD]


def test_the_sandbox_makes_its_own_key_once(make_settings: Any, data_dir: Path) -> None:
    settings = make_settings()
    first = encryption_keys(settings)
    assert (data_dir / encryption.KEY_FILE).exists()
    assert encryption_keys(settings) == first and len(first) == 1
    assert (data_dir / encryption.KEY_FILE).stat().st_mode & 0o077 == 0


async def test_rows_are_ciphertext_at_rest_and_old_plain_rows_still_read(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        # A row from before encryption was on.
        session.add(
            ChatTurn(
                user_id=1, question="old question", search_query="old", answer="old answer", provider="x"
            )
        )
        await session.commit()
        encryption.configure([OLD])
        session.add(
            ChatTurn(
                user_id=1,
                question="Кто такой Пугачёв?",
                search_query="Пугачёв",
                answer="Бунтовщик.",
                provider="x",
            )
        )
        session.add(
            AnswerCacheEntry(
                key="k" * 64, user_id=1, mode="answer", question="q?", answer="cached secret", provider="x"
            )
        )
        await session.commit()
    async with session_factory() as session:
        raw = (
            await session.execute(text("SELECT question, search_query, answer FROM chat_turns ORDER BY id"))
        ).all()
        assert tuple(raw[0]) == ("old question", "old", "old answer")
        assert all(value.startswith(encryption.PREFIX) for value in raw[1])
        assert "Пугачёв" not in str(raw[1]) and "Бунтовщик" not in str(raw[1])
        cached = await session.scalar(text("SELECT answer FROM answer_cache"))
        assert cached.startswith(encryption.PREFIX) and "secret" not in cached
    # Rotation: a new key first, the old one still opens what it wrote.
    encryption.configure([NEW, OLD])
    async with session_factory() as session:
        turns = (await session.scalars(select(ChatTurn).order_by(ChatTurn.id))).all()
        assert [t.question for t in turns] == ["old question", "Кто такой Пугачёв?"]
        assert turns[1].answer == "Бунтовщик."
        assert await session.scalar(select(AnswerCacheEntry.answer)) == "cached secret"
    # Without the key that wrote it, a row does not open (and says why, not garbage).
    encryption.configure([NEW])
    async with session_factory() as session:
        with pytest.raises(encryption.EncryptionKeyError, match="does not open"):
            (await session.scalars(select(ChatTurn).order_by(ChatTurn.id))).all()
