"""`librarity run` with no token, as a newcomer starts it: the model is warmed before the sandbox says it
is ready, and the line with the sandbox's address comes last, after the start-up's log lines."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

READY = "Librarity sandbox is ready: "


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_sandbox_address_is_the_last_thing_start_up_prints(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BOT_", "REDIS_", "DATABASE_", "QDRANT_", "LLM_", "EMBEDDINGS_", "SANDBOX_"))
    }
    env.update(DATA_DIR=str(tmp_path / "data"), SANDBOX_PORT=str(port), LOG_FORMAT="console", LLM_ORDER="")
    log = tmp_path / "out.txt"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while READY not in log.read_text("utf-8", "replace"):
                assert process.poll() is None, log.read_text("utf-8", "replace")
                assert time.monotonic() < deadline, log.read_text("utf-8", "replace")
                time.sleep(0.2)
            time.sleep(3)  # the jobs' catch-up runs now, on a fresh data folder with nothing to do
        finally:
            process.terminate()
            process.wait(timeout=30)
    lines = log.read_text("utf-8", "replace").splitlines()
    banner = next(n for n, line in enumerate(lines) if READY in line)
    assert lines[banner].endswith(f"http://127.0.0.1:{port}/")
    before, after = lines[:banner], lines[banner + 1 :]
    assert any("embedding model ready in" in line for line in before)
    assert any("Start polling" in line for line in before)
    assert not any("Adding job" in line for line in lines)
    # After the address: how to use it, the closing rule, and no log line until the process is stopped.
    stopping = next((n for n, line in enumerate(after) if "SIGTERM" in line), len(after))
    shown = [line for line in after[:stopping] if line.strip()]
    assert shown[0].startswith("Open it in a browser") and set(shown[1]) == {"="}, shown
    assert not [line for line in shown[2:] if "[info" in line or "[warning" in line or "[error" in line], shown
