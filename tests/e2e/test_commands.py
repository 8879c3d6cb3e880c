"""Commands that messages point users to answer in the sandbox."""

from __future__ import annotations

from tests.e2e.client import UserClient, buttons_of


async def test_plans_shows_the_plans_and_packs_like_buy(user: UserClient) -> None:
    await user.ask("/start")
    plans = await user.ask("/plans")
    buy = await user.ask("/buy")
    assert plans["text"] == buy["text"]
    assert [b["text"] for b in buttons_of(plans)] == [b["text"] for b in buttons_of(buy)]
    assert any("buy:stars:" in str(b.get("callback_data")) for b in buttons_of(plans))
