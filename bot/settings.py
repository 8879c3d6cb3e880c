"""Librarity's settings: environment variables (and a .env file), read once at start-up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Telegram
    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None  # a local Bot API server, e.g. http://127.0.0.1:8081
    telegram_api_is_local: bool = False
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8443
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_chat_id: int | None = None
    default_locale: str = "en"

    # sandbox
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8080

    # storage
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: SQLite under DATA_DIR
    redis_url: str | None = None  # default: in memory
    qdrant_url: str | None = None  # default: Qdrant local mode under DATA_DIR
    qdrant_api_key: SecretStr | None = None
    qdrant_collection: str = "librarity_chunks"

    # embeddings
    embeddings_provider: str = "local"  # local | openai | gemini
    embeddings_model: str = "all-MiniLM-L6-v2"
    embeddings_batch_size: int = 64
    embeddings_device: str = "cpu"

    # books in
    max_file_mb: int = 50
    max_pages: int = 5000
    allow_active_pdf: bool = False
    ingestion_workers: int = 1
    ingestion_max_attempts: int = 3

    # answers
    gemini_api_key: SecretStr | None = None
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    llm_order: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["gemini", "openai"])
    llm_timeout_seconds: float = 30.0
    llm_retries: int = 2
    llm_prices: dict[str, list[float]] = Field(default_factory=dict)

    # payments
    yookassa_shop_id: str | None = None
    yookassa_secret_key: SecretStr | None = None
    yookassa_api_url: str | None = None
    yookassa_return_url: str = "https://t.me/"
    yookassa_webhook_path: str = "/yookassa/webhook"
    yookassa_trusted_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "185.71.76.0/27",
            "185.71.77.0/27",
            "77.75.153.0/25",
            "77.75.156.11/32",
            "77.75.156.35/32",
            "77.75.154.128/25",
            "2a02:5180::/32",
        ]
    )

    # scheduled jobs
    scheduler_enabled: bool = True
    log_level: str = "INFO"

    @field_validator("admin_ids", "llm_order", "yookassa_trusted_networks", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in ("en", "ru"):
            raise ValueError("must be en or ru")
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'librarity.sqlite3').resolve()}"

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def sandbox(self) -> bool:
        return self.bot_token is None


def _first_error_line(error: ValidationError) -> str:
    first = error.errors()[0]
    name = "_".join(str(part) for part in first["loc"] if isinstance(part, str)).upper() or "settings"
    return f"Setting {name} is invalid: {first['msg']}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings once; raise SettingsError with a single line naming the bad variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_first_error_line(error)) from None
    except (ValueError, json.JSONDecodeError) as error:
        # pydantic-settings fails on malformed JSON in a complex field before validation runs
        raise SettingsError(f"A setting is malformed: {error}") from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
