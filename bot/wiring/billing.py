"""Wires billing into the AppContext: `ctx.services["billing"]` (handlers receive `billing`), the YooKassa
notification route (bot/web.py ROUTE_INSTALLERS, so polling, webhook and sandbox modes all serve it), and,
at start-up, the hooks into ingestion (limits and the charge before indexing, a refund for a failed book,
the referral bonus on a ready one) and into answering (each answer charged as it is recorded).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from services.billing.factory import build_billing
from services.billing.service import BillingService

if TYPE_CHECKING:
    from aiohttp import web

    from bot.context import AppContext

logger = logging.getLogger(__name__)


async def install(ctx: AppContext) -> None:
    billing = build_billing(ctx.settings, ctx.session_factory)
    ctx.services["billing"] = billing

    async def on_start(ctx: AppContext) -> None:
        from handlers.billing import BillingNotices

        assert ctx.bot is not None
        notices = BillingNotices(
            ctx.bot,
            ctx.i18n,
            ctx.session_factory,
            warn_percent=ctx.settings.billing_warn_at_percent,
            alerts=ctx.services.get("alerts"),
        )
        # Who tells users about card payments settled outside the chat and about admins' refunds.
        billing.notices.on_payment_event = notices.payment_event
        billing.notices.on_refund = notices.refunded
        hook_ingestion(ctx, billing, notices)
        hook_answers(ctx, billing, notices)

    async def on_stop(ctx: AppContext) -> None:
        if billing.yookassa is not None:
            await billing.yookassa.gateway.aclose()

    ctx.startup_hooks.append(on_start)
    ctx.shutdown_hooks.append(on_stop)


def install_routes(app: web.Application, ctx: AppContext) -> None:
    """The YooKassa notification endpoint at YOOKASSA_WEBHOOK_PATH (only when YooKassa is configured)."""
    from services.billing.webhook import YooKassaWebhook

    billing: BillingService | None = ctx.services.get("billing")
    if billing is None or billing.yookassa is None:
        return
    settings = ctx.settings
    webhook = YooKassaWebhook(
        billing.yookassa,
        ctx.session_factory,
        trusted_networks=settings.yookassa_trusted_networks,
        trusted_proxies=settings.yookassa_trusted_proxies,
        on_event=billing.announce,
    )
    app.router.add_post(settings.yookassa_webhook_path, webhook.handle)
    logger.info("YooKassa notifications at %s", settings.yookassa_webhook_path)


def hook_ingestion(ctx: AppContext, billing: BillingService, notices: Any = None) -> None:
    """Charge for a book once its pages are known (before indexing), give the credits back if it fails,
    and pay the referral bonus when an invited user's book is ready."""
    ingestion: Any = ctx.services.get("ingestion")
    if ingestion is None or getattr(ingestion, "_billing_hooked", False):
        return
    from services.billing.ingestion_hooks import IngestionBilling

    hooks = IngestionBilling(billing, ctx.session_factory, notices)
    if isinstance(getattr(ingestion, "before_index", None), list):
        ingestion.before_index.append(hooks.before_index)
    if callable(getattr(ingestion, "subscribe", None)):
        ingestion.subscribe(hooks.on_progress)
    ingestion._billing_hooked = True


def hook_answers(ctx: AppContext, billing: BillingService, notices: Any = None) -> None:
    """Hold and charge every answer, chapter summary and study question, and charge every whole-book
    summary in the transaction that stores it."""
    answers: Any = ctx.services.get("answers")
    if answers is None or getattr(answers, "charges", None) is not None:
        return
    from services.billing.chat_hooks import AnswerBilling

    charges = AnswerBilling(billing, notices)
    answers.charges = charges
    summaries: Any = ctx.services.get("summaries")
    if isinstance(getattr(summaries, "before_store", None), list):
        summaries.before_store.append(charges.before_store)
    # Chapter summaries and study questions are held and settled like answers.
    for name in ("summaries", "study"):
        service = ctx.services.get(name)
        if service is not None and hasattr(service, "charges"):
            service.charges = charges
