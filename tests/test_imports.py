"""The import graph: the domain (services/) never reaches up into the bot's wiring (bot/) or the handlers,
and nothing that bot/app.py imports imports bot/app.py back (no cycle through the composition root)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = ("bot", "handlers", "services", "db", "locales")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str | None = None) -> list[tuple[str, int]]:
    """Every module this file imports (at the top, inside functions, or under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = (name or _module_name(path)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((module, node.lineno))
            # `from bot import app` imports bot.app
            found.extend((f"{module}.{alias.name}", node.lineno) for alias in node.names)
    return found


def _python_files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)


def test_services_never_import_bot_or_handlers() -> None:
    files = _python_files("services")
    assert len(files) > 20  # the walk really found the services
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in files
        for module, line in _imports(path)
        if module.split(".")[0] in ("bot", "handlers")
    ]
    assert offending == []


def test_the_walk_sees_imports_of_every_form(tmp_path: Path) -> None:
    """The checker itself: a plain, a from-, a relative and a TYPE_CHECKING import of bot are all seen."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nimport bot.app\nfrom bot import settings\n"
        "from ...handlers import start\nif TYPE_CHECKING:\n    from handlers.chat import router\n",
        encoding="utf-8",
    )
    modules = {m for m, _ in _imports(sample, "services.chat.sample")}
    assert {"bot.app", "bot.settings", "handlers.start", "handlers.chat"} <= modules


def _graph() -> dict[str, set[str]]:
    files = [p for folder in FIRST_PARTY for p in _python_files(folder)]
    names = {_module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        edges = set()
        for module, _line in _imports(path):
            # a module or the package that holds it, whichever is ours
            while module and module not in names:
                module = module.rpartition(".")[0]
            if module and module != _module_name(path):
                edges.add(module)
        graph[_module_name(path)] = edges
    return graph


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A path of imports from start to goal, or None."""
    seen = {start}
    stack = [(start, [start])]
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == goal:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_no_import_cycle_through_the_composition_root() -> None:
    graph = _graph()
    assert graph.get("bot.app")
    cycle = _reaches(graph, "bot.app", "bot.app")
    assert cycle is None, " -> ".join(cycle or [])


def test_services_and_handlers_never_reach_the_composition_root() -> None:
    """Nothing in services/ or handlers/ leads to bot/app.py, however indirectly."""
    graph = _graph()
    leaks = {
        name: path
        for name in graph
        if name.split(".")[0] in ("services", "handlers")
        and (path := _reaches(graph, name, "bot.app")) is not None
    }
    assert leaks == {}
