"""Builds what brings readers back into the AppContext.

Services: ctx.services["streaks"] (ReadingStreaks on the bot's clock: the sandbox's movable one)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.engagement.streaks import ReadingStreaks

if TYPE_CHECKING:
    from bot.context import AppContext


async def install(ctx: AppContext) -> None:
    ctx.services["streaks"] = ReadingStreaks(ctx.services["clock"])
