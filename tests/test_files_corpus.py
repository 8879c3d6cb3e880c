"""Every file in ../shared/data/files/ ends as a readable book or a specific error, never a crash or hang.

Files run in a pool of two worker processes, each with a time limit, so one file that hangs fails
its own test instead of the suite. Files that cannot be read are listed below with the error they
must give; every other file must come out with text. Password-protected PDFs (passwords from the
corpus SOURCE files) must ask for the password, open with the right one and reject a wrong one.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from multiprocessing.pool import AsyncResult, Pool

import pytest

from services.ingestion.errors import ErrorCode
from tests.extract_factories import FILES, corpus_outcome

PER_FILE_SECONDS = 30

ALL_FILES = sorted(str(path.relative_to(FILES)) for path in FILES.rglob("*") if path.is_file())

# path -> (the password, what the right password gives); from the corpus SOURCE.txt files
PASSWORDS: dict[str, tuple[str, str]] = {
    "pdf-py-pdf-sample-files/005-libreoffice-writer-password/libreoffice-writer-password.pdf": (
        "openpassword",
        "ok",
    ),
    "pdf-pypdf-resources/libreoffice-writer-password.pdf": ("openpassword", "ok"),
    "pdf-pypdf-resources/crazyones-encrypted-256.pdf": ("password", "ok"),
    "pdf-pypdf-resources/encrypted-file.pdf": ("test", "no_text_layer"),  # one word on the page
    "pdf-pypdf-resources/encryption/r2-user-password.pdf": ("asdfzxcv", "ok"),
    "pdf-pypdf-resources/encryption/r3-user-password.pdf": ("asdfzxcv", "ok"),
    "pdf-pypdf-resources/encryption/r4-aes-user-password.pdf": ("asdfzxcv", "ok"),
    "pdf-pypdf-resources/encryption/r4-user-password.pdf": ("asdfzxcv", "ok"),
    "pdf-pypdf-resources/encryption/r5-user-password.pdf": ("asdfzxcv", "ok"),
    "pdf-pypdf-resources/encryption/r6-user-password.pdf": ("asdfzxcv", "ok"),
    "pdf-pypdf-resources/encryption/r6-both-passwords.pdf": ("foo", "ok"),
}
# Encrypted with an empty user password (owner password only): they open without asking.
OPEN_WITHOUT_PASSWORD = [
    "pdf-pypdf-resources/encryption/r2-empty-password.pdf",
    "pdf-pypdf-resources/encryption/r2-owner-password.pdf",
    "pdf-pypdf-resources/encryption/r5-owner-password.pdf",
    "pdf-pypdf-resources/encryption/r6-owner-password.pdf",
    "pdf-pypdf-resources/encryption/r4-aes-v2-no-key-length.pdf",
]

_NO_TEXT_DOCX = [
    f"docx-python-docx/features/steps/test_files/{name}.docx"
    for name in (
        "blk-containing-table doc-coreprops doc-default doc-no-coreprops doc-word-default-blank "
        "set-no-settings-part shp-inline-shape-access sty-behav-props sty-having-no-styles-part "
        "sty-having-styles-part tbl-2x2-table tbl-col-props tbl-having-tables tbl-on-off-props"
    ).split()
] + ["docx-python-docx/tests/test_files/having-images.docx"]

# Images, drawings and empty forms: pages without text.
_NO_TEXT_LAYER_PDF = [
    f"pdf-py-pdf-sample-files/{name}"
    for name in (
        "007-imagemagick-images/imagemagick-ASCII85Decode.pdf",
        "007-imagemagick-images/imagemagick-CCITTFaxDecode.pdf",
        "007-imagemagick-images/imagemagick-images.pdf",
        "007-imagemagick-images/imagemagick-lzw.pdf",
        "008-reportlab-inline-image/inline-image.pdf",
        "019-grayscale-image/grayscale-image.pdf",
        "020-xmp/output_with_metadata_pymupdf.pdf",
        "023-cmyk-image/cmyk-image.pdf",
    )
] + [
    f"pdf-pypdf-resources/{name}.pdf"
    for name in (
        "AutoCad_Simple box encrypted_doc_no_id form form_acrobatReader form_evince git "
        "imagemagick-ASCII85Decode imagemagick-CCITTFaxDecode imagemagick-images imagemagick-lzw inkscape-abc "
        "issue-3850-1bit-indexed-flate metadata reportlab-inline-image two-different-pages"
    ).split()
]

EXPECTED_ERRORS: dict[str, ErrorCode] = {
    "epub-epubcheck/epub3/04-ocf/files/ocf-zip-unreadable-empty-fatal.epub": ErrorCode.EMPTY_FILE,
    "epub-epubcheck/epub3/04-ocf/files/ocf-zip-unreadable-no-end-header-fatal.epub": ErrorCode.CORRUPT_FILE,
    "epub-epubcheck/epub3/04-ocf/files/ocf-zip-unreadable-image-with-epub-extension-fatal.epub": ErrorCode.UNSUPPORTED_TYPE,
    "pdf-pypdf-resources/lzw_decoder_table_overflow.bin": ErrorCode.UNSUPPORTED_TYPE,
    "pdf-py-pdf-sample-files/017-unreadable-meta-data/unreadablemetadata.pdf": ErrorCode.CORRUPT_FILE,
    "pdf-py-pdf-sample-files/025-attachment/with-attachment.pdf": ErrorCode.PDF_ACTIVE_CONTENT,
    "pdf-pypdf-resources/attachment.pdf": ErrorCode.PDF_ACTIVE_CONTENT,
    "pdf-pypdf-resources/example.pdf": ErrorCode.PDF_ACTIVE_CONTENT,
    "pdf-pypdf-resources/SF424_page2.pdf": ErrorCode.PDF_ACTIVE_CONTENT,
    "pdf-pypdf-resources/issue-297.pdf": ErrorCode.PDF_ACTIVE_CONTENT,
    **{path: ErrorCode.PASSWORD_REQUIRED for path in PASSWORDS},
    **{path: ErrorCode.NO_TEXT for path in _NO_TEXT_DOCX},
    **{path: ErrorCode.NO_TEXT_LAYER for path in _NO_TEXT_LAYER_PDF},
}

_Job = tuple[str, str | None]


def _jobs() -> list[_Job]:
    jobs: list[_Job] = [(path, None) for path in ALL_FILES]
    for path, (password, _) in PASSWORDS.items():
        jobs += [(path, password), (path, password + "-wrong")]
    return jobs


@pytest.fixture(scope="module")
def corpus() -> Iterator[dict[_Job, AsyncResult[tuple[str, str, str]]]]:
    # spawn: a fresh interpreter per worker, nothing inherited from the test process
    pool: Pool = multiprocessing.get_context("spawn").Pool(processes=2)
    try:
        yield {job: pool.apply_async(corpus_outcome, job) for job in _jobs()}
    finally:
        pool.terminate()  # also ends a worker stuck on a hanging file
        pool.join()


def _outcome(corpus: dict[_Job, AsyncResult[tuple[str, str, str]]], job: _Job) -> tuple[str, str, str]:
    try:
        return corpus[job].get(timeout=PER_FILE_SECONDS)
    except multiprocessing.TimeoutError:
        pytest.fail(f"{job[0]} did not finish in {PER_FILE_SECONDS} s")


def test_corpus_is_all_there() -> None:
    assert len(ALL_FILES) > 300
    assert set(EXPECTED_ERRORS) <= set(ALL_FILES)
    assert set(OPEN_WITHOUT_PASSWORD) <= set(ALL_FILES)


@pytest.mark.parametrize("path", ALL_FILES)
def test_file(corpus: dict[_Job, AsyncResult[tuple[str, str, str]]], path: str) -> None:
    kind, what, details = _outcome(corpus, (path, None))
    assert kind != "crash", f"{what}: {details}"
    expected = EXPECTED_ERRORS.get(path)
    if expected is None:
        assert kind == "ok", f"expected a book, got {what} {details}"
        assert details, "a book without text"
    else:
        assert (kind, what) == ("error", expected.value), details
    if kind == "error" and what == ErrorCode.CORRUPT_FILE.value:
        assert "unexpected" not in details, details  # a library error we did not anticipate


@pytest.mark.parametrize("path", sorted(PASSWORDS))
def test_password_protected(corpus: dict[_Job, AsyncResult[tuple[str, str, str]]], path: str) -> None:
    password, with_password = PASSWORDS[path]
    kind, what, details = _outcome(corpus, (path, password))
    assert (kind if with_password == "ok" else what) == with_password, (kind, what, details)
    kind, what, details = _outcome(corpus, (path, password + "-wrong"))
    assert (kind, what) == ("error", ErrorCode.WRONG_PASSWORD.value), details


@pytest.mark.parametrize("path", OPEN_WITHOUT_PASSWORD)
def test_owner_password_only(corpus: dict[_Job, AsyncResult[tuple[str, str, str]]], path: str) -> None:
    assert _outcome(corpus, (path, None))[0] == "ok"
