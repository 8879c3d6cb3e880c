"""`librarity bench updates` and `librarity bench load` on tiny inputs: they run and print their JSON.
What they measure is reported by the benchmarks, never asserted here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from tests.conftest import PG_ADMIN_DSN


@pytest.fixture
def quiet_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def printed_json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.postgres
def test_bench_updates_prints_updates_a_second(quiet_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "updates", "--updates", "50", "--rounds", "1", "--pg-admin", PG_ADMIN_DSN, "--json"]
    assert main(argv) == 0  # 0: every update was handled, none failed or got an apology
    figures = printed_json(capsys)
    assert set(figures) == {"bare", "sqlite", "postgres"}
    assert all(value > 0 for value in figures.values())


@pytest.mark.slow
def test_bench_load_prints_latencies_errors_and_memory(
    quiet_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "load", "--users", "2", "--flood", "10", "--json"]) == 0
    result = printed_json(capsys)
    assert set(result) == {
        "users", "flood", "start_ms", "answer_ms", "answers", "error_replies", "rss_mb", "seconds"
    }  # fmt: skip
    assert result["users"] == 2 and result["flood"] == 10
    assert (
        set(result["start_ms"]) == {"p50", "p95", "count", "unanswered"} and result["start_ms"]["count"] > 0
    )
    assert set(result["answer_ms"]) == {"p50", "p95"}
    assert 0 <= result["answers"] <= 2 and result["error_replies"] >= 0
    assert result["rss_mb"]["peak"] >= result["rss_mb"]["end"] > 0
    assert result["rss_mb"]["peak"] >= result["rss_mb"]["idle"] > 0
