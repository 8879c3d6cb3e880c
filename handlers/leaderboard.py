"""The opt-in leaderboard: its screen under /settings (join under a chosen name, rename, leave) and /top.

The /settings screen shows the switch (handlers/settings.py); its button opens the screen here."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from db.models import User
from handlers.screens import edit_screen
from handlers.settings import SettingsCb
from services.engagement import leaderboard
from services.engagement.leaderboard import NAME_MAX, NAME_MIN, Board, BoardLine, NameRejected

router = Router(name=__name__)


class BoardCb(CallbackData, prefix="lb"):
    # The screen itself opens from /settings (SettingsCb action "board").
    action: str  # "name" (join or rename: asks for the name) | "leave" | "cancel"


class BoardInput(StatesGroup):
    name = State()  # the next text is the display name (data: the state to go back to)


RETURN_KEY = "leaderboard_return_state"


def _screen(user: User, i18n: Translator) -> tuple[str, InlineKeyboardMarkup]:
    name = leaderboard.joined_name(user)
    back = InlineKeyboardButton(
        text=i18n("leaderboard-button-back"), callback_data=SettingsCb(action="menu").pack()
    )
    if name is None:
        text = i18n("leaderboard-screen-off")
        rows = [
            [
                InlineKeyboardButton(
                    text=i18n("leaderboard-button-join"), callback_data=BoardCb(action="name").pack()
                )
            ]
        ]
    else:
        text = i18n("leaderboard-screen-on", name=escape(name))
        rows = [
            [
                InlineKeyboardButton(
                    text=i18n("leaderboard-button-rename"), callback_data=BoardCb(action="name").pack()
                )
            ],
            [
                InlineKeyboardButton(
                    text=i18n("leaderboard-button-leave"), callback_data=BoardCb(action="leave").pack()
                )
            ],
        ]
    return text, InlineKeyboardMarkup(inline_keyboard=[*rows, [back]])


async def _stop_asking(state: FSMContext) -> None:
    if await state.get_state() == BoardInput.name.state:
        await state.set_state((await state.get_data()).get(RETURN_KEY))
        await state.update_data({RETURN_KEY: None})


@router.callback_query(SettingsCb.filter(F.action == "board"))
@router.callback_query(BoardCb.filter(F.action == "cancel"))
async def on_menu(query: CallbackQuery, user: User, i18n: Translator, state: FSMContext) -> None:
    await _stop_asking(state)
    await query.answer()
    await edit_screen(query, *_screen(user, i18n))


@router.callback_query(BoardCb.filter(F.action == "name"))
async def on_ask_name(query: CallbackQuery, i18n: Translator, state: FSMContext) -> None:
    current = await state.get_state()
    if current != BoardInput.name.state:
        await state.update_data({RETURN_KEY: current})
        await state.set_state(BoardInput.name)
    await query.answer()
    cancel = InlineKeyboardButton(
        text=i18n("leaderboard-button-cancel"), callback_data=BoardCb(action="cancel").pack()
    )
    await edit_screen(
        query,
        i18n("leaderboard-ask-name", min=NAME_MIN, max=NAME_MAX),
        InlineKeyboardMarkup(inline_keyboard=[[cancel]]),
    )


@router.message(BoardInput.name, F.text.startswith("/"))
async def on_command_instead(message: Message, state: FSMContext) -> None:
    """A command instead of a name: stop asking (so later text is never taken for a public name) and let
    the command's own handler answer it."""
    await _stop_asking(state)
    raise SkipHandler


@router.message(BoardInput.name, F.text, ~F.text.startswith("/"))
async def on_name_typed(
    message: Message, user: User, session: AsyncSession, i18n: Translator, state: FSMContext
) -> None:
    try:
        name = await leaderboard.join(session, user, message.text or "")
    except NameRejected as error:
        await message.answer(i18n(f"leaderboard-name-{error.code}", min=NAME_MIN, max=NAME_MAX))
        return
    await _stop_asking(state)
    text, markup = _screen(user, i18n)
    await message.answer(i18n("leaderboard-joined", name=escape(name)) + "\n\n" + text, reply_markup=markup)


@router.callback_query(BoardCb.filter(F.action == "leave"))
async def on_leave(
    query: CallbackQuery, user: User, session: AsyncSession, i18n: Translator, state: FSMContext
) -> None:
    await _stop_asking(state)
    await leaderboard.leave(session, user)
    await query.answer(i18n("leaderboard-left"))
    await edit_screen(query, *_screen(user, i18n))


@router.message(Command("top"))
async def cmd_top(message: Message, user: User, session: AsyncSession, i18n: Translator) -> None:
    await message.answer(render_board(await leaderboard.board(session, user.id), i18n))


def _board_line(line: BoardLine, i18n: Translator, own: bool) -> str:
    text = i18n(
        "leaderboard-line",
        rank=line.rank,
        name=escape(line.display_name),
        books=line.books,
        questions=line.questions,
        streak=line.streak,
    )
    return f"<b>{text}</b>" if own else text


def render_board(board: Board, i18n: Translator) -> str:
    parts = [i18n("leaderboard-title")]
    if not board.top:
        parts.append(i18n("leaderboard-empty"))
    else:
        own_id = board.own.user_id if board.own else None
        parts.append("\n".join(_board_line(line, i18n, line.user_id == own_id) for line in board.top))
    if board.own is not None:
        you = i18n("leaderboard-you", rank=board.own.rank, total=board.ranked)
        if all(line.user_id != board.own.user_id for line in board.top):
            you += "\n" + _board_line(board.own, i18n, True)
        parts.append(you)
    elif board.joined:
        parts.append(i18n("leaderboard-you-pending"))
    else:
        parts.append(i18n("leaderboard-you-off"))
    if board.refreshed_at is not None:
        parts.append(i18n("leaderboard-refreshed", time=board.refreshed_at.strftime("%Y-%m-%d %H:%M UTC")))
    return "\n\n".join(parts)
