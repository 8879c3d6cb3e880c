"""/balance, /buy, payments (Stars invoices and subscriptions, cards via YooKassa), /paysupport, /terms.

Also what other features show: `refusal_reply` (out of credits and over-limit messages with buy buttons)
and `low_credits_text` (the one warning a period), and `BillingNotices`, which tells users about payments
settled outside a chat (YooKassa notifications), referral bonuses and low credits.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import BaseFilter, Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import I18n, Translator
from bot.render import escape
from bot.settings import Settings
from db.models import User
from handlers.admin.common import show
from handlers.admin.support import reply_keyboard
from handlers.chat_ui import SummaryCb
from handlers.library_ui import SOUND_OR_VIDEO, MiB, upload_refusal
from services.admin.roles import staff_role
from services.billing.orders import RefundOutcome
from services.billing.plans import FREE, Product
from services.billing.service import (
    Affordability,
    BalanceSummary,
    BillingService,
    ChargeOutcome,
    ReferralBonus,
)
from services.billing.stars import PRE_CHECKOUT_HOLD, StarsCharge
from services.billing.yookassa import PaymentEvent, YooKassaError, rubles
from services.notifications.alerts import AdminAlerts

logger = logging.getLogger(__name__)
router = Router(name=__name__)

# Telegram drops a pre-checkout query not answered within 10 seconds; keep well inside that.
PRE_CHECKOUT_BUDGET = 6.0


class BuyCb(CallbackData, prefix="buy"):
    action: str  # "menu" | "stars" | "card"
    product: str = ""


class BalanceCb(CallbackData, prefix="bal"):
    action: str  # "show" | "history" | "cancel" | "resume"


# --- rendering -----------------------------------------------------------------------------------


def _date(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "none"


def plan_name(i18n: Translator, plan: str) -> str:
    return i18n("billing-plan-name", plan=plan)


def product_name(i18n: Translator, product_code: str, credits: int, plan: str | None) -> str:
    if plan:
        return plan_name(i18n, plan)
    return i18n("billing-pack-name", credits=credits)


def balance_text(i18n: Translator, summary: BalanceSummary, referral_link: str | None, bonus: int) -> str:
    limits = summary.limits
    lines = [
        i18n(
            "billing-balance",
            balance=summary.balance,
            plan=plan_name(i18n, summary.plan),
            until=_date(summary.plan_expires_at) if summary.plan != FREE else "none",
            used=summary.period_used,
            credits=summary.period_credits,
            renews=_date(summary.next_credits_at),
            questions=summary.questions_today,
            questions_limit=limits.questions_per_day,
            books=limits.max_books,
            file_mb=limits.max_file_mb,
        )
    ]
    if summary.on_trial:
        lines.append(i18n("billing-balance-trial", until=_date(summary.trial_ends_at)))
    if summary.subscription_active:
        lines.append(i18n("billing-subscription-active", date=_date(summary.plan_expires_at)))
    elif summary.subscription_canceled:
        lines.append(i18n("billing-subscription-canceled", date=_date(summary.plan_expires_at)))
    if referral_link and bonus > 0:
        lines.append(i18n("billing-referral-link", link=referral_link, bonus=bonus))
    return "\n\n".join(lines)


def balance_keyboard(i18n: Translator, summary: BalanceSummary) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(text=i18n("billing-button-buy"), callback_data=BuyCb(action="menu").pack()),
            InlineKeyboardButton(
                text=i18n("billing-button-history"), callback_data=BalanceCb(action="history").pack()
            ),
        ]
    ]
    if summary.subscription_active:
        rows.append(
            [
                InlineKeyboardButton(
                    text=i18n("billing-button-cancel-sub"), callback_data=BalanceCb(action="cancel").pack()
                )
            ]
        )
    elif summary.subscription_canceled:
        rows.append(
            [
                InlineKeyboardButton(
                    text=i18n("billing-button-resume-sub"), callback_data=BalanceCb(action="resume").pack()
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def buy_text(i18n: Translator, billing: BillingService) -> str:
    catalog = billing.catalog
    pro, scholar = catalog.plan_limits("pro"), catalog.plan_limits("scholar")
    return i18n(
        "billing-buy",
        pro_credits=pro.monthly_credits,
        pro_books=pro.max_books,
        pro_questions=pro.questions_per_day,
        scholar_credits=scholar.monthly_credits,
        scholar_books=scholar.max_books,
        scholar_questions=scholar.questions_per_day,
        card="yes" if billing.card_payments else "no",
    )


def _product_buttons(
    i18n: Translator, billing: BillingService, product: Product
) -> list[InlineKeyboardButton]:
    name = product_name(i18n, product.code, product.credits, product.plan)
    kind = "plan" if product.is_plan else "pack"
    buttons = [
        InlineKeyboardButton(
            text=i18n(f"billing-button-{kind}-stars", name=name, stars=product.stars),
            callback_data=BuyCb(action="stars", product=product.code).pack(),
        )
    ]
    if billing.card_payments and product.kopecks > 0:
        buttons.append(
            InlineKeyboardButton(
                text=i18n(f"billing-button-{kind}-card", name=name, rubles=rubles(product.kopecks)),
                callback_data=BuyCb(action="card", product=product.code).pack(),
            )
        )
    return buttons


def buy_keyboard(i18n: Translator, billing: BillingService) -> InlineKeyboardMarkup:
    """Every plan and pack: Stars always (digital goods in Telegram are sold for Stars), card when set up."""
    catalog = billing.catalog
    rows = [_product_buttons(i18n, billing, product) for product in [*catalog.plans, *catalog.packs]]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def refusal_reply(
    i18n: Translator, billing: BillingService, refusal: Affordability
) -> tuple[str, InlineKeyboardMarkup]:
    """What to say when `check_can_afford` refuses: a friendly message and the buy buttons."""
    limits = refusal.limits
    if refusal.reason == "daily_limit":
        text = i18n("billing-daily-limit", limit=limits.questions_per_day)
    elif refusal.reason == "books_limit":
        text = i18n("billing-books-limit", limit=limits.max_books)
    elif refusal.reason == "file_too_large":
        text = i18n("billing-file-too-large", limit=limits.max_file_mb)
    else:
        text = i18n("billing-no-credits", cost=refusal.cost, balance=refusal.balance)
    return text, buy_keyboard(i18n, billing)


def low_credits_text(i18n: Translator, billing: BillingService, outcome: ChargeOutcome) -> str:
    """The one warning a period, when a charge's `warn_low` is set."""
    return i18n(
        "billing-low-credits", percent=billing.settings.billing_warn_at_percent, balance=outcome.balance
    )


