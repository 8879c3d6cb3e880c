"""The settings the services read, as a Protocol: the bot's Settings (bot/settings.py, read once at
start-up) satisfies it, and so does any object with these attributes (a test's stand-in). Services type
their `settings` with it, so they never import the bot's wiring."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import SecretStr


class ServiceSettings(Protocol):
    admin_chat_id: int | None
    admin_ids: list[int]
    admin_report_hour: int
    allow_active_pdf: bool
    billing_confirm_above_credits: int
    billing_extractive_answer_credits: int
    billing_free_max_books: int
    billing_free_max_file_mb: int
    billing_free_models: dict[str, str]
    billing_free_monthly_credits: int
    billing_free_questions_per_day: int
    billing_ingest_credits_per_100_pages: int
    billing_packs: list[str]
    billing_plan_grace_hours: int
    billing_pro_kopecks: int
    billing_pro_max_books: int
    billing_pro_max_file_mb: int
    billing_pro_models: dict[str, str]
    billing_pro_monthly_credits: int
    billing_pro_questions_per_day: int
    billing_pro_stars: int
    billing_question_default_price: list[int]
    billing_question_min_credits: int
    billing_question_prices: dict[str, list[int]]
    billing_referral_bonus: int
    billing_scholar_kopecks: int
    billing_scholar_max_books: int
    billing_scholar_max_file_mb: int
    billing_scholar_models: dict[str, str]
    billing_scholar_monthly_credits: int
    billing_scholar_questions_per_day: int
    billing_scholar_stars: int
    billing_summary_credits: int
    billing_support_contact: str
    billing_terms_url: str | None
    billing_trial_credits: int
    billing_trial_days: int
    billing_warn_at_percent: int
    cache_retention_days: int
    data_dir: Path
    deliveries_retention_days: int
    embeddings_base_url: str | None
    embeddings_batch_size: int
    embeddings_device: str
    embeddings_dimensions: int | None
    embeddings_model: str | None
    embeddings_precision: Literal["auto", "float32", "bfloat16", "int8"]
    embeddings_provider: Literal["local", "openai", "gemini"]
    embeddings_timeout_seconds: float
    events_retention_days: int
    failed_book_file_days: int
    gemini_api_key: SecretStr | None
    gemini_base_url: str | None
    gemini_model: str
    ingestion_max_attempts: int
    ingestion_workers: int
    job_runs_retention_days: int
    llm_max_concurrency: int
    llm_order: list[str]
    llm_prices: dict[str, list[float]]
    llm_retries: int
    llm_timeout_seconds: float
    max_file_mb: int
    max_pages: int
    openai_api_key: SecretStr | None
    openai_base_url: str | None
    openai_model: str
    qdrant_api_key: SecretStr | None
    qdrant_collection: str
    qdrant_url: str | None
    yookassa_api_url: str | None
    yookassa_order_ttl_hours: int
    yookassa_payment_mode: str
    yookassa_payment_subject: str
    yookassa_receipt_email: str | None
    yookassa_receipt_enabled: bool
    yookassa_recheck_after_minutes: int
    yookassa_return_url: str
    yookassa_secret_key: SecretStr | None
    yookassa_shop_id: str | None
    yookassa_tax_system_code: int | None
    yookassa_timeout_seconds: float
    yookassa_vat_code: int

    @property
    def files_dir(self) -> Path: ...

    @property
    def qdrant_local_mode_path(self) -> Path: ...

    @property
    def qdrant_path(self) -> Path: ...
