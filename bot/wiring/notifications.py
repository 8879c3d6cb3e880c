"""Builds notifications, broadcasts, admin alerts, analytics and the scheduled jobs into the AppContext.

Services: ctx.services["clock"] (the real time; a ShiftedClock the sandbox can move when BOT_TOKEN is
unset), ["sender"], ["alerts"], ["analytics"], ["metrics"], ["notifier"],
["broadcasts"], ["jobs"] (the JobRunner, usable without the scheduler). The scheduler itself starts in the
startup hook when SCHEDULER_ENABLED (or from `librarity scheduler`) and stops at shutdown.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from services.analytics.events import Analytics
from services.analytics.metrics import Metrics
from services.jobs.clock import ShiftedClock, SystemClock
from services.jobs.runner import JobRunner
from services.jobs.scheduler import JobScheduler
from services.jobs.tasks import BillingHooks, JobContext, job_specs
from services.notifications.alerts import AdminAlerts
from services.notifications.broadcast import BroadcastService
from services.notifications.notifier import Notifier
from services.notifications.sender import Sender

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.context import AppContext

logger = logging.getLogger(__name__)


async def install(ctx: AppContext) -> None:
    settings = ctx.settings
    # Without BOT_TOKEN this is the sandbox's bot: its clock is the one the sandbox's control API moves.
    clock = ShiftedClock() if settings.sandbox else SystemClock()
    sender = Sender(None, ctx.session_factory, rate=settings.send_rate_per_second)
    alerts = AdminAlerts(
        sender,
        ctx.i18n,
        ctx.session_factory,
        admin_ids=settings.admin_ids,
        admin_chat_id=settings.admin_chat_id,
        flush_interval=settings.alerts_flush_seconds,
    )
    analytics = Analytics(ctx.session_factory, clock)
    notifier = Notifier(
        ctx.session_factory,
        sender,
        ctx.i18n,
        clock,
        alerts=alerts,
        analytics=analytics,
        book_slow_after=timedelta(seconds=settings.book_notify_after_seconds),
    )
    broadcasts = BroadcastService(ctx.session_factory, sender, clock)
    broadcasts.tasks = ctx.services.get("tasks")  # sent by the `send_broadcast` task
    metrics = Metrics(ctx.session_factory)
    job_context = JobContext(
        settings=settings,
        session_factory=ctx.session_factory,
        clock=clock,
        i18n=ctx.i18n,
        notifier=notifier,
        metrics=metrics,
        alerts=alerts,
    )
    runner = JobRunner(job_specs(settings), job_context, ctx.session_factory)
    ctx.services.update(
        clock=clock,
        sender=sender,
        alerts=alerts,
        analytics=analytics,
        metrics=metrics,
        notifier=notifier,
        broadcasts=broadcasts,
        jobs=runner,
    )
    _listen_for_errors()

    async def on_start(ctx: AppContext) -> None:
        assert ctx.bot is not None
        await start_services(ctx, ctx.bot, scheduler=settings.scheduler_enabled, broadcasts=True)

    async def on_stop(ctx: AppContext) -> None:
        await stop_services(ctx)

    ctx.startup_hooks.append(on_start)
    ctx.shutdown_hooks.append(on_stop)


async def start_services(ctx: AppContext, bot: Bot, *, scheduler: bool, broadcasts: bool) -> None:
    """Give the sender its Bot, start the alert and analytics flushers, listen to the LLM router's
    health, resume broadcasts and start the scheduler (each only where this process should)."""
    ctx.services["sender"].bot = bot
    await ctx.services["alerts"].start()
    await ctx.services["analytics"].start()
    _listen_to_llm_health(ctx)
    _listen_to_ingestion(ctx)
    ctx.services["jobs"].context.billing = billing_hooks(ctx.services)
    plan_members = _find_method(ctx.services, "plan_members")
    if plan_members is not None:
        ctx.services["broadcasts"].plan_members = plan_members
    if broadcasts:
        resumed = await ctx.services["broadcasts"].resume_unfinished()
        if resumed:
            logger.info("resuming broadcasts %s", resumed)
    if scheduler:
        job_scheduler = JobScheduler(ctx.services["jobs"])
        job_scheduler.start()
        ctx.services["scheduler"] = job_scheduler


async def stop_services(ctx: AppContext) -> None:
    job_scheduler = ctx.services.pop("scheduler", None)
    if job_scheduler is not None:
        await job_scheduler.stop()
    await ctx.services["broadcasts"].stop()
    await ctx.services["alerts"].stop()
    await ctx.services["analytics"].stop()


def billing_hooks(services: dict[str, Any]) -> BillingHooks:
    """Billing's scheduled functions, found on whichever installed service offers them (billing's
    BillingService, its payments service); absent ones stay None and their jobs report "skipped"."""
    found: dict[str, Any] = {}
    for name in ("renew_due", "expire_trials", "trials_ending_within", "recheck_pending"):
        for service in services.values():
            method = getattr(service, name, None)
            if callable(method):
                found[name] = method
                break
    return BillingHooks(**found)


def _find_method(services: dict[str, Any], name: str) -> Any:
    for service in services.values():
        method = getattr(service, name, None)
        if callable(method):
            return method
    return None


async def _on_error(ctx: Any, update_id: int, exception: BaseException) -> None:
    alerts = getattr(ctx, "services", {}).get("alerts")
    if alerts is not None:
        alerts.error(update_id, exception)


def _listen_for_errors() -> None:
    from handlers.errors import ERROR_LISTENERS

    if _on_error not in ERROR_LISTENERS:
        ERROR_LISTENERS.append(_on_error)


def _listen_to_ingestion(ctx: AppContext) -> None:
    ingestion = ctx.services.get("ingestion")
    notifier: Notifier = ctx.services["notifier"]
    if ingestion is None or not callable(getattr(ingestion, "subscribe", None)):
        return
    if not getattr(ingestion, "_notifier_listening", False):
        ingestion.subscribe(notifier.on_ingestion_progress)
        ingestion._notifier_listening = True


def _listen_to_llm_health(ctx: AppContext) -> None:
    from services.llm.router import HealthEvent, LLMRouter

    alerts: AdminAlerts = ctx.services["alerts"]

    async def on_health(event: HealthEvent) -> None:
        detail = (
            str(event.error)
            if event.error
            else (f"{event.down_for_seconds:.0f}s" if event.down_for_seconds else "")
        )
        alerts.llm_health(event.provider, event.up, detail)

    for service in list(ctx.services.values()):
        router = service if isinstance(service, LLMRouter) else getattr(service, "router", None)
        if isinstance(router, LLMRouter) and not getattr(router, "_alerts_listening", False):
            router.add_health_listener(on_health)
            router._alerts_listening = True  # type: ignore[attr-defined]


def now_of(ctx: AppContext) -> datetime:
    return ctx.services["clock"].now()