async def referral_link(bot: Bot, user_id: int) -> str | None:
    try:
        me = await bot.me()
    except Exception:
        return None
    return f"https://t.me/{me.username}?start=ref_{user_id}" if me.username else None


# --- what the user can't afford ------------------------------------------------------------


class UploadRefused(BaseFilter):
    """Matches a book sent as a file larger than the user's plan allows, so that it is refused before
    it is downloaded. Files the library refuses anyway (over MAX_FILE_MB, or over what Telegram lets a
    bot download) are left to its own message."""

    async def __call__(
        self, message: Message, user: User | None = None, session: AsyncSession | None = None,
        billing: BillingService | None = None, settings: Settings | None = None, i18n: Translator | None = None,
    ) -> bool | dict[str, Any]:  # fmt: skip
        size = message.document.file_size if message.document else None
        if user is None or session is None or billing is None or settings is None or i18n is None or not size:
            return False
        max_bytes, local = settings.max_file_mb * MiB, settings.telegram_api_is_local
        if upload_refusal(i18n, size, max_bytes=max_bytes, local_api=local) is not None:
            return False
        limits = await billing.limits(session, user.id)
        await session.commit()  # the download that follows must not hold a connection
        return False if limits.allows_file(size) else {"limit_mb": limits.max_file_mb}


class SummaryRefused(BaseFilter):
    """Matches the confirmation of a whole-book summary that the balance does not cover."""

    async def __call__(
        self, query: CallbackQuery, user: User | None = None, session: AsyncSession | None = None,
        billing: BillingService | None = None,
    ) -> bool | dict[str, Any]:  # fmt: skip
        if user is None or session is None or billing is None:
            return False
        check = await billing.check_can_afford(session, user.id, "summary")
        await session.commit()
        return False if check.ok else {"refusal": check}


