"""AdminService: what the admin handlers receive as `admin` — its parts, plus the actions that span them
(broadcasts and exports with their audit entries, the overview with its chart)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.admin.actor import Actor
from services.admin.audit import AuditAction, AuditLog
from services.admin.bans import BanRegistry
from services.admin.books import BookAdmin
from services.admin.charts import ChartLabels, growth_chart
from services.admin.deps import Dependencies
from services.admin.exports import export_payments, export_users
from services.admin.payments import PaymentAdmin
from services.admin.progress import ProgressWatcher
from services.admin.search import UserSearch
from services.admin.users import UserAdmin
from services.config import ServiceSettings
from services.notifications.broadcast import Audience, BroadcastProgress

ExportName = Literal["users", "payments"]


@dataclass(frozen=True, slots=True)
class ExportFile:
    path: Path
    rows: int

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _temporary_csv(directory: Path, kind: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(prefix=f"{kind}-", suffix=".csv", dir=directory, delete=False)
    handle.close()
    return Path(handle.name)


class AdminService:
    def __init__(
        self,
        settings: ServiceSettings,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        services: Mapping[str, Any] | None = None,
        progress_interval: float = 3.0,
        **overrides: Any,
    ) -> None:
        self.settings = settings
        self.deps = Dependencies(settings, session_factory, services, **overrides)
        self.audit = AuditLog()
        self.bans = BanRegistry()
        self.search = UserSearch()
        self.users = UserAdmin(self.deps, self.audit, self.bans)
        self.books = BookAdmin(self.deps, self.audit)
        self.payments = PaymentAdmin(self.deps, self.audit)
        self.watcher = ProgressWatcher(progress_interval)

    @property
    def broadcasts(self) -> Any:
        """The notifications engine's BroadcastService (AdminError "unavailable" when not installed)."""
        return self.deps.broadcasts()

    async def close(self) -> None:
        await self.watcher.stop()

    # --- overview ---------------------------------------------------------------------------------

    async def overview(self, now: datetime) -> Any:
        """The analytics Overview (users, activity, books, questions, revenue, LLM cost)."""
        return await self.deps.metrics().overview(now)

    async def growth_chart(self, now: datetime, labels: ChartLabels, days: int = 30) -> bytes:
        points = await self.deps.metrics().daily_series(now, days)
        return await growth_chart(points, labels)

    # --- exports ----------------------------------------------------------------------------------

    async def export(self, session: AsyncSession, actor: Actor, kind: ExportName) -> ExportFile:
        """Write the CSV to a temporary file (the caller sends it, then `remove()`s it); audited."""
        path = await asyncio.to_thread(_temporary_csv, self.settings.data_dir / "tmp", kind)
        try:
            writer = export_users if kind == "users" else export_payments
            rows = await writer(session, path)
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        action = AuditAction.EXPORT_USERS if kind == "users" else AuditAction.EXPORT_PAYMENTS
        await self.audit.record(session, actor.id, action, rows=rows)
        await session.commit()
        return ExportFile(path, rows)

    # --- broadcasts (the notifications engine sends; this adds the audit trail) ---------------------

    async def create_broadcast(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        text: str | None,
        photo_file_id: str | None,
        button: tuple[str, str] | None,
        audience: Audience,
    ) -> int:
        engine = self.deps.broadcasts()
        broadcast_id: int = await engine.create(
            author_id=actor.id, text=text, photo_file_id=photo_file_id, button=button, audience=audience
        )
        await self.audit.record(
            session, actor.id, AuditAction.BROADCAST_CREATE, None,
            broadcast_id=broadcast_id, audience=audience.kind, value=audience.value, photo=photo_file_id is not None,
        )  # fmt: skip
        await session.commit()
        return broadcast_id

    async def start_broadcast(
        self, session: AsyncSession, actor: Actor, broadcast_id: int
    ) -> BroadcastProgress:
        progress: BroadcastProgress = await self.deps.broadcasts().start(broadcast_id)
        await self.audit.record(
            session,
            actor.id,
            AuditAction.BROADCAST_START,
            None,
            broadcast_id=broadcast_id,
            total=progress.total,
        )
        await session.commit()
        return progress

    async def cancel_broadcast(
        self, session: AsyncSession, actor: Actor, broadcast_id: int
    ) -> BroadcastProgress:
        progress: BroadcastProgress = await self.deps.broadcasts().cancel(broadcast_id)
        await self.audit.record(
            session,
            actor.id,
            AuditAction.BROADCAST_CANCEL,
            None,
            broadcast_id=broadcast_id,
            sent=progress.sent,
        )
        await session.commit()
        return progress
