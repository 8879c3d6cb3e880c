"""A sandbox chat keeps its newest messages only, so a long-running sandbox does not grow per question."""

from __future__ import annotations

from bot.sandbox.models import KEEP_MESSAGES, Chat, SandboxUser


def test_a_chat_keeps_its_newest_messages() -> None:
    chat = Chat(user=SandboxUser(id=1, first_name="Ann"))
    for n in range(KEEP_MESSAGES + 50):
        chat.add({"text": f"message {n}"}, outgoing=n % 2 == 1)
    assert len(chat.messages) == KEEP_MESSAGES
    ids = list(chat.messages)
    assert ids[0] == 51 and ids[-1] == KEEP_MESSAGES + 50  # the oldest went, ids go on
    assert chat.messages[ids[-1]].data["text"] == f"message {KEEP_MESSAGES + 49}"
