"""`librarity bench <name>|all`: the benchmarks, one module each under bot/bench/."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from bot.settings import Settings

# benchmark name -> module with `add_arguments(parser)` and `async run(args, settings) -> int`
BENCHMARKS = {
    "retrieval": "bot.bench.retrieval",
    "ingest": "bot.bench.ingest",
    "updates": "bot.bench.updates",
    "load": "bot.bench.load",
    "search": "bot.bench.search",
    "answers": "bot.bench.answers",
}


def add_parser(sub: Any, *, detailed: bool = True) -> None:
    """`detailed`: with each benchmark's own options (importing its module); other commands skip that."""
    parser = sub.add_parser("bench", help="measure retrieval quality, ingestion speed and the bot under load")
    which = parser.add_subparsers(dest="benchmark", required=True)
    for name, module_name in BENCHMARKS.items():
        child = which.add_parser(name, help=f"the {name} benchmark")
        module = _module(module_name) if detailed else None
        if module is not None and hasattr(module, "add_arguments"):
            module.add_arguments(child)
    every = which.add_parser("all", help="every benchmark with its defaults, one after another")
    every.add_argument("--limit", type=int, default=None, help="passed to the benchmarks that take it")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    names = list(BENCHMARKS) if args.benchmark == "all" else [args.benchmark]
    status = 0
    for name in names:
        module = _module(BENCHMARKS[name])
        if module is None:
            print(f"bench {name}: not available yet ({BENCHMARKS[name]} is missing)")
            status = status or 1
            continue
        child_args = args
        if args.benchmark == "all":
            # Each benchmark's own defaults, with the shared --limit.
            parser = argparse.ArgumentParser()
            if hasattr(module, "add_arguments"):
                module.add_arguments(parser)
            child_args = parser.parse_args([])
            if getattr(args, "limit", None) is not None and hasattr(child_args, "limit"):
                child_args.limit = args.limit
        status = await module.run(child_args, settings) or status
    return status


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and name.startswith(error.name):
            return None
        raise
