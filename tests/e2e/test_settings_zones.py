"""/settings takes any IANA time zone typed by name (in any case, or a city in it), offers the zone the
user's language suggests first, and answers an unknown name clearly with the choice again."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey

from db.models import User
from handlers.chat_ui import ChatStates
from tests.e2e.client import Message, SandboxHarness, UserClient, buttons_of, text_of


async def _zones_screen(user: UserClient, marker: str) -> Message:
    menu = await user.ask("/settings", contains="⚙️")
    await user.tap_button(menu, "🌍")
    return await user.wait_edit(int(menu["message_id"]), lambda m: marker in text_of(m))


async def _stored_zone(sandbox_bot: SandboxHarness, user_id: int) -> str | None:
    async with sandbox_bot.running.dispatcher["ctx"].session_factory() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.timezone


def _state(sandbox_bot: SandboxHarness, user_id: int) -> FSMContext:
    running = sandbox_bot.running
    key = StorageKey(bot_id=running.bot.id, chat_id=user_id, user_id=user_id)
    return FSMContext(running.dispatcher.storage, key)


async def test_a_typed_zone_name_is_taken_and_an_unknown_one_is_asked_again(
    sandbox_bot: SandboxHarness,
) -> None:
    user = sandbox_bot.user(language_code="ru")
    await user.ask("/start")
    zones = await _zones_screen(user, "Ваш часовой пояс сейчас")
    labels = [b["text"] for b in buttons_of(zones)]
    assert labels[0] == "✅ 📍 Europe/Moscow", labels  # the language's zone first, and it is the current one
    assert "Asia/Vladivostok" in labels and len(labels) == 14  # 13 common zones and Back

    unknown = await user.ask("Марс/Олимп")
    assert "Не знаю часового пояса «Марс/Олимп»" in text_of(unknown)
    assert "Ваш часовой пояс сейчас Europe/Moscow" in text_of(unknown), "the prompt again"
    assert [b["text"] for b in buttons_of(unknown)] == labels
    assert await _stored_zone(sandbox_bot, user.user_id) is None

    saved = await user.ask("asia/tokyo")
    assert "✅ Часовой пояс: Asia/Tokyo" in text_of(saved) and "Настройки" in text_of(saved)
    assert await _stored_zone(sandbox_bot, user.user_id) == "Asia/Tokyo"
    # The zone is set: text is a question for the books again, not a zone name.
    reply = await user.ask("Марс/Олимп")
    assert "часового пояса" not in text_of(reply), text_of(reply)


async def test_a_city_is_enough_and_what_the_user_was_doing_resumes(sandbox_bot: SandboxHarness) -> None:
    user = sandbox_bot.user(language_code="en")
    await user.ask("/start")
    await user.ask("/search", contains="What should I look for")
    state = _state(sandbox_bot, user.user_id)
    assert await state.get_state() == ChatStates.search.state

    zones = await _zones_screen(user, "Your time zone is now")
    labels = [b["text"] for b in buttons_of(zones)]
    assert labels[0] == "✅ 📍 UTC" and "Europe/Moscow" in labels, labels
    saved = await user.ask("kolkata")
    assert "Time zone: Asia/Kolkata" in text_of(saved)
    assert "time zone Asia/Kolkata" in text_of(saved), "the settings show it"
    assert await _stored_zone(sandbox_bot, user.user_id) == "Asia/Kolkata"
    # Searching all books, as before /settings.
    assert await state.get_state() == ChatStates.search.state

    # A button still works, and ticks the zone now in use.
    zones = await _zones_screen(user, "Your time zone is now")
    assert "✅" not in str([b["text"] for b in buttons_of(zones)]), "Kolkata is not among the buttons"
    await user.tap_button(zones, "Asia/Almaty")
    await user.wait_edit(
        int(zones["message_id"]), lambda m: "Asia/Almaty" in text_of(m) and "Settings" in text_of(m)
    )
    assert await _stored_zone(sandbox_bot, user.user_id) == "Asia/Almaty"
    assert await state.get_state() == ChatStates.search.state
