"""`librarity bench search` on a tiny shelf: both engines measured, one JSON file, a bad engine refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.conftest import SHARED_DATA


@pytest.fixture
def quiet_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_bench_search_measures_both_engines(quiet_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    books = SHARED_DATA / "books" / "gutenberg"
    argv = ["bench", "search", "--data", str(books), "--pages", "3", "--others", "1", "--questions", "2"]
    out = quiet_dir / "out"
    assert main([*argv, "--engine", "edge,local-mode", "--no-cache", "--out", str(out)]) == 0
    [saved] = out.glob("search-*.json")
    rows = json.loads(saved.read_text())["rows"]
    assert [row["engine"] for row in rows] == ["edge", "local-mode"]
    assert rows[0]["chunks"] == rows[1]["chunks"] > 0 and rows[0]["books"] == 2
    for row in rows:
        for scope in ("book", "shelf"):
            assert row[scope]["questions"] == 2 and 0 < row[scope]["p50_ms"] <= row[scope]["max_ms"]
    assert "| edge | the 3-page book |" in capsys.readouterr().out
    assert main([*argv, "--engine", "faiss", "--out", str(out)]) == 2
