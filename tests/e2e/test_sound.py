"""Voice messages and sound or video files: a clear word, no download and no failed book on the shelf."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import Book
from tests.e2e.client import SandboxHarness, UserClient, text_of

OGG = b"OggS\x00\x02" + b"\x00" * 200  # the first bytes of an Ogg/Opus voice recording


async def books_of(sandbox_bot: SandboxHarness, user_id: int) -> int:
    ctx = sandbox_bot.running.dispatcher["ctx"]
    async with ctx.session_factory() as session:
        return int(
            await session.scalar(select(func.count()).select_from(Book).where(Book.user_id == user_id)) or 0
        )


async def test_voice_and_sound_files_are_answered_and_never_become_books(
    sandbox_bot: SandboxHarness, user: UserClient
) -> None:
    await user.ask("/start")
    voice = await user.send_document(OGG, filename="voice.ogg", sent_as="voice")
    # /start's welcome gift may still come after the voice message: wait for the reply about the voice.
    said = await user.wait_reply(int(voice["message_id"]), contains="voice messages")
    assert "voice messages" in text_of(said) and "type your question" in text_of(said)

    for sent_as, name in (("audio", "song.mp3"), ("document", "talk.mp3"), ("document", "clip.mp4")):
        sent = await user.send_document(b"ID3" + b"\x00" * 100, filename=name, sent_as=sent_as)
        reply = await user.wait_reply(int(sent["message_id"]), contains="not a book")
        assert "not a book" in text_of(reply), (sent_as, name, text_of(reply))

    assert await user.control.calls("getFile") == [], "nothing was downloaded"
    assert await books_of(sandbox_bot, user.user_id) == 0, "no failed book on the shelf"
