"""The library's texts: every error code has its own message in every language, with its details filled in."""

from __future__ import annotations

import pytest

from bot.i18n import SUPPORTED, I18n
from db.models.books import Book, BookStatus
from handlers.library_ui import card_text, error_text, progress_text, upload_refusal
from services.ingestion.errors import ErrorCode
from services.ingestion.service import FailureCode

SAMPLE_DETAILS = {
    "unsupported_type": {"detected": "image/png"},
    "corrupt_file": {"format": "epub", "reason": "bad zip"},
    "too_large": {"size": 60 * 1024 * 1024, "limit": 50 * 1024 * 1024},
    "zip_bomb": {"reason": "ratio", "value": 900, "limit": 200},
    "xml_bomb": {"member": "content.opf"},
    "unsafe_archive_path": {"member": "../../etc/passwd"},
    "pdf_active_content": {"features": ["javascript", "embedded_files"]},
    "no_text_layer": {"pages": 12},
    "no_text": {"format": "docx"},
    "too_many_pages": {"pages": 6000, "limit": 5000},
}


@pytest.mark.parametrize("locale", SUPPORTED)
@pytest.mark.parametrize("code", [*ErrorCode, *FailureCode])
def test_every_error_code_has_its_message(locale: str, code: str) -> None:
    i18n = I18n().translator(locale)
    text = error_text(i18n, str(code), SAMPLE_DETAILS.get(str(code), {}))
    assert text != i18n("library-error-rejected"), f"{code} has no message of its own"
    assert "{" not in text and "library-error" not in text, text
    if code == "unsupported_type":
        assert "image/png" in text


def test_details_are_shown_in_human_units() -> None:
    i18n = I18n().translator("en")
    assert "60 MB" in error_text(i18n, "too_large", SAMPLE_DETAILS["too_large"])
    assert "javascript, embedded files" in error_text(
        i18n, "pdf_active_content", SAMPLE_DETAILS["pdf_active_content"]
    )
    assert "EPUB" in error_text(i18n, "corrupt_file", SAMPLE_DETAILS["corrupt_file"])


def test_unknown_code_from_a_hook_gets_a_generic_message() -> None:
    i18n = I18n().translator("ru")
    assert error_text(i18n, "something_new", {}) == i18n("library-error-rejected")


def test_size_is_checked_before_download() -> None:
    i18n = I18n().translator("en")
    mib = 1024 * 1024
    assert upload_refusal(i18n, 5 * mib, max_bytes=50 * mib, local_api=False) is None
    assert "20 MB" in (upload_refusal(i18n, 21 * mib, max_bytes=50 * mib, local_api=False) or "")
    assert upload_refusal(i18n, 21 * mib, max_bytes=50 * mib, local_api=True) is None
    assert "50 MB" in (upload_refusal(i18n, 51 * mib, max_bytes=50 * mib, local_api=True) or "")
    assert upload_refusal(i18n, None, max_bytes=50 * mib, local_api=False) is None


def test_progress_text_escapes_the_file_name() -> None:
    i18n = I18n().translator("en")
    text = progress_text(i18n, "indexing", 0.42, "<b>evil</b>.txt")
    assert "&lt;b&gt;evil" in text and "42%" in text


@pytest.mark.parametrize("locale", SUPPORTED)
def test_the_card_says_while_search_by_meaning_is_being_prepared(locale: str) -> None:
    i18n = I18n().translator(locale)
    book = Book(user_id=1, file_sha256="0" * 64, file_name="a.txt", format="txt", title="Alice")
    book.status, book.chunks = BookStatus.READY, 12
    book.dense_pending = True
    pending = card_text(i18n, book, active=False, just_ready=True)
    assert i18n("library-card-words-only") in pending and "library-card" not in pending
    book.dense_pending = False
    assert i18n("library-card-words-only") not in card_text(i18n, book, active=False, just_ready=True)
