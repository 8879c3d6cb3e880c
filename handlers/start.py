"""/start, /help and /language: the welcome, the truth about what the bot can do, and the language."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.i18n import SUPPORTED, Translator
from bot.render import escape
from db.base import parse_number
from db.models import User
from db.repositories import users
from services.billing.service import BillingService
from services.cards.shares import Shared, open_shared, quote_id_from

router = Router(name=__name__)


class LanguageCb(CallbackData, prefix="lang"):
    code: str


class StartCb(CallbackData, prefix="start"):
    action: str  # "upload" | "help"


def welcome_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=i18n("start-button-upload"), callback_data=StartCb(action="upload").pack()
                )
            ],
            [
                InlineKeyboardButton(
                    text=i18n("start-button-help"), callback_data=StartCb(action="help").pack()
                ),
                InlineKeyboardButton(
                    text=i18n("start-button-language"), callback_data=StartCb(action="language").pack()
                ),
            ],
        ]
    )


def language_keyboard() -> InlineKeyboardMarkup:
    names = {"en": "🇬🇧 English", "ru": "🇷🇺 Русский"}
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=names[code], callback_data=LanguageCb(code=code).pack())
                for code in SUPPORTED
            ]
        ]
    )


def referrer_from(args: str | None, user_id: int) -> int | None:
    """`/start ref_123` carries the inviting user's id."""
    if not args or not args.startswith("ref_"):
        return None
    referrer = parse_number(args.removeprefix("ref_"))
    return None if referrer == user_id else referrer


def shared_quote_text(i18n: Translator, shared: Shared | None) -> str:
    """A shared quote card's deep link: the quote, its book, author and place, and an invitation."""
    if shared is None:
        return i18n("cards-shared-gone")
    source = ", ".join(
        [f"<b>{escape(shared.title)}</b>"] + [escape(part) for part in (shared.author, shared.place) if part]
    )
    text = shared.text if len(shared.text) <= 3000 else shared.text[:3000].rstrip() + "…"
    return i18n("cards-shared", quote=escape(text), source=source)


@router.message(CommandStart())
async def cmd_start(
    message: Message,
    command: CommandObject,
    user: User,
    user_created: bool,
    session: AsyncSession,
    i18n: Translator,
    billing: BillingService | None = None,
) -> None:
    quote_id = quote_id_from(command.args)
    if quote_id is not None:
        shared = await open_shared(session, quote_id, user.id)
        await message.answer(shared_quote_text(i18n, shared))
        if not user_created:  # a newcomer also gets the welcome (and the trial) below
            return
    referrer = referrer_from(command.args, user.id)
    if user_created and referrer is not None and await users.get(session, referrer) is not None:
        user.referrer_id = referrer
        await session.commit()
    await message.answer(
        i18n("start-welcome", name=escape(user.first_name or "") or "none"),
        reply_markup=welcome_keyboard(i18n),
    )
    # The Pro trial starts at a user's first /start (once ever; later calls do nothing).
    if billing is not None:
        trial = await billing.start_trial(session, user.id)
        await session.commit()
        if trial is not None:
            days = billing.settings.billing_trial_days
            await message.answer(i18n("billing-trial-started", days=days, credits=trial.credits))


@router.message(Command("help"))
async def cmd_help(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("help-text"))


@router.message(Command("language"))
async def cmd_language(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("language-choose"), reply_markup=language_keyboard())


@router.callback_query(StartCb.filter(F.action == "upload"))
async def on_upload(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(i18n("start-upload-hint"))


@router.callback_query(StartCb.filter(F.action == "help"))
async def on_help(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(i18n("help-text"))


@router.callback_query(StartCb.filter(F.action == "language"))
async def on_language_menu(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(i18n("language-choose"), reply_markup=language_keyboard())


@router.callback_query(LanguageCb.filter())
async def on_language(
    query: CallbackQuery, callback_data: LanguageCb, user: User, session: AsyncSession, ctx: AppContext
) -> None:
    if callback_data.code not in SUPPORTED:
        await query.answer()
        return
    await users.set_language(session, user, callback_data.code)
    await session.commit()
    i18n = ctx.i18n.translator(callback_data.code)
    await query.answer(i18n("language-changed"))
    if query.message is not None:
        await query.message.answer(i18n("language-changed"))
