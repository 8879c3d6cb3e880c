"""Settings: read from the environment once; a bad value stops start-up with one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_sandbox(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, data_dir=tmp_path)
    assert settings.sandbox
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.redis_url is None and settings.qdrant_url is None


def test_lists_from_plain_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 2")
    monkeypatch.setenv("LLM_ORDER", "openai,gemini")
    settings = load_settings(_env_file=None, data_dir=tmp_path)
    assert settings.admin_ids == [1, 2]
    assert settings.llm_order == ["openai", "gemini"]


@pytest.mark.parametrize(
    "name,value", [("ADMIN_IDS", "alice"), ("SANDBOX_PORT", "eighty"), ("DEFAULT_LOCALE", "fr")]
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, data_dir=tmp_path)
    assert name in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cli_stops_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "SANDBOX_PORT": "x"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "SANDBOX_PORT" in result.stderr


def test_cli_migrate(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "librarity.sqlite3").exists()
