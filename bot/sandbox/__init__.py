"""The sandbox: a local Telegram (Bot API emulator, user JSON API, web chat page) for the real bot."""

from bot.sandbox.emulator import SandboxEmulator, create_app
from bot.sandbox.models import SandboxConfig

__all__ = ["SandboxConfig", "SandboxEmulator", "create_app"]
