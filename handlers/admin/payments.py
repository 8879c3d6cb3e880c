"""Payments: the most recent first, a payment's card, and refunding a Stars payment."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.render import escape
from db.models import Payment
from handlers.admin.callbacks import MenuCb, PaymentAction, PaymentCb, Section, UserAction, UserCb
from handlers.admin.common import (
    PAGE_SIZE,
    Keyboard,
    back_row,
    button,
    clamp_page,
    error_text,
    keyboard,
    leave_input,
    pager,
    show,
    when,
)
from services.admin.actor import Actor, AdminError
from services.admin.service import AdminService
from services.billing.service import BillingService

router = Router(name=__name__)


def money(payment: Payment) -> str:
    if payment.currency == "XTR":
        return f"{payment.amount} ⭐"
    return f"{payment.amount / 100:.2f} {payment.currency}"


def _label(payment: Payment) -> str:
    mark = "↩️ " if payment.status == "refunded" else ""
    return f"{mark}#{payment.id} · {money(payment)} · {payment.user_id} · {when(payment.created_at)[5:]}"[:60]


async def _list(
    query: CallbackQuery, session: AsyncSession, admin: AdminService, i18n: Translator, page: int
) -> None:
    _, total = await admin.payments.recent(session, limit=0)
    page = clamp_page(page, total)
    payments, total = await admin.payments.recent(session, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    rows = [
        [button(_label(p), PaymentCb(action=PaymentAction.CARD, payment_id=p.id, page=page))]
        for p in payments
    ]
    await show(
        query,
        i18n("admin-payments-title", count=total),
        keyboard(
            *rows, pager(page, total, lambda n: PaymentCb(action=PaymentAction.LIST, page=n)), back_row(i18n)
        ),
    )


@router.callback_query(MenuCb.filter(F.section == Section.PAYMENTS))
async def on_payments(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, admin: AdminService, i18n: Translator
) -> None:
    await leave_input(state)
    await query.answer()
    await _list(query, session, admin, i18n, 0)


@router.callback_query(PaymentCb.filter(F.action == PaymentAction.LIST))
async def on_payments_page(
    query: CallbackQuery,
    callback_data: PaymentCb,
    session: AsyncSession,
    admin: AdminService,
    i18n: Translator,
) -> None:
    await query.answer()
    await _list(query, session, admin, i18n, callback_data.page)


def payment_text(i18n: Translator, payment: Payment) -> str:
    return i18n(
        "admin-payment-card",
        id=str(payment.id),
        user=str(payment.user_id),
        provider=payment.provider,
        amount=money(payment),
        credits=payment.credits,
        plan=i18n(f"admin-plan-{payment.plan}") if payment.plan else "—",
        status=i18n(f"admin-payment-status-{payment.status}"),
        charge=escape(payment.charge_id),
        created=when(payment.created_at),
        refunded=when(payment.refunded_at),
        taken=payment.credits_taken_back,
    )


def payment_keyboard(i18n: Translator, payment: Payment, page: int, refundable: bool) -> Keyboard:
    refund = [
        button(
            i18n("admin-payment-button-refund"),
            PaymentCb(action=PaymentAction.REFUND, payment_id=payment.id, page=page),
        )
    ]
    return keyboard(
        refund if refundable else [],
        [button(i18n("admin-book-button-owner"), UserCb(action=UserAction.CARD, user_id=payment.user_id))],
        back_row(i18n, PaymentCb(action=PaymentAction.LIST, page=page)),
    )


async def _show_payment(
    query: CallbackQuery,
    session: AsyncSession,
    admin: AdminService,
    i18n: Translator,
    payment_id: int,
    page: int,
) -> None:
    payment = await admin.payments.get(session, payment_id)
    if payment is None:
        await show(
            query,
            i18n("admin-error-not_found"),
            keyboard(back_row(i18n, PaymentCb(action=PaymentAction.LIST))),
        )
        return
    await show(
        query,
        payment_text(i18n, payment),
        payment_keyboard(i18n, payment, page, admin.payments.refundable(payment)),
    )


@router.callback_query(PaymentCb.filter(F.action == PaymentAction.CARD))
async def on_payment(
    query: CallbackQuery,
    callback_data: PaymentCb,
    session: AsyncSession,
    admin: AdminService,
    i18n: Translator,
) -> None:
    await query.answer()
    await _show_payment(query, session, admin, i18n, callback_data.payment_id, callback_data.page)


@router.callback_query(PaymentCb.filter(F.action == PaymentAction.REFUND))
async def on_refund(query: CallbackQuery, callback_data: PaymentCb, i18n: Translator) -> None:
    await query.answer()
    pid, page = callback_data.payment_id, callback_data.page
    await show(
        query,
        i18n("admin-refund-confirm", id=str(pid)),
        keyboard(
            [
                button(
                    i18n("admin-refund-button-yes"),
                    PaymentCb(action=PaymentAction.REFUND_YES, payment_id=pid, page=page),
                )
            ],
            back_row(
                i18n, PaymentCb(action=PaymentAction.CARD, payment_id=pid, page=page), "admin-button-cancel"
            ),
        ),
    )


@router.callback_query(PaymentCb.filter(F.action == PaymentAction.REFUND_YES))
async def on_refund_yes(
    query: CallbackQuery,
    callback_data: PaymentCb,
    bot: Bot,
    session: AsyncSession,
    admin: AdminService,
    actor: Actor,
    i18n: Translator,
    billing: BillingService,
) -> None:
    try:
        outcome = await admin.payments.refund(session, bot, actor, callback_data.payment_id)
    except AdminError as error:
        await query.answer(error_text(i18n, error), show_alert=True)
        return
    await query.answer(i18n("admin-refund-done", credits=outcome.credits_taken), show_alert=True)
    await billing.announce_refund(outcome, refunded_by=actor.id)
    await _show_payment(query, session, admin, i18n, callback_data.payment_id, callback_data.page)
