"""Errors that reading a book can end in.

Every problem with the *input* surfaces as one `IngestionError` with a stable `code`; the chat layer
maps the code to a localised message and may use `details` as message parameters. Codes and detail keys
are a public contract (see docs/EXTRACTION.md), so add new ones rather than changing existing ones.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable error codes; `StrEnum` so that `err.code == "empty_file"` works too."""

    UNSUPPORTED_TYPE = "unsupported_type"  # detected: str (e.g. "image/png", "zip", "binary")
    EMPTY_FILE = "empty_file"  # -
    CORRUPT_FILE = "corrupt_file"  # format: str, reason: str (technical, for logs)
    TOO_LARGE = "too_large"  # size: int, limit: int (bytes)
    ZIP_BOMB = "zip_bomb"  # reason: "members" | "unpacked_size" | "ratio" | "read_budget", value, limit
    XML_BOMB = "xml_bomb"  # member: str (the XML part that declares entities)
    UNSAFE_ARCHIVE_PATH = "unsafe_archive_path"  # member: str
    PDF_ACTIVE_CONTENT = "pdf_active_content"  # features: list[str] ("javascript", "launch", ...)
    PASSWORD_REQUIRED = "password_required"  # -
    WRONG_PASSWORD = "wrong_password"  # -
    NO_TEXT_LAYER = "no_text_layer"  # pages: int
    NO_TEXT = "no_text"  # format: str
    TOO_MANY_PAGES = "too_many_pages"  # pages: int, limit: int


class IngestionError(Exception):
    """A book could not be read; `code` says why in a way the user can be told."""

    code: ErrorCode
    details: dict[str, Any]

    def __init__(self, code: ErrorCode | str, **details: Any) -> None:
        self.code = ErrorCode(code)
        self.details = details
        super().__init__(self.code.value, details)

    def __str__(self) -> str:
        if not self.details:
            return self.code.value
        parts = ", ".join(f"{key}={value!r}" for key, value in self.details.items())
        return f"{self.code.value} ({parts})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the error picklable across worker processes (Exception pickles only `args`).
        return (_rebuild, (self.code.value, self.details))


def _rebuild(code: str, details: dict[str, Any]) -> IngestionError:
    return IngestionError(code, **details)
