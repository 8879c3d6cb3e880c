"""Running the real bot against the sandbox: the emulator, a Bot whose session points at it, and polling.

`run_sandbox(settings)` is what `librarity sandbox` (and `librarity run` without BOT_TOKEN) calls.
`start_sandbox(app_factory)` is the same as an async context manager, for e2e tests and benchmarks; the
factory builds the Dispatcher (and whatever it needs), so this module knows nothing of the bot's insides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from bot.sandbox.emulator import SandboxEmulator
from bot.sandbox.history import ChatHistory
from bot.sandbox.models import SandboxConfig
from services.jobs.clock import ShiftedClock

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

#: aiogram wants "<digits>:<secret>"; the emulator accepts any token of that shape.
SANDBOX_TOKEN = "7000000001:sandbox-local-token"
READY_TIMEOUT = 30.0


@dataclass
class SandboxApp:
    """What the sandbox runs: the bot's Dispatcher and how to start and stop what it depends on."""

    dispatcher: Dispatcher
    bot_defaults: DefaultBotProperties | None = None
    #: Adds the bot's own HTTP routes (health, payment notifications) to the sandbox server.
    install_routes: Callable[[web.Application], None] | None = None
    on_shutdown: Callable[[], Awaitable[None]] | None = None
    #: The bot's clock: the sandbox adopts it as Telegram's time, so moving the sandbox's clock (its
    #: control API) moves what the bot's scheduled jobs see.
    clock: ShiftedClock | None = None


AppFactory = Callable[[], Awaitable[SandboxApp]]


@dataclass
class RunningSandbox:
    emulator: SandboxEmulator
    bot: Bot
    dispatcher: Dispatcher
    polling: asyncio.Task[None]

    @property
    def base_url(self) -> str:
        return self.emulator.base_url


def librarity_app(settings: Settings) -> AppFactory:
    """The factory for Librarity itself: its context, Dispatcher, defaults and HTTP routes."""

    async def build() -> SandboxApp:
        from bot.app import build_context
        from bot.dispatcher import build_dispatcher
        from bot.factory import bot_defaults
        from bot.web import install_routes

        ctx = await build_context(settings)
        clock = ctx.services.get("clock")
        return SandboxApp(
            dispatcher=build_dispatcher(ctx),
            bot_defaults=bot_defaults(),
            install_routes=lambda app: install_routes(app, ctx),
            on_shutdown=ctx.close,
            clock=clock if isinstance(clock, ShiftedClock) else None,
        )

    return build


async def _wait_until_polling(sandbox: RunningSandbox) -> None:
    """Return once the bot asks for updates (its startup hooks have run), or raise why it never did."""
    polled = asyncio.ensure_future(sandbox.emulator.world.updates.polled.wait())
    try:
        done, _ = await asyncio.wait(
            {polled, sandbox.polling}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        polled.cancel()
    if sandbox.polling in done:
        sandbox.polling.result()
        raise RuntimeError("polling stopped before it started")
    if not done:
        raise TimeoutError("the bot did not start polling the sandbox")


@contextlib.asynccontextmanager
async def start_sandbox(
    app_factory: AppFactory,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    config: SandboxConfig | None = None,
    token: str = SANDBOX_TOKEN,
    polling_timeout: int = 10,
    handle_signals: bool = False,
    history: ChatHistory | None = None,
) -> AsyncIterator[RunningSandbox]:
    """The emulator on host:port (0: a free port) and the bot polling it, until the block ends; with
    `history`, the chats saved last time are back and are saved as they change."""
    emulator = SandboxEmulator(config, host=host, port=port)
    if history is not None:
        history.load(emulator.world)
    app = await app_factory()
    if app.clock is not None:
        emulator.world.clock = app.clock
    saving = asyncio.create_task(history.keep_saving(emulator.world)) if history is not None else None
    try:
        if app.install_routes is not None:
            app.install_routes(emulator.app)
        await emulator.start()
        session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
        bot = Bot(token, session=session, default=app.bot_defaults)
        polling = asyncio.create_task(
            app.dispatcher.start_polling(bot, polling_timeout=polling_timeout, handle_signals=handle_signals)
        )
        sandbox = RunningSandbox(emulator, bot, app.dispatcher, polling)
        try:
            await _wait_until_polling(sandbox)
            yield sandbox
        finally:
            await _stop_polling(sandbox)
            # The app's shutdown may still send (grouped admin alerts), so Telegram stays up until it ends.
            await _shut_down(app)
            await bot.session.close()
    finally:
        await _shut_down(app)
        if saving is not None:
            saving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saving
        await emulator.stop()
        release_routers(app.dispatcher)


async def _shut_down(app: SandboxApp) -> None:
    if app.on_shutdown is not None:
        on_shutdown, app.on_shutdown = app.on_shutdown, None
        await on_shutdown()


async def _stop_polling(sandbox: RunningSandbox) -> None:
    if not sandbox.polling.done():
        with contextlib.suppress(RuntimeError):  # polling not started yet: cancel below instead
            await sandbox.dispatcher.stop_polling()
    if not sandbox.polling.done():
        sandbox.polling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sandbox.polling


def release_routers(dispatcher: Dispatcher) -> None:
    """Let the next Dispatcher include the same routers (handler modules keep them as singletons).

    aiogram has no public way to detach a router, and refuses to attach one twice.
    """
    for router in dispatcher.sub_routers:
        router._parent_router = None
    dispatcher.sub_routers.clear()


async def run_sandbox(
    settings: Settings | None = None,
    *,
    app_factory: AppFactory | None = None,
    host: str | None = None,
    port: int | None = None,
    config: SandboxConfig | None = None,
) -> None:
    """Serve the sandbox and run the bot until interrupted (Librarity's own bot unless a factory is given)."""
    if app_factory is None:
        if settings is None:
            raise ValueError("run_sandbox needs settings or an app_factory")
        app_factory = librarity_app(settings)
    host = host or (settings.sandbox_host if settings else "127.0.0.1")
    port = port if port is not None else (settings.sandbox_port if settings else 8080)
    history = ChatHistory(settings.data_dir / "sandbox" / "chats.json") if settings is not None else None
    async with start_sandbox(
        app_factory, host=host, port=port, config=config, handle_signals=True, history=history
    ) as sandbox:
        print(ready_banner(sandbox.base_url), flush=True)
        await sandbox.polling


def ready_banner(base_url: str) -> str:
    """The last thing start-up prints, set apart from the log lines above it: where to chat."""
    lines = [
        f"Librarity sandbox is ready: {base_url}/",
        "Open it in a browser, send the bot a book, then ask it anything. Ctrl+C stops it.",
    ]
    rule = "=" * max(len(line) for line in lines)
    return "\n".join(["", rule, *lines, rule, ""])
