"""Librarity's settings: environment variables (and a .env file), read once at start-up."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


class StartupError(Exception):
    """A well-formed setting points at something unusable (a folder that cannot be written, a database that
    cannot be reached); the message names the setting in one line."""


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
    # Fernet keys for conversations and cached answers at rest, comma-separated: the first encrypts, all
    # decrypt (rotation). Required with BOT_TOKEN; the sandbox makes one in DATA_DIR/encryption.key.
    data_encryption_key: SecretStr | None = None

    # sandbox
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8080

    # storage
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: SQLite under DATA_DIR
    database_pool_size: int | None = Field(default=None, ge=1)  # default: SQLite 5, PostgreSQL 30
    database_max_overflow: int | None = Field(default=None, ge=0)  # default: SQLite 10, PostgreSQL 0
    database_pool_timeout: float = Field(default=30.0, gt=0)
    # Users' rows kept in memory this long, so most updates skip the database (0: off): db/user_cache.py
    user_cache_seconds: float = Field(default=10.0, ge=0)
    redis_url: str | None = None  # default: in memory
    qdrant_url: str | None = None  # default: Qdrant Edge in-process under DATA_DIR
    qdrant_api_key: SecretStr | None = None
    qdrant_collection: str = "librarity_chunks"

    # embeddings
    embeddings_provider: Literal["local", "openai", "gemini"] = "local"
    # default per provider: all-MiniLM-L6-v2, text-embedding-3-small, gemini-embedding-001
    embeddings_model: str | None = None
    # OpenAI text-embedding-3 / Gemini output size (Gemini default 768)
    embeddings_dimensions: int | None = None
    embeddings_base_url: str | None = None  # default: OPENAI_BASE_URL / GEMINI_BASE_URL
    embeddings_timeout_seconds: float = 60.0
    embeddings_batch_size: int = 16
    embeddings_device: str = "cpu"
    # The local model's arithmetic: auto = bfloat16 where the CPU has it natively (AVX512-BF16, AMX);
    # int8: books embedded with int8 matrices, faster still, at some cost in retrieval (docs/BENCHMARKS.md)
    embeddings_precision: Literal["auto", "float32", "bfloat16", "int8"] = "auto"

    # books in
    max_file_mb: int = 50
    max_pages: int = 5000
    allow_active_pdf: bool = False
    ingestion_workers: int = 1
    ingestion_max_attempts: int = 3
    # A failed book's file is kept this long, so an admin can reprocess it.
    failed_book_file_days: int = Field(default=7, ge=0)
    ingestion_timeout_seconds: float = 1800.0  # one book's reading; longer ends as "timeout"
    ingestion_executor: str = "process"  # process | thread: where extraction and chunking run

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
    llm_max_concurrency: int = Field(default=8, ge=1)  # LLM calls at once in a process; others wait

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
    # X-Forwarded-For is believed only when the direct peer is one of these (a reverse proxy of ours).
    yookassa_trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    yookassa_timeout_seconds: float = 15.0  # one API call, network included; the SDK itself has none
    yookassa_recheck_after_minutes: int = 10  # pending orders older than this are re-read from the API
    yookassa_order_ttl_hours: int = 48  # pending orders older than this are given up (canceled)
    # 54-FZ receipt: sent when enabled; the customer contact is optional (the shop's email stands in).
    yookassa_receipt_enabled: bool = True
    yookassa_receipt_email: str | None = None
    yookassa_vat_code: int = 1  # 1 = without VAT
    yookassa_tax_system_code: int | None = None
    yookassa_payment_subject: str = "service"
    yookassa_payment_mode: str = "full_payment"

    # billing: credits, plans and prices (credits, Stars and kopecks are whole numbers)
    billing_free_monthly_credits: int = 100
    billing_free_max_books: int = 3
    billing_free_max_file_mb: int = 10
    billing_free_questions_per_day: int = 20
    billing_free_models: dict[str, str] = Field(default_factory=dict)  # provider -> model; {} = defaults
    billing_pro_monthly_credits: int = 1500
    billing_pro_max_books: int = 100
    billing_pro_max_file_mb: int = 50
    billing_pro_questions_per_day: int = 300
    billing_pro_models: dict[str, str] = Field(default_factory=dict)
    billing_pro_stars: int = 250  # a month, as a Star subscription
    billing_pro_kopecks: int = 39900  # a month, by card (YooKassa)
    billing_scholar_monthly_credits: int = 5000
    billing_scholar_max_books: int = 1000
    billing_scholar_max_file_mb: int = 50
    billing_scholar_questions_per_day: int = 1000
    billing_scholar_models: dict[str, str] = Field(
        default_factory=lambda: {"gemini": "gemini-2.5-pro", "openai": "gpt-4o"}
    )
    billing_scholar_stars: int = 600
    billing_scholar_kopecks: int = 99900
    # Credit packs: "credits:stars:kopecks", comma-separated.
    billing_packs: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["100:50:9900", "500:200:39900", "2000:700:149900"]
    )
    billing_trial_days: int = 7
    billing_trial_credits: int = 300
    billing_referral_bonus: int = 50  # to each side, once the invited user's first book is ready
    # Credits per 1M tokens [input, output], by model (or model prefix) or provider name.
    billing_question_prices: dict[str, list[int]] = Field(
        default_factory=lambda: {
            "gemini-2.5-flash": [300, 2500],
            "gemini-2.5-pro": [1250, 10000],
            "gpt-4o-mini": [150, 600],
            "gpt-4o": [2500, 10000],
        }
    )
    billing_question_default_price: list[int] = Field(default_factory=lambda: [1000, 4000])
    billing_question_min_credits: int = 1
    billing_extractive_answer_credits: int = 0
    billing_ingest_credits_per_100_pages: int = 2
    billing_summary_credits: int = 20
    billing_confirm_above_credits: int = 10  # actions dearer than this ask for confirmation first
    billing_warn_at_percent: int = 80
    billing_plan_grace_hours: int = 24  # a paid plan outlives its expiry this long (renewals arrive late)
    billing_support_contact: str = ""  # @username or a link shown by /paysupport
    billing_terms_url: str | None = None

    # rate limits: updates one user may send per window, by kind (0 = no limit); admins are exempt
    rate_window_seconds: int = Field(default=60, ge=1)
    rate_questions: int = Field(default=20, ge=0)
    rate_uploads: int = Field(default=10, ge=0)
    rate_callbacks: int = Field(default=60, ge=0)
    rate_updates: int = Field(default=60, ge=0)  # commands and everything else

    # scheduled jobs
    scheduler_enabled: bool = True
    # background work (taskiq; with REDIS_URL on a Redis stream read by `librarity worker` processes)
    worker_concurrency: int = Field(default=4, ge=1)  # tasks one worker runs at once
    task_redeliver_seconds: float = Field(default=60.0, gt=0)  # a silent worker's task goes to another
    task_max_retries: int = Field(default=3, ge=1)  # runs of a failing task, with backoff between
    scheduler_lock_seconds: float = Field(default=30.0, gt=0)  # a dead scheduler's lock frees after this
    task_queue: str = "librarity:tasks"  # the Redis stream (and key prefix) of one deployment's tasks
    # notifications, alerts and analytics
    send_rate_per_second: float = 25.0  # bot-initiated messages, all chats together
    alerts_flush_seconds: float = 30.0  # admin alerts within this window become one message
    admin_report_hour: int = 9  # UTC hour of the daily report to admins
    book_notify_after_seconds: int = 120  # a book that took longer is announced even to a watching user
    events_retention_days: int = 400
    deliveries_retention_days: int = 90
    job_runs_retention_days: int = 90
    cache_retention_days: int = 30
    log_level: str = "INFO"
    # observability: console lines for people, JSON lines (one object a line) for a log collector
    log_format: Literal["console", "json"] = "console"
    # Prometheus metrics at /metrics on this port (worker and scheduler processes, which serve no webhook;
    # the bot also serves them beside /readyz on WEBHOOK_PORT, or on the sandbox's port); unset: none
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "0.0.0.0"
    sentry_dsn: SecretStr | None = None  # error reports to Sentry, users' text scrubbed; unset: off
    sentry_environment: str = "production"

    @field_validator(
        "admin_ids",
        "llm_order",
        "yookassa_trusted_networks",
        "yookassa_trusted_proxies",
        "billing_packs",
        mode="before",
    )
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

    @field_validator("billing_packs")
    @classmethod
    def _valid_packs(cls, value: list[str]) -> list[str]:
        for pack in value:
            parts = pack.split(":")
            if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
                raise ValueError(f"{pack!r} is not credits:stars:kopecks with positive whole numbers")
        return value

    @field_validator("billing_question_prices")
    @classmethod
    def _valid_prices(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        for name, pair in value.items():
            if len(pair) != 2 or any(v < 0 for v in pair):
                raise ValueError(
                    f"{name!r} needs [credits per 1M input tokens, credits per 1M output tokens]"
                )
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
        """Qdrant Edge's folder (the embedded default, without QDRANT_URL)."""
        return self.data_dir / "qdrant-edge"

    @property
    def qdrant_local_mode_path(self) -> Path:
        """Where qdrant-client's local mode kept the vectors before Qdrant Edge (copied in at start)."""
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
    """Build the settings once; raise SettingsError with a single line naming the bad variable, or
    StartupError when DATA_DIR cannot be written."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_first_error_line(error)) from None
    except (ValueError, json.JSONDecodeError) as error:
        # pydantic-settings fails on malformed JSON in a complex field before validation runs
        raise SettingsError(f"A setting is malformed: {error}") from None
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=settings.data_dir):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise StartupError(f"DATA_DIR: {settings.data_dir} is not writable ({reason})") from None
    _check_encryption_key(settings)
    return settings


def _check_encryption_key(settings: Settings) -> None:
    from db.encryption import EncryptionKeyError, parse_keys

    if settings.data_encryption_key is None:
        if not settings.sandbox:
            raise SettingsError(
                "Setting DATA_ENCRYPTION_KEY is required with BOT_TOKEN: make one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        return
    try:
        parse_keys(settings.data_encryption_key.get_secret_value())
    except EncryptionKeyError as error:
        raise SettingsError(f"Setting DATA_ENCRYPTION_KEY is invalid: {error}") from None


def encryption_keys(settings: Settings) -> list[str]:
    """The keys to use: DATA_ENCRYPTION_KEY, or the sandbox's own key file under DATA_DIR."""
    from db.encryption import key_file_keys, parse_keys

    if settings.data_encryption_key is not None:
        return parse_keys(settings.data_encryption_key.get_secret_value())
    return key_file_keys(settings.data_dir)
