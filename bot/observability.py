"""What each process tells its operators: log lines (structlog; console or JSON), error reports to Sentry
(when SENTRY_DSN is set, with users' text scrubbed), and Prometheus metrics on /metrics.

Every log line carries what is bound in the current context: `update_id` and `user_id` while an update is
handled (bot/middlewares/observability.py binds them), `task_id` while a background task runs
(services.observability.metrics.track_task). Existing `logging.getLogger(...)` calls go through the same
formatter, so nothing has to change to get them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from services.observability import metrics

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

SCRUBBED = "[scrubbed]"

# ------------------------------------------------------------------ logs


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]


def log_formatter(log_format: str) -> logging.Formatter:
    """A logging.Formatter that writes one JSON object a line (`json`) or a readable line (`console`),
    each with the context bound at the time (update_id, user_id, task_id, ...)."""
    renderer: Any
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        final: list[Any] = [structlog.processors.format_exc_info, renderer]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        final = [renderer]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )


def setup_logging(level: str = "INFO", log_format: str = "console", stream: Any = None) -> logging.Handler:
    """Route every log line of the process (stdlib logging and structlog) through one handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(log_formatter(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_librarity", False):
            root.removeHandler(old)
    handler._librarity = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # APScheduler announces every job it adds at INFO; our own line says which jobs the scheduler runs.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[*_shared_processors()[:-1], structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return handler


# ------------------------------------------------------------------ Sentry

# Keys whose values are what users wrote or read: messages, captions, button data, questions, answers,
# quotes, prompts. Wherever they appear in an event (request bodies, extra, breadcrumbs, contexts), the
# value is replaced.
SENSITIVE_KEYS = frozenset(
    {
        "text",
        "caption",
        "data",
        "callback_data",
        "query",
        "question",
        "answer",
        "prompt",
        "prompts",
        "system",
        "messages",
        "content",
        "contents",
        "input",
        "inputs",
        "body",
        "html",
        "quote",
        "passage",
        "passages",
        "file_name",
        "title",
        "first_name",
        "last_name",
        "username",
        "email",
        "phone_number",
        "cookies",
        "params",
        "formatted",
    }
)


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: SCRUBBED if key in SENSITIVE_KEYS else _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_send (also before_send_transaction): the event without users' text.

    Dropped: local variables of every stack frame (they hold messages, prompts, book text), request
    bodies and cookies, the values formatted into log messages (the template stays), user fields other
    than the id; and any SENSITIVE_KEYS value anywhere else."""
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string"):
            if key in request:
                request[key] = SCRUBBED
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        logentry.pop("params", None)
        logentry.pop("formatted", None)
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    for key in ("extra", "contexts", "breadcrumbs", "request", "tags"):
        if key in event:
            event[key] = _scrub(event[key])
    return event


def before_send(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ids bound where the error happened (update_id, task, task_id as tags; user_id as the user),
    then the event scrubbed."""
    bound = structlog.contextvars.get_contextvars()
    tags = event.setdefault("tags", {})
    for key in ("update_id", "task", "task_id"):
        if key in bound:
            tags[key] = str(bound[key])
    if "user_id" in bound:
        event["user"] = {"id": str(bound["user_id"])}
    return scrub_event(event, hint)


def setup_sentry(settings: Settings, *, release: str | None = None) -> bool:
    """Start reporting errors to Sentry when SENTRY_DSN is set; True when it started."""
    dsn = settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else ""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=settings.sentry_environment,
        release=release,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=before_send,  # type: ignore[arg-type]
        before_send_transaction=scrub_event,  # type: ignore[arg-type]
        before_breadcrumb=lambda crumb, hint: _scrub(crumb),
        integrations=[LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
    )
    logger.info("error reports go to Sentry (%s)", settings.sentry_environment)
    return True


def sentry_active() -> bool:
    import sentry_sdk

    return sentry_sdk.get_client().is_active()


# ------------------------------------------------------------------ metrics over HTTP


async def metrics_view(request: web.Request) -> web.Response:
    body = metrics.render()
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})


def install_metrics_route(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics_view)


async def serve_metrics(
    host: str, port: int, *, readyz: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None
) -> web.AppRunner:
    """A small HTTP server with /metrics, /healthz and (given) /readyz, for processes that serve nothing
    else (worker, scheduler). Stop it with `await runner.cleanup()`."""

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    install_metrics_route(app)
    app.router.add_get("/healthz", healthz)
    if readyz is not None:
        app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    logger.info("metrics at http://%s:%d/metrics", host, port)
    return runner
