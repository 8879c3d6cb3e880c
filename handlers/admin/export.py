"""Exports: users and payments as CSV files (UTF-8 with BOM, for Excel), sent as documents."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, FSInputFile
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from db.base import utcnow
from handlers.admin.callbacks import ExportCb, ExportKind, MenuCb, Section
from handlers.admin.common import back_row, button, keyboard, leave_input, show
from services.admin.actor import Actor
from services.admin.service import AdminService, ExportName

router = Router(name=__name__)


@router.callback_query(MenuCb.filter(F.section == Section.EXPORT))
async def on_export_menu(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await leave_input(state)
    await query.answer()
    await show(
        query,
        i18n("admin-export-title"),
        keyboard(
            [
                button(i18n("admin-export-button-users"), ExportCb(kind=ExportKind.USERS)),
                button(i18n("admin-export-button-payments"), ExportCb(kind=ExportKind.PAYMENTS)),
            ],
            back_row(i18n),
        ),
    )


@router.callback_query(ExportCb.filter())
async def on_export(
    query: CallbackQuery,
    callback_data: ExportCb,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    await query.answer(i18n("admin-export-working"))
    kind: ExportName = "users" if callback_data.kind == ExportKind.USERS else "payments"
    export = await admin.export(session, actor, kind)
    try:
        name = f"{kind}-{utcnow():%Y%m%d-%H%M}.csv"
        if query.bot is not None:
            await query.bot.send_document(
                query.from_user.id,
                FSInputFile(export.path, filename=name),
                caption=i18n(f"admin-export-done-{kind}", rows=export.rows),
            )
    finally:
        export.remove()