@router.message(F.document, ~SOUND_OR_VIDEO, UploadRefused())
async def on_upload_refused(
    message: Message, limit_mb: int, billing: BillingService, i18n: Translator
) -> None:
    """A file over the plan's size limit: say so with the buy buttons, before downloading anything."""
    await message.answer(
        i18n("billing-file-too-large", limit=limit_mb), reply_markup=buy_keyboard(i18n, billing)
    )


@router.callback_query(SummaryCb.filter(F.action == "go"), SummaryRefused())
async def on_summary_refused(
    query: CallbackQuery, refusal: Affordability, billing: BillingService, i18n: Translator
) -> None:
    """The summary's price is more than the balance: say so with buy buttons instead of running it."""
    await query.answer()
    if isinstance(query.message, Message):
        text, markup = refusal_reply(i18n, billing, refusal)
        await query.message.answer(text, reply_markup=markup)


# --- /balance ------------------------------------------------------------------------------------


async def _show_balance(
    message: Message, user: User, session: AsyncSession, billing: BillingService, i18n: Translator, bot: Bot
) -> None:
    text, markup = await _balance_screen(user, session, billing, i18n, bot)
    await message.answer(text, reply_markup=markup)


async def _balance_screen(
    user: User, session: AsyncSession, billing: BillingService, i18n: Translator, bot: Bot
) -> tuple[str, InlineKeyboardMarkup]:
    summary = await billing.summary(session, user.id)
    await session.commit()
    link = await referral_link(bot, user.id)
    text = balance_text(i18n, summary, link, billing.settings.billing_referral_bonus)
    return text, balance_keyboard(i18n, summary)


@router.message(Command("balance"))
async def cmd_balance(
    message: Message, user: User, session: AsyncSession, billing: BillingService, i18n: Translator, bot: Bot
) -> None:
    await _show_balance(message, user, session, billing, i18n, bot)


@router.callback_query(BalanceCb.filter(F.action == "history"))
async def on_history(
    query: CallbackQuery, user: User, session: AsyncSession, billing: BillingService, i18n: Translator
) -> None:
    await query.answer()
    payments = await billing.payments(session, user.id, limit=10)
    if not payments:
        text = i18n("billing-history-empty")
    else:
        lines = [i18n("billing-history-title")]
        for payment in payments:
            amount = str(payment.amount) if payment.currency == "XTR" else rubles(payment.amount)
            lines.append(
                i18n(
                    "billing-history-line",
                    date=_date(payment.created_at),
                    what=product_name(i18n, "", payment.credits, payment.plan),
                    amount=amount,
                    currency="⭐" if payment.currency == "XTR" else "₽",
                    refunded="yes" if payment.status == "refunded" else "no",
                )
            )
        text = "\n".join(lines)
    if isinstance(query.message, Message):
        await query.message.answer(text)


@router.callback_query(BalanceCb.filter(F.action.in_({"cancel", "resume"})))
async def on_subscription(
    query: CallbackQuery, callback_data: BalanceCb, user: User, session: AsyncSession, billing: BillingService,
    i18n: Translator, bot: Bot,
) -> None:  # fmt: skip
    assert billing.stars is not None
    cancel = callback_data.action == "cancel"
    changed = await billing.stars.set_subscription_canceled(session, bot, user.id, cancel)
    summary = await billing.summary(session, user.id)
    if not changed:
        await query.answer(i18n("billing-sub-none"), show_alert=True)
        return
    key = "billing-sub-canceled" if cancel else "billing-sub-resumed"
    await query.answer()
    # The /balance message the button was on no longer says "renews on" or offers the same button.
    text, markup = await _balance_screen(user, session, billing, i18n, bot)
    await show(query, text, markup)
    if isinstance(query.message, Message):
        await query.message.answer(
            i18n(key, plan=plan_name(i18n, summary.plan), until=_date(summary.plan_expires_at))
        )


# --- /buy ------------------------------------------------------------------------------------------


@router.message(Command("buy", "plans"))
async def cmd_buy(message: Message, billing: BillingService, i18n: Translator) -> None:
    await message.answer(buy_text(i18n, billing), reply_markup=buy_keyboard(i18n, billing))


