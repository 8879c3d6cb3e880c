"""/settings: which messages the bot may send on its own, at what hour, in which time zone."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from db.base import parse_number
from db.models import User
from db.repositories import users
from handlers.screens import edit_screen
from services.engagement import leaderboard
from services.notifications import preferences
from services.notifications.preferences import COMMON_TIMEZONES, KINDS

router = Router(name=__name__)


class SettingsCb(CallbackData, prefix="stg"):
    # "menu" | "toggle" (value: kind) | "hours" | "hour" (value: 0..23) | "zones" | "zone" (value: index)
    # | "board" (the leaderboard screen, handlers/leaderboard.py)
    action: str
    value: str = ""


class SettingsInput(StatesGroup):
    zone = State()  # the zones screen is open: a typed zone name is taken (data: the state to go back to)


RETURN_KEY = "settings_return_state"


def settings_text(user: User, i18n: Translator) -> str:
    lines = [i18n("settings-title"), ""]
    for kind in KINDS:
        mark = "✅" if preferences.is_enabled(user, kind) else "▫️"
        lines.append(f"{mark} {i18n(f'settings-kind-{kind}')}")
    lines += [
        "",
        i18n(
            "settings-when",
            hour=f"{preferences.hour_of(user):02d}:00",
            zone=preferences.timezone_of(user).key,
        ),
    ]
    board_name = leaderboard.joined_name(user)
    lines.append(
        i18n("leaderboard-settings-on", name=escape(board_name))
        if board_name is not None
        else i18n("leaderboard-settings-off")
    )
    return "\n".join(lines)


def settings_keyboard(user: User, i18n: Translator) -> InlineKeyboardMarkup:
    toggles = [
        InlineKeyboardButton(
            text=("✅ " if preferences.is_enabled(user, kind) else "▫️ ") + i18n(f"settings-kind-{kind}"),
            callback_data=SettingsCb(action="toggle", value=kind.value).pack(),
        )
        for kind in KINDS
    ]
    rows = [toggles[i : i + 2] for i in range(0, len(toggles), 2)]
    rows.append(
        [
            InlineKeyboardButton(
                text=i18n("settings-button-hour", hour=f"{preferences.hour_of(user):02d}:00"),
                callback_data=SettingsCb(action="hours").pack(),
            ),
            InlineKeyboardButton(
                text=i18n("settings-button-zone", zone=preferences.timezone_of(user).key),
                callback_data=SettingsCb(action="zones").pack(),
            ),
        ]
    )
    # The leaderboard switch (off by default); its screen is handlers/leaderboard.py.
    board = (
        "leaderboard-button-settings-on"
        if leaderboard.joined_name(user)
        else "leaderboard-button-settings-off"
    )
    rows.append([InlineKeyboardButton(text=i18n(board), callback_data=SettingsCb(action="board").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def hours_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=f"{h:02d}:00", callback_data=SettingsCb(action="hour", value=str(h)).pack())
        for h in range(24)
    ]
    rows = [buttons[i : i + 6] for i in range(0, 24, 6)]
    rows.append(
        [
            InlineKeyboardButton(
                text=i18n("settings-button-back"), callback_data=SettingsCb(action="menu").pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def zones_keyboard(user: User, i18n: Translator) -> InlineKeyboardMarkup:
    """The likely zone for the user's language first, then the other common ones; the current one ticked."""
    current, likely = preferences.timezone_of(user).key, preferences.likely_timezone(user)

    def button(name: str, text: str) -> InlineKeyboardButton:
        data = SettingsCb(action="zone", value=str(COMMON_TIMEZONES.index(name))).pack()
        return InlineKeyboardButton(text=("✅ " if name == current else "") + text, callback_data=data)

    buttons = [button(name, name) for name in COMMON_TIMEZONES if name != likely]
    rows = [[button(likely, i18n("settings-button-zone-likely", zone=likely))]]
    rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(
                text=i18n("settings-button-back"), callback_data=SettingsCb(action="menu").pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _await_zone(state: FSMContext) -> None:
    """Take the next text as a zone name; what the user was doing (a search, a study question) resumes after."""
    current = await state.get_state()
    if current != SettingsInput.zone.state:
        await state.update_data({RETURN_KEY: current})
        await state.set_state(SettingsInput.zone)


async def _leave_zone_input(state: FSMContext) -> None:
    if await state.get_state() == SettingsInput.zone.state:
        await state.set_state((await state.get_data()).get(RETURN_KEY))
        await state.update_data({RETURN_KEY: None})


@router.message(Command("settings"))
async def cmd_settings(message: Message, user: User, i18n: Translator, state: FSMContext) -> None:
    await _leave_zone_input(state)
    await message.answer(settings_text(user, i18n), reply_markup=settings_keyboard(user, i18n))


@router.callback_query(SettingsCb.filter(F.action == "menu"))
async def on_menu(query: CallbackQuery, user: User, i18n: Translator, state: FSMContext) -> None:
    await _leave_zone_input(state)
    await query.answer()
    await edit_screen(query, settings_text(user, i18n), settings_keyboard(user, i18n))


@router.callback_query(SettingsCb.filter(F.action == "toggle"))
async def on_toggle(
    query: CallbackQuery, callback_data: SettingsCb, user: User, session: AsyncSession, i18n: Translator
) -> None:
    if callback_data.value not in {k.value for k in KINDS}:
        await query.answer()
        return
    enabled = not preferences.is_enabled(user, callback_data.value)
    preferences.set_enabled(user, callback_data.value, enabled)
    await session.commit()
    await query.answer(i18n("settings-turned-on" if enabled else "settings-turned-off"))
    await edit_screen(query, settings_text(user, i18n), settings_keyboard(user, i18n))


@router.callback_query(SettingsCb.filter(F.action == "hours"))
async def on_hours(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer()
    await edit_screen(query, i18n("settings-choose-hour"), hours_keyboard(i18n))


@router.callback_query(SettingsCb.filter(F.action == "hour"))
async def on_hour(
    query: CallbackQuery, callback_data: SettingsCb, user: User, session: AsyncSession, i18n: Translator
) -> None:
    hour = parse_number(callback_data.value, 23)
    if hour is None:
        await query.answer()
        return
    preferences.set_hour(user, hour)
    await session.commit()
    await query.answer(i18n("settings-saved"))
    await edit_screen(query, settings_text(user, i18n), settings_keyboard(user, i18n))


@router.callback_query(SettingsCb.filter(F.action == "zones"))
async def on_zones(query: CallbackQuery, user: User, i18n: Translator, state: FSMContext) -> None:
    await _await_zone(state)
    await query.answer()
    await edit_screen(
        query,
        i18n("settings-choose-zone", zone=preferences.timezone_of(user).key),
        zones_keyboard(user, i18n),
    )


@router.callback_query(SettingsCb.filter(F.action == "zone"))
async def on_zone(
    query: CallbackQuery,
    callback_data: SettingsCb,
    user: User,
    session: AsyncSession,
    i18n: Translator,
    state: FSMContext,
) -> None:
    index = parse_number(callback_data.value, len(COMMON_TIMEZONES) - 1)
    if index is None:
        await query.answer()
        return
    preferences.set_timezone(user, COMMON_TIMEZONES[index])
    await session.commit()
    await _leave_zone_input(state)
    await query.answer(i18n("settings-saved"))
    await edit_screen(query, settings_text(user, i18n), settings_keyboard(user, i18n))


@router.message(SettingsInput.zone, F.text, ~F.text.startswith("/"))
async def on_zone_typed(
    message: Message, user: User, session: AsyncSession, i18n: Translator, state: FSMContext
) -> None:
    """Any IANA name, in any case, or a city in it; an unknown one is said so, with the choice again."""
    zone = preferences.find_timezone(message.text or "")
    if zone is None:
        unknown = i18n("settings-zone-unknown", text=escape((message.text or "").strip()[:64]))
        current = i18n("settings-choose-zone", zone=preferences.timezone_of(user).key)
        await message.answer(f"{unknown}\n\n{current}", reply_markup=zones_keyboard(user, i18n))
        return
    preferences.set_timezone(user, zone)
    await session.commit()
    await _leave_zone_input(state)
    saved = i18n("settings-zone-saved", zone=zone)
    await message.answer(
        f"{saved}\n\n{settings_text(user, i18n)}", reply_markup=settings_keyboard(user, i18n)
    )


@router.my_chat_member(F.chat.type == "private")
async def on_blocked_or_back(event: ChatMemberUpdated, session: AsyncSession) -> None:
    """The user blocked the bot (or unblocked it): stop (or resume) messages the bot starts."""
    await users.set_blocked(session, event.chat.id, event.new_chat_member.status == "kicked")
    await session.commit()
