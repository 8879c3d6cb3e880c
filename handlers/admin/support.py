"""Answers to /paysupport: a request forwarded to the admins carries a Reply button; the admin who taps it
types the answer, and it goes to the user who wrote, in their language."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from db.models import User
from handlers.admin.callbacks import SupportAction, SupportCb
from handlers.admin.common import Keyboard, button, keyboard, leave_input, show
from handlers.admin.states import SupportReplyInput

logger = logging.getLogger(__name__)
router = Router(name=__name__)

SUPPORT_KEY = "admin_support_user"
NOT_A_COMMAND = ~F.text.startswith("/")


def reply_keyboard(i18n: Translator, user_id: int) -> Keyboard:
    """The button under a forwarded request."""
    return keyboard(
        [button(i18n("admin-support-button-reply"), SupportCb(action=SupportAction.REPLY, user_id=user_id))]
    )


@router.callback_query(SupportCb.filter(F.action == SupportAction.REPLY))
async def on_reply(
    query: CallbackQuery, callback_data: SupportCb, state: FSMContext, i18n: Translator
) -> None:
    await state.set_state(SupportReplyInput.text)
    await state.update_data({SUPPORT_KEY: callback_data.user_id})
    await query.answer()
    text = i18n("admin-support-reply-prompt", id=str(callback_data.user_id))
    cancel = keyboard([button(i18n("admin-button-cancel"), SupportCb(action=SupportAction.CANCEL))])
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=cancel)
    elif query.bot is not None:
        await query.bot.send_message(query.from_user.id, text, reply_markup=cancel)


@router.callback_query(SupportCb.filter(F.action == SupportAction.CANCEL))
async def on_cancel(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await leave_input(state)
    await query.answer()
    await show(query, i18n("admin-support-reply-canceled"))


@router.message(SupportReplyInput.text, F.text, NOT_A_COMMAND)
async def on_reply_text(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, i18n: Translator, ctx: Any
) -> None:
    user_id = (await state.get_data()).get(SUPPORT_KEY)
    await leave_input(state)
    if user_id is None:
        return
    customer = await session.get(User, int(user_id))
    translator = ctx.i18n.translator(customer.language if customer else ctx.i18n.default)
    try:
        await bot.send_message(
            int(user_id), translator("billing-paysupport-answer", text=escape(message.text or ""))
        )
    except Exception:
        logger.warning("could not send a payment support answer to user %s", user_id, exc_info=True)
        await message.answer(i18n("admin-support-reply-failed", id=str(user_id)))
        return
    await message.answer(i18n("admin-support-reply-sent", id=str(user_id)))