@router.callback_query(BuyCb.filter(F.action == "menu"))
async def on_buy_menu(query: CallbackQuery, billing: BillingService, i18n: Translator) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(buy_text(i18n, billing), reply_markup=buy_keyboard(i18n, billing))


@router.callback_query(BuyCb.filter(F.action == "stars"))
async def on_buy_stars(
    query: CallbackQuery, callback_data: BuyCb, user: User, session: AsyncSession, billing: BillingService,
    i18n: Translator, bot: Bot,
) -> None:  # fmt: skip
    assert billing.stars is not None
    stars_order = await billing.stars.create_order(session, user.id, callback_data.product)
    if stars_order is None:
        await query.answer(i18n("billing-product-unknown"), show_alert=True)
        return
    await session.commit()
    await query.answer()
    order, product = stars_order.order, stars_order.product
    name = product_name(i18n, product.code, product.credits, product.plan)
    limits = billing.catalog.plan_limits(product.plan or FREE)
    kind = "plan" if product.is_plan else "pack"
    title = i18n(f"billing-invoice-{kind}-title", name=name, credits=product.credits)[:32]
    description = i18n(
        f"billing-invoice-{kind}-description",
        name=name, credits=product.credits, books=limits.max_books, questions=limits.questions_per_day,
    )[:255]  # fmt: skip
    prices = [LabeledPrice(label=title, amount=order.amount)]
    if stars_order.subscription:
        link = await bot.create_invoice_link(
            title=title, description=description, payload=order.payload, currency="XTR", prices=prices,
            provider_token="", subscription_period=stars_order.subscription_period,
        )  # fmt: skip
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=i18n("billing-button-subscribe", stars=order.amount), url=link)]
            ]
        )
        await bot.send_message(
            user.id, i18n("billing-subscribe-text", name=name, stars=order.amount), reply_markup=markup
        )
    else:
        await bot.send_invoice(
            user.id, title=title, description=description, payload=order.payload, currency="XTR", prices=prices,
            provider_token="",
        )  # fmt: skip


@router.callback_query(BuyCb.filter(F.action == "card"))
async def on_buy_card(
    query: CallbackQuery, callback_data: BuyCb, user: User, session: AsyncSession, billing: BillingService,
    i18n: Translator,
) -> None:  # fmt: skip
    if billing.yookassa is None:
        await query.answer(i18n("billing-product-unknown"), show_alert=True)
        return
    await query.answer()
    try:
        payment = await billing.yookassa.start(session, user.id, callback_data.product)
    except YooKassaError as error:
        logger.warning("card payment for user %s not started: %s", user.id, error)
        if isinstance(query.message, Message):
            await query.message.answer(i18n("billing-card-unavailable"))
        return
    if payment is None or payment.confirmation_url is None:
        if isinstance(query.message, Message):
            await query.message.answer(
                i18n("billing-product-unknown" if payment is None else "billing-card-unavailable")
            )
        return
    amount = rubles(payment.order.amount)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=i18n("billing-button-pay-card", rubles=amount), url=payment.confirmation_url
                )
            ]
        ]
    )
    if isinstance(query.message, Message):
        await query.message.answer(i18n("billing-card-text", rubles=amount), reply_markup=markup)


# --- Stars payment updates -------------------------------------------------------------------------


@router.pre_checkout_query()
async def on_pre_checkout(
    query: PreCheckoutQuery, session: AsyncSession, billing: BillingService, i18n: Translator
) -> None:
    assert billing.stars is not None
    try:
        error = await asyncio.wait_for(
            billing.stars.approve_pre_checkout(
                session, query.from_user.id, query.invoice_payload, query.currency, query.total_amount
            ),
            PRE_CHECKOUT_BUDGET,
        )
    except TimeoutError:
        error = "busy"
    if error is None:
        await query.answer(ok=True)
    else:
        logger.info("pre-checkout %s of user %s refused: %s", query.id, query.from_user.id, error)
        minutes = PRE_CHECKOUT_HOLD // timedelta(minutes=1)
        text = i18n(f"billing-precheckout-{error.replace('_', '-')}", minutes=minutes)
        await query.answer(ok=False, error_message=text)


