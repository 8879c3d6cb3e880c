"""Admin buttons and inputs from someone who is not (or no longer) an admin: refused, nothing done.

Reached only when the guarded router did not take the update, i.e. the role check failed or no admin
handler matched (a stale button of a real admin)."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.i18n import Translator
from bot.settings import Settings
from db.models import User
from handlers.admin.callbacks import is_admin_callback
from handlers.admin.states import ADMIN_STATES
from services.admin.roles import staff_role

logger = logging.getLogger(__name__)
router = Router(name=__name__)


@router.callback_query(F.data.func(is_admin_callback))
async def refuse_callback(query: CallbackQuery, user: User, settings: Settings, i18n: Translator) -> None:
    if staff_role(user, settings.admin_ids) is not None:
        await query.answer(i18n("admin-stale-button"))
        return
    logger.warning("user %s sent admin callback %r and was refused", user.id, query.data)
    await query.answer(i18n("admin-denied"), show_alert=True)


def _not_staff(message: Message, user: User | None = None, settings: Settings | None = None) -> bool:
    return settings is not None and staff_role(user, settings.admin_ids) is None


@router.message(StateFilter(*ADMIN_STATES), _not_staff)
async def refuse_input(message: Message, state: FSMContext, i18n: Translator) -> None:
    # Demoted while typing an admin input: drop the input rather than act on it.
    await state.set_state(None)
    await message.answer(i18n("admin-denied"))
