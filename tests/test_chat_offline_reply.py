"""The reply without an LLM: sentences that follow one another in a paragraph of the book are one quote
(an answer that runs over two sentences reads whole), a new paragraph or another place a new quote."""

from __future__ import annotations

from services.chat.offline import extractive_reply
from services.chat.types import Citation

TOWER = (
    "The queen hid the key under the old oak by the tower. It was the only key that opened the tower door. "
    "Nobody saw her do it.\n\n"
    "The next morning the queen went back to the tower and found the key gone."
)
MILL = "The miller never went near the tower. He kept to his mill by the river, grinding corn for the queen."


async def test_sentences_that_follow_one_another_are_one_quote_and_paragraphs_stay_apart() -> None:
    passages = [Citation(1, 10, 3, "The Tower", TOWER, 1.0), Citation(1, 20, 5, "The Mill", MILL, 0.5)]
    reply = await extractive_reply("Where did the queen hide the key of the tower?", passages)
    lines = reply.text.split("\n")
    assert all(line.startswith("«") and line.endswith(("» [1]", "» [2]")) for line in lines)
    first = next(line for line in lines if "under the old oak" in line)
    assert "under the old oak by the tower. It was the only key that opened the tower door." in first
    assert first.endswith("» [1]")
    assert not any("old oak" in line and "next morning" in line for line in lines)
    assert not any("tower door" in line and "miller" in line for line in lines)
    assert reply.citations[0] == passages[0]
    quoted = "".join(line.rsplit("» [", 1)[0].lstrip("«") for line in lines)
    assert len(quoted) <= 600
