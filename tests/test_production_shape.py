"""The production shape: docker-compose.yml runs two webhook replicas behind the proxy, two workers, one
scheduler, PostgreSQL, Redis and Qdrant, each with a health check; /readyz asks the database, Redis, the
vector store and the task broker, and names what does not answer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from bot.app import build_context
from bot.context import AppContext
from bot.settings import Settings
from bot.web import install_routes, readiness_checks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return loaded


def _replicas(service: dict[str, Any]) -> int:
    return int((service.get("deploy") or {}).get("replicas", 1))


def test_compose_has_every_role_with_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    bots = {name: s for name, s in services.items() if s.get("command") == ["librarity", "run"]}
    assert sum(_replicas(s) for s in bots.values()) == 2
    workers = [s for s in services.values() if s.get("command") == ["librarity", "worker"]]
    assert sum(_replicas(s) for s in workers) == 2
    schedulers = [s for s in services.values() if s.get("command") == ["librarity", "scheduler"]]
    assert sum(_replicas(s) for s in schedulers) == 1
    assert {"postgres", "redis", "qdrant", "proxy"} <= services.keys()
    for name, service in services.items():
        if service.get("restart") == "no":  # one-shot jobs (migrate) are waited for, not health-checked
            continue
        check = service.get("healthcheck") or {}
        assert not check.get("disable") and check.get("test"), f"{name} has no health check"


def test_bots_take_the_webhook_and_the_proxy_passes_to_both(compose: dict[str, Any]) -> None:
    services = compose["services"]
    bots = [name for name, s in services.items() if s.get("command") == ["librarity", "run"]]
    for name in bots:
        env = services[name]["environment"]
        assert env.get("WEBHOOK_URL") and env.get("WEBHOOK_SECRET"), name
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])
        assert env["REDIS_URL"] and env["QDRANT_URL"] and env["DATABASE_URL"].startswith("postgresql")
    proxy = services["proxy"]
    [mount] = [v for v in proxy["volumes"] if "Caddyfile" in v]
    caddyfile = (ROOT / mount.split(":")[0].removeprefix("./")).read_text(encoding="utf-8")
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams is not None
    assert {f"{name}:8443" for name in bots} == set(upstreams.group(1).split())
    assert "/telegram/webhook" in caddyfile and "health_uri /readyz" in caddyfile
    assert set(proxy["depends_on"]) == set(bots)


def test_workers_and_scheduler_serve_metrics_where_checked(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("worker", "scheduler"):
        service = services[name]
        port = service["environment"]["METRICS_PORT"]
        assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["SCHEDULER_ENABLED"] == "false" or name == "scheduler"


async def _readyz(ctx: AppContext) -> tuple[int, dict[str, Any]]:
    app = web.Application()
    install_routes(app, ctx)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/readyz") as response,
        ):
            return response.status, await response.json()
    finally:
        await runner.cleanup()


@pytest.fixture
async def context_for() -> AsyncIterator[Callable[[Settings], Any]]:
    built: list[AppContext] = []

    async def build(settings: Settings) -> AppContext:
        ctx = await build_context(settings)
        built.append(ctx)
        return ctx

    yield build
    for ctx in built:
        await ctx.close()


async def test_readyz_asks_the_database_and_the_vector_store(
    settings: Settings, context_for: Callable[[Settings], Any]
) -> None:
    ctx = await context_for(settings)
    assert await _readyz(ctx) == (200, {"ok": True})
    assert {"database", "vector_store"} <= readiness_checks(ctx).keys()


@pytest.mark.filterwarnings("ignore:Failed to obtain server version:UserWarning")
async def test_readyz_names_a_vector_store_that_does_not_answer(
    make_settings: Callable[..., Settings], redis_url: str, context_for: Callable[[Settings], Any]
) -> None:
    """Qdrant's URL points where nothing listens: 503 naming the vector store, while the database, Redis
    (and the broker on Redis, when background work runs on it) answer."""
    ctx = await context_for(make_settings(redis_url=redis_url, qdrant_url="http://127.0.0.1:9"))
    assert await _readyz(ctx) == (503, {"ok": False, "down": ["vector_store"]})
    checked = readiness_checks(ctx).keys()
    assert {"database", "redis", "vector_store"} <= checked
    if getattr(getattr(ctx.services.get("tasks"), "broker", None), "connection_pool", None) is not None:
        assert "broker" in checked
