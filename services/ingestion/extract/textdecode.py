"""Decode text files in whatever encoding people saved them.

Order: BOM, UTF-16 without BOM, strict UTF-8, then single-byte encodings. Russian books still travel
as cp1251, koi8-r and cp866, which statistical detectors confuse with each other and with Western
code pages, so those get a letter-frequency check of their own before charset-normalizer is asked.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from services.ingestion.detect import utf16_without_bom

_SAMPLE = 256 * 1024
_CYRILLIC_CODECS = ("cp1251", "koi8-r", "cp866", "mac-cyrillic", "iso8859-5", "koi8-u")

# Relative letter frequencies in Russian prose (with Ukrainian-only letters added), lowercase only:
# a wrong Cyrillic code page turns text into mostly capitals or rare letters and scores low.
_FREQ = {
    "о": 0.109, "е": 0.085, "а": 0.080, "и": 0.074, "н": 0.067, "т": 0.063, "с": 0.055, "р": 0.047,
    "в": 0.045, "л": 0.044, "к": 0.035, "м": 0.032, "д": 0.030, "п": 0.028, "у": 0.026, "я": 0.020,
    "ы": 0.019, "ь": 0.017, "г": 0.017, "з": 0.016, "б": 0.016, "ч": 0.014, "й": 0.012, "х": 0.010,
    "ж": 0.009, "ш": 0.007, "ю": 0.006, "ц": 0.005, "щ": 0.004, "э": 0.003, "ф": 0.002, "ъ": 0.001,
    "ё": 0.001, "і": 0.050, "ї": 0.006, "є": 0.004, "ґ": 0.001,
}  # fmt: skip
_WESTERN = frozenset(
    "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœßÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝŸŒ\u00a0«»‘’“”„–—…°·•§©®™€£¿¡ªº²³½¼¾×"
)
_WORD_RE = re.compile(r"[^\W\d_]+")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CHARSET_RE = re.compile(
    rb"""<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)["']|<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""",
    re.IGNORECASE,
)


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding to text; never raises."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    utf16 = utf16_without_bom(data[:4096])
    if utf16:
        return data.decode(utf16, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 or _mostly_utf8(data):
            # A file cut mid-character, or UTF-8 with a few stray bytes: keep it UTF-8.
            return data.decode("utf-8", errors="replace")
    return data.decode(guess_single_byte(data), errors="replace")


def guess_single_byte(data: bytes) -> str:
    """The most plausible single-byte code page for non-UTF-8 bytes."""
    sample = data[:_SAMPLE]
    cyrillic = _best_cyrillic(sample)
    if cyrillic:
        return cyrillic
    if _plausibly_western(sample):
        return "cp1252"
    match = from_bytes(sample, explain=False).best()
    if match is not None and match.encoding not in ("utf_8", "ascii"):
        return match.encoding
    return "cp1252"


def _best_cyrillic(sample: bytes) -> str | None:
    high = sum(1 for byte in sample if byte >= 0x80)
    if high < 4:
        return None
    best, best_score = None, 0.0
    for codec in _CYRILLIC_CODECS:
        text = sample.decode(codec, errors="replace")
        score = _russian_score(text, high)
        if score > best_score:
            best, best_score = codec, score
    if best is None or best_score < 0.025:
        return None
    text = sample.decode(best, errors="replace")
    words = [word for word in _WORD_RE.findall(text) if _CYRILLIC_RE.search(word)]
    mixed = sum(1 for word in words if _LATIN_RE.search(word))
    # Western text read as cp1251 puts Cyrillic letters inside Latin words ("йtй"); Russian does not.
    if not words or mixed > 0.2 * len(words):
        return None
    return best


def _plausibly_western(sample: bytes) -> bool:
    """Whether cp1252 turns (nearly) every high byte into a letter or mark Western text uses."""
    text = sample.decode("cp1252", errors="replace")
    high = [char for char in text if char >= "\x80"]
    plausible = sum(1 for char in high if char in _WESTERN)
    return bool(high) and plausible >= 0.95 * len(high)


def _russian_score(text: str, high: int) -> float:
    # str.count runs in C: 37 passes over the sample beat one Python loop over it.
    return sum(text.count(char) * weight for char, weight in _FREQ.items()) / high


def _mostly_utf8(data: bytes) -> bool:
    sample = data[:_SAMPLE]
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    high = sum(1 for byte in sample if byte >= 0x80)
    return high > 0 and bad <= max(2, high // 200) and bad * 8 < high


def declared_charset(head: bytes) -> str | None:
    """The charset an XML declaration or HTML meta tag names, if it is a known codec."""
    match = _CHARSET_RE.search(head)
    if not match:
        return None
    name = (match.group(1) or match.group(2) or b"").decode("ascii", errors="ignore")
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    if codec.startswith(("utf-16", "utf-32")):
        return None  # the bytes we matched were ASCII, so the declaration is wrong
    return codec