@router.message(F.successful_payment)
async def on_successful_payment(
    message: Message,
    session: AsyncSession,
    billing: BillingService,
    i18n: Translator,
    alerts: AdminAlerts | None = None,
) -> None:
    assert (
        billing.stars is not None and message.successful_payment is not None and message.from_user is not None
    )
    paid = message.successful_payment
    charge = StarsCharge(
        telegram_payment_charge_id=paid.telegram_payment_charge_id,
        invoice_payload=paid.invoice_payload,
        currency=paid.currency,
        total_amount=paid.total_amount,
        provider_payment_charge_id=paid.provider_payment_charge_id or None,
        subscription_expiration_date=paid.subscription_expiration_date,
        is_recurring=bool(paid.is_recurring),
        is_first_recurring=bool(paid.is_first_recurring),
    )
    result = await billing.stars.complete(session, message.from_user.id, charge)
    if result is not None and result.status == "duplicate":
        return  # the same payment delivered again: credited the first time, nothing to say
    if result is None or result.status == "rejected":
        await message.answer(i18n("billing-paid-problem"))
        return
    if alerts is not None:  # here, not on every update: a redelivered payment stopped above
        alerts.payment(message.from_user.id, float(paid.total_amount), paid.currency, paid.invoice_payload)
    if result.plan:
        key = (
            "billing-paid-renewal"
            if charge.is_recurring and not charge.is_first_recurring
            else "billing-paid-plan"
        )
        text = i18n(key, plan=plan_name(i18n, result.plan), until=_date(result.plan_expires_at),
                    credits=result.credits, balance=result.balance)  # fmt: skip
    else:
        text = i18n("billing-paid-pack", credits=result.credits, balance=result.balance)
    await message.answer(text)


@router.message(F.refunded_payment)
async def on_refunded_payment(
    message: Message, session: AsyncSession, billing: BillingService, i18n: Translator
) -> None:
    assert billing.stars is not None and message.refunded_payment is not None
    outcome = await billing.stars.record_refund(session, message.refunded_payment.telegram_payment_charge_id)
    if outcome.status == "refunded":
        await message.answer(
            _refund_text(i18n, outcome.amount, outcome.currency, outcome.credits_taken, outcome.plan_ended)
        )


def _refund_text(i18n: Translator, amount: int, currency: str, taken: int, plan_ended: bool) -> str:
    shown = str(amount) if currency == "XTR" else rubles(amount)
    symbol = "⭐" if currency == "XTR" else "₽"
    return i18n(
        "billing-refunded",
        amount=shown,
        currency=symbol,
        taken=taken,
        plan_ended="yes" if plan_ended else "no",
    )


@router.message(Command("refund"))
async def cmd_refund(
    message: Message, command: CommandObject, user: User, session: AsyncSession, billing: BillingService,
    i18n: Translator, bot: Bot,
) -> None:  # fmt: skip
    """Admins: /refund <telegram_payment_charge_id> gives the Stars back and takes the credits back."""
    if staff_role(user, billing.settings.admin_ids) is None:
        await message.answer(i18n("fallback-unknown-command"))
        return
    charge_id = (command.args or "").strip()
    if not charge_id:
        await message.answer(i18n("billing-refund-usage"))
        return
    assert billing.stars is not None
    outcome = await billing.stars.refund(session, bot, charge_id)
    if outcome.status == "unknown":
        await message.answer(i18n("billing-refund-unknown"))
        return
    if outcome.status == "duplicate":
        await message.answer(i18n("billing-refund-already"))
        return
    await message.answer(
        i18n(
            "billing-refund-done",
            user_id=str(outcome.user_id),
            taken=outcome.credits_taken,
            owed=outcome.credits_owed,
        )
    )
    await billing.announce_refund(outcome, refunded_by=user.id)


# --- /paysupport and /terms ------------------------------------------------------------------------


