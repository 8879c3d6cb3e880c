"""A ZIP reader for untrusted archives (EPUB, DOCX, .fb2.zip).

The central directory is checked before anything is decompressed (member count, declared sizes,
compression ratio, path tricks), and reading enforces the same bounds on the bytes that actually come
out, so an archive that lies in its directory still cannot make us inflate more than the budget.
"""

from __future__ import annotations

import io
import posixpath
import re
import unicodedata
import zipfile
import zlib
from urllib.parse import unquote

from services.ingestion.errors import ErrorCode, IngestionError
from services.ingestion.extract.model import ExtractLimits

_CHUNK = 256 * 1024
_DRIVE_RE = re.compile(r"^[A-Za-z]:(?:/|$)")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, KeyError)


class SafeZip:
    def __init__(self, data: bytes, limits: ExtractLimits, fmt: str) -> None:
        self._fmt = fmt
        self._limits = limits
        self._read_total = 0
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except _ZIP_ERRORS as exc:
            raise self._corrupt(f"zip: {exc}") from None
        self._check_directory(infos)
        self._by_name: dict[str, zipfile.ZipInfo] = {}
        self._by_folded: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.is_dir():
                continue
            for name in _name_variants(info):
                self._by_name.setdefault(name, info)
                self._by_folded.setdefault(_fold(name), info)

    def _corrupt(self, reason: str) -> IngestionError:
        return IngestionError(ErrorCode.CORRUPT_FILE, format=self._fmt, reason=reason)

    def _check_directory(self, infos: list[zipfile.ZipInfo]) -> None:
        limits = self._limits
        if len(infos) > limits.max_zip_members:
            raise IngestionError(
                ErrorCode.ZIP_BOMB, reason="members", value=len(infos), limit=limits.max_zip_members
            )
        total = 0
        for info in infos:
            if is_unsafe_path(info.filename):
                raise IngestionError(ErrorCode.UNSAFE_ARCHIVE_PATH, member=info.filename[:200])
            total += info.file_size
            if info.file_size > limits.ratio_floor:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > limits.max_ratio:
                    raise IngestionError(
                        ErrorCode.ZIP_BOMB, reason="ratio", value=round(ratio), limit=limits.max_ratio
                    )
        if total > limits.max_unpacked_bytes:
            raise IngestionError(
                ErrorCode.ZIP_BOMB, reason="unpacked_size", value=total, limit=limits.max_unpacked_bytes
            )

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    def find(self, name: str) -> str | None:
        """The stored member for `name` (exact, URL-decoded, or differing only in case/normalisation)."""
        name = name.lstrip("/")
        for candidate in (name, unquote(name)):
            info = self._by_name.get(candidate) or self._by_folded.get(_fold(candidate))
            if info is not None:
                return info.filename
        return None

    def read(self, name: str, *, limit: int | None = None) -> bytes:
        """Decompress one member, never producing more than the limits allow."""
        info = self._by_name.get(name) or self._by_folded.get(_fold(name))
        if info is None:
            raise self._corrupt(f"missing member {name[:100]}")
        cap = min(limit or self._limits.max_member_bytes, self._limits.max_member_bytes)
        if info.file_size > cap:
            raise IngestionError(ErrorCode.ZIP_BOMB, reason="member_size", value=info.file_size, limit=cap)
        budget = self._limits.max_read_bytes - self._read_total
        out = bytearray()
        try:
            with self._zip.open(info) as stream:
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        break
                    out += chunk
                    if len(out) > cap or len(out) > budget:
                        raise IngestionError(
                            ErrorCode.ZIP_BOMB,
                            reason="read_budget",
                            value=self._read_total + len(out),
                            limit=min(cap, budget),
                        )
        except IngestionError:
            raise
        except NotImplementedError as exc:  # e.g. Deflate64, unknown compression
            raise self._corrupt(f"zip member {name[:100]}: {exc}") from None
        except RuntimeError as exc:  # encrypted member
            raise IngestionError(ErrorCode.UNSUPPORTED_TYPE, detected="encrypted_zip") from exc
        except _ZIP_ERRORS as exc:
            raise self._corrupt(f"zip member {name[:100]}: {exc}") from None
        self._read_total += len(out)
        return bytes(out)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_unsafe_path(name: str) -> bool:
    """Names that would escape an extraction folder: absolute, drive-qualified or with `..` parts."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or _DRIVE_RE.match(normalised):
        return True
    return ".." in normalised.split("/")


def resolve(base_dir: str, href: str) -> str | None:
    """Join a relative href to the folder of the document it appears in; None if it leaves the archive."""
    href = href.split("#", 1)[0].split("?", 1)[0]
    if not href or "://" in href or href.startswith(("data:", "mailto:")):
        return None
    path = href.lstrip("/") if href.startswith("/") else posixpath.join(base_dir, href)
    path = posixpath.normpath(unquote(path))
    if path.startswith("../") or path == ".." or path.startswith("/"):
        return None
    return path


def _name_variants(info: zipfile.ZipInfo) -> list[str]:
    names = [info.filename]
    if not info.flag_bits & 0x800:
        # Names stored as UTF-8 without the UTF-8 flag come out as cp437 mojibake; undo that.
        try:
            names.append(info.filename.encode("cp437").decode("utf-8"))
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return names


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()
