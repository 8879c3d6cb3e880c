"""A database that cannot be reached or a DATA_DIR that cannot be written stops `librarity` at start-up
with one line naming the setting and exit code 1, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

UNREACHABLE = "postgresql+asyncpg://librarity@127.0.0.1:1/none"


def librarity(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("BOT_TOKEN", "DATABASE_URL", "DATA_DIR", "REDIS_URL", "QDRANT_", "WEBHOOK_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command", [["migrate"], ["run"], ["ingest", "book.txt"], ["ask", "1", "Who lit the lamp?"]]
)
def test_unreachable_database_is_one_line(command: list[str], tmp_path: Path) -> None:
    (tmp_path / "book.txt").write_text("The keeper lit the lamp.")
    done = librarity(*command, cwd=tmp_path, DATABASE_URL=UNREACHABLE, DATA_DIR=str(tmp_path / "data"))
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("DATABASE_URL: cannot connect to the database (")
    assert "127.0.0.1" in lines[0] and "librarity@" not in lines[0]  # the reason, never the URL itself


@pytest.mark.parametrize("command", [["migrate"], ["run"]])
def test_unwritable_data_dir_is_one_line(command: list[str], tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    data_dir = tmp_path / "a-file" / "data"  # cannot be made, even by root
    done = librarity(*command, cwd=tmp_path, DATA_DIR=str(data_dir))
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == f"DATA_DIR: {data_dir} is not writable (Not a directory)"


def test_the_command_line_loads_only_what_its_command_needs() -> None:
    """Parsing any command's arguments imports neither Telegram's library, torch nor the search stack
    (each CLI call used to pay seconds for them); `bench` loads its benchmarks' options only for itself."""
    probe = (
        "import sys\n"
        "from bot.__main__ import build_parser\n"
        "for argv in (['run'], ['ask', 'all', 'q'], ['ingest', 'x.txt'], ['migrate'], ['scheduler']):\n"
        "    build_parser(argv).parse_args(argv)\n"
        "heavy = sorted({'aiogram', 'torch', 'qdrant_client', 'sentence_transformers'} & set(sys.modules))\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout
