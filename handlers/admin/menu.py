"""/admin: the menu, the overview with its growth chart, and closing the menu."""

from __future__ import annotations

import contextlib

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from db.base import utcnow
from handlers.admin.callbacks import MenuCb, Section
from handlers.admin.common import Keyboard, back_row, button, keyboard, leave_input, show
from handlers.admin.users import send_search_results
from services.admin.actor import Actor
from services.admin.charts import ChartLabels
from services.admin.service import AdminService
from services.analytics.metrics import Overview

router = Router(name=__name__)


def menu_keyboard(i18n: Translator) -> Keyboard:
    def item(key: str, section: Section) -> list:  # type: ignore[type-arg]
        return [button(i18n(key), MenuCb(section=section))]

    return keyboard(
        item("admin-menu-overview", Section.OVERVIEW) + item("admin-menu-users", Section.USERS),
        item("admin-menu-books", Section.BOOKS) + item("admin-menu-payments", Section.PAYMENTS),
        item("admin-menu-broadcasts", Section.BROADCASTS) + item("admin-menu-export", Section.EXPORT),
        item("admin-menu-quotes", Section.QUOTES) + item("admin-menu-close", Section.CLOSE),
    )


def overview_text(i18n: Translator, o: Overview) -> str:
    return i18n(
        "admin-overview",
        date=o.now.strftime("%Y-%m-%d %H:%M"),
        users=o.users_total,
        new_today=o.users_new_today,
        new_7d=o.users_new_7d,
        new_30d=o.users_new_30d,
        dau=o.active.dau,
        wau=o.active.wau,
        mau=o.active.mau,
        blocked=o.blocked,
        books=o.books_ready,
        failed=o.books_failed,
        pages=o.pages_indexed,
        questions_today=o.questions_today,
        questions_30d=o.questions_30d,
        stars_today=o.revenue_today.stars,
        rub_today=f"{o.revenue_today.rub:.2f}",
        stars_30d=o.revenue_30d.stars,
        rub_30d=f"{o.revenue_30d.rub:.2f}",
        payments_30d=o.revenue_30d.payments,
        refunds_30d=o.revenue_30d.refunds,
        mrr_stars=o.recurring.mrr_stars,
        mrr_rub=f"{o.recurring.mrr_rub:.2f}",
        subscribers=o.recurring.subscribers,
        cost_today=f"{o.llm_cost_today_usd:.2f}",
        cost_30d=f"{o.llm_cost_30d_usd:.2f}",
    )


@router.message(Command("admin"))
async def cmd_admin(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
) -> None:
    await leave_input(state)
    if command.args:  # "/admin 12345" or "/admin @name": straight to the search
        await send_search_results(message, command.args, state, session, admin, actor, i18n)
        return
    await message.answer(i18n("admin-menu-title"), reply_markup=menu_keyboard(i18n))


@router.callback_query(MenuCb.filter(F.section == Section.MENU))
async def on_menu(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await leave_input(state)
    await query.answer()
    await show(query, i18n("admin-menu-title"), menu_keyboard(i18n))


@router.callback_query(MenuCb.filter(F.section == Section.CLOSE))
async def on_close(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await leave_input(state)
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_text(i18n("admin-menu-closed"))


@router.callback_query(MenuCb.filter(F.section == Section.OVERVIEW))
async def on_overview(query: CallbackQuery, admin: AdminService, i18n: Translator) -> None:
    await query.answer(i18n("admin-overview-loading"))
    now = utcnow()
    overview = await admin.overview(now)
    await show(query, overview_text(i18n, overview), keyboard(back_row(i18n)))
    labels = ChartLabels(
        title=i18n("admin-chart-title"),
        total_users=i18n("admin-chart-total-users"),
        new_users=i18n("admin-chart-new-users"),
        active_users=i18n("admin-chart-active-users"),
        questions=i18n("admin-chart-questions"),
    )
    png = await admin.growth_chart(now, labels)
    if query.bot is not None:
        await query.bot.send_photo(
            query.from_user.id, BufferedInputFile(png, "growth.png"), caption=i18n("admin-chart-caption")
        )