@router.message(Command("paysupport"))
async def cmd_paysupport(message: Message, command: CommandObject, user: User, billing: BillingService,
                         i18n: Translator, bot: Bot, ctx: Any) -> None:  # fmt: skip
    """Without text: how to get help. With text: forwarded to the admins (the admin chat, else each owner)
    with a button to answer it."""
    settings = billing.settings
    contact = settings.billing_support_contact.strip() or "none"
    text = (command.args or "").strip()
    admins = [settings.admin_chat_id] if settings.admin_chat_id else list(settings.admin_ids)
    if not text or not admins:
        await message.answer(i18n("billing-paysupport", contact=escape(contact)))
        return
    admin_i18n = ctx.i18n.translator(ctx.i18n.default)
    forwarded = admin_i18n(
        "billing-paysupport-admin",
        user=escape(user.full_name or str(user.id)),
        user_id=str(user.id),
        text=escape(text[:3000]),
    )
    for admin in admins:
        try:
            await bot.send_message(admin, forwarded, reply_markup=reply_keyboard(admin_i18n, user.id))
        except Exception:
            logger.warning("could not forward a payment support request to %s", admin)
    await message.answer(i18n("billing-paysupport-sent"))


@router.message(Command("terms"))
async def cmd_terms(message: Message, billing: BillingService, i18n: Translator) -> None:
    await message.answer(i18n("billing-terms", url=billing.settings.billing_terms_url or "none"))


# --- messages outside a conversation ---------------------------------------------------------------


class BillingNotices:
    """Tells users about payments settled outside a chat, referral bonuses and low credits, in their
    language. Best effort: a user who blocked the bot is logged, not retried."""

    def __init__(
        self,
        bot: Bot,
        i18n: I18n,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        warn_percent: int = 80,
        alerts: Any = None,
    ) -> None:
        self.bot = bot
        self.i18n = i18n
        self.session_factory = session_factory
        self.warn_percent = warn_percent
        self.alerts = alerts

    async def _translator(self, user_id: int) -> Translator:
        async with self.session_factory() as session:
            user = await session.get(User, user_id)
        return self.i18n.translator(user.language if user else self.i18n.default)

    async def _send(self, user_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        try:
            await self.bot.send_message(user_id, text, reply_markup=markup)
        except Exception:
            logger.warning("could not send a billing message to user %s", user_id, exc_info=True)

    async def payment_event(self, event: PaymentEvent) -> None:
        """A card payment was credited or canceled (from a notification or a re-check)."""
        order = event.order
        if order is None:
            return
        i18n = await self._translator(order.user_id)
        amount = rubles(order.amount)
        if event.kind == "credited" and event.fulfilment is not None:
            result = event.fulfilment
            if result.plan:
                text = i18n("billing-paid-plan", plan=plan_name(i18n, result.plan), until=_date(result.plan_expires_at),
                            credits=result.credits, balance=result.balance)  # fmt: skip
            else:
                text = i18n("billing-paid-pack", credits=result.credits, balance=result.balance)
            await self._send(order.user_id, text)
            if self.alerts is not None and hasattr(self.alerts, "payment"):
                self.alerts.payment(order.user_id, order.amount / 100, order.currency, order.product)
        elif event.kind == "canceled":
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=i18n("billing-button-buy"), callback_data=BuyCb(action="menu").pack()
                        )
                    ]
                ]
            )
            await self._send(order.user_id, i18n("billing-card-canceled", rubles=amount), markup)

    async def low_credits(self, user_id: int, balance: int) -> None:
        i18n = await self._translator(user_id)
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=i18n("billing-button-buy"), callback_data=BuyCb(action="menu").pack()
                    )
                ]
            ]
        )
        await self._send(
            user_id, i18n("billing-low-credits", percent=self.warn_percent, balance=balance), markup
        )

    async def refunded(self, outcome: RefundOutcome) -> None:
        """An admin refunded the user's payment: the same words as Telegram's refunded_payment gets."""
        assert outcome.user_id is not None
        i18n = await self._translator(outcome.user_id)
        text = _refund_text(i18n, outcome.amount, outcome.currency, outcome.credits_taken, outcome.plan_ended)
        await self._send(outcome.user_id, text)

    async def referral_bonus(self, bonus: ReferralBonus) -> None:
        invitee = await self._translator(bonus.invitee_id)
        await self._send(bonus.invitee_id, invitee("billing-referral-invitee", bonus=bonus.bonus))
        referrer = await self._translator(bonus.referrer_id)
        await self._send(bonus.referrer_id, referrer("billing-referral-referrer", bonus=bonus.bonus))
