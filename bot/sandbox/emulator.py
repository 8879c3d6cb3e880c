"""The sandbox server: the Bot API emulator, the user JSON API and the web chat page on one aiohttp app.

async with SandboxEmulator(port=0) as emulator:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url)))
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from aiohttp import web

from bot.sandbox import botapi, controlapi, userapi
from bot.sandbox.botapi import WORLD_KEY, call_method
from bot.sandbox.models import SandboxConfig
from bot.sandbox.webhook import WebhookPusher
from bot.sandbox.world import SandboxWorld

STATIC_DIR = Path(__file__).parent / "static"
# aiohttp refuses bigger bodies outright; below this the emulator answers uploads with Telegram's 413.
_BODY_MARGIN = 8 * 1024 * 1024
_SHUTDOWN_SECONDS = 2.0
_PUSHER_KEY = web.AppKey("sandbox_webhook_pusher", WebhookPusher)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def _stop_pusher(app: web.Application) -> None:
    await app[_PUSHER_KEY].stop()


def create_app(world: SandboxWorld) -> web.Application:
    app = web.Application(
        client_max_size=world.config.max_upload_size + _BODY_MARGIN,
        middlewares=[userapi.user_api_errors],
    )
    app[WORLD_KEY] = world
    app[_PUSHER_KEY] = WebhookPusher(world, call_method)
    app.on_cleanup.append(_stop_pusher)
    botapi.add_routes(app)
    userapi.add_routes(app)
    controlapi.add_routes(app)
    app.router.add_get("/", _index)
    app.router.add_static("/static", STATIC_DIR)
    return app


class SandboxEmulator:
    """A local Telegram on host:port (port 0 picks a free one)."""

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.world = SandboxWorld(config)
        self.host = host
        self.port = port
        self.app = create_app(self.world)
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Serve until stop(); the base URL the bot's TelegramAPIServer and the user API use."""
        # No access log: the page polls every 700 ms and would bury the bot's own log lines.
        self._runner = web.AppRunner(
            self.app, handle_signals=False, shutdown_timeout=_SHUTDOWN_SECONDS, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.base_url

    async def stop(self) -> None:
        # Long polls and waiting queries return first, so shutting down does not wait for them.
        self.world.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SandboxEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
