"""Conversations and cached answers encrypted at rest with Fernet.

`EncryptedText` stores "fernet:<token>" once a cipher is configured (`configure`); rows written before
(plain text, no prefix) still read as they are. Several keys rotate: the first encrypts, all decrypt.
Until `configure` is called, text is stored and read plain (tools that open the database alone).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

PREFIX = "fernet:"
KEY_FILE = "encryption.key"

_cipher: MultiFernet | None = None


class EncryptionKeyError(ValueError):
    """A key in DATA_ENCRYPTION_KEY is not a Fernet key, or a stored row cannot be decrypted."""


def parse_keys(value: str) -> list[str]:
    """Comma-separated Fernet keys; raises EncryptionKeyError for one that is not a key."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise EncryptionKeyError("no key given")
    for index, key in enumerate(keys, 1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise EncryptionKeyError(f"key {index} is not a Fernet key (32 url-safe base64 bytes)") from None
    return keys


def key_file_keys(data_dir: Path) -> list[str]:
    """The embedded default: a key kept in DATA_DIR/encryption.key, made (owner-readable only) if absent."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    return parse_keys(path.read_text())


def configure(keys: list[str] | None) -> None:
    """Encrypt with keys[0], decrypt with any; None turns encryption off (plain text in and out)."""
    global _cipher
    _cipher = MultiFernet([Fernet(key.encode()) for key in keys]) if keys else None


def encrypt(text: str) -> str:
    if _cipher is None:
        return text
    return PREFIX + _cipher.encrypt(text.encode()).decode("ascii")


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption was on
    if _cipher is None:
        raise EncryptionKeyError("an encrypted row was read without DATA_ENCRYPTION_KEY")
    try:
        return _cipher.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
    except InvalidToken:
        raise EncryptionKeyError("an encrypted row does not open with any DATA_ENCRYPTION_KEY") from None


class EncryptedText(TypeDecorator[str]):
    """Text encrypted on write and decrypted on read; never filtered or sorted on in SQL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(str(value))
