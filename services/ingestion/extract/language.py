"""A cheap language guess (ISO 639-1) for books whose metadata does not say.

Scripts decide first (Cyrillic, Greek, Arabic, CJK...); within Cyrillic and Latin a few telltale
letters and function words separate the languages we expect most. Good enough to pick a stemmer and
a default answer language, not a general-purpose identifier.
"""

from __future__ import annotations

import re
from collections import Counter

_SAMPLE_CHARS = 60_000
_WORD_RE = re.compile(r"[^\W\d_]+")
_NON_LETTER_RE = re.compile(r"[\W\d_]+")
_NON_CYRILLIC_RE = re.compile(r"[^\u0400-\u052f]+")
_NON_LATIN_RE = re.compile(r"[^A-Za-z\u00c0-\u024f]+")

# Frequent function words, chosen to overlap little (no "a", "no", "do", "as": English has them too).
_LATIN_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and of to is was that with for his her this which have be are were from they".split()
    ),
    "de": frozenset(
        "der die und den das nicht ist sich mit ein eine auf dem des von ich zu auch wird sind".split()
    ),
    "fr": frozenset("le les et des est une qui dans pas pour sur il elle je du au avec ce sont".split()),
    "es": frozenset("el los las y del una es por con para su lo como más pero fue muy".split()),
    "it": frozenset("il che di non un per della sono gli nel è anche questo alla ma".split()),
    "pt": frozenset("os não em uma com ao mais é são pelo pela foi muito isso".split()),
}
_ISO_639_2 = {
    "eng": "en", "rus": "ru", "ukr": "uk", "bel": "be", "deu": "de", "ger": "de", "fra": "fr",
    "fre": "fr", "spa": "es", "ita": "it", "por": "pt", "pol": "pl", "ces": "cs", "cze": "cs",
    "nld": "nl", "dut": "nl", "chi": "zh", "zho": "zh", "jpn": "ja", "kor": "ko", "ara": "ar",
    "heb": "he", "gre": "el", "ell": "el", "tur": "tr", "kaz": "kk", "bul": "bg", "srp": "sr",
}  # fmt: skip
_CYRILLIC_LANGS = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn"})


def guess_language(text: str) -> str | None:
    """Guess the main language of `text`; None when there are no letters to go on."""
    sample = _sample(text)
    letters = len(_NON_LETTER_RE.sub("", sample))
    if not letters:
        return None
    # Fast path in C for the scripts most books are in; the per-character census only for the rest.
    cyrillic = len(_NON_CYRILLIC_RE.sub("", sample))
    latin = len(_NON_LATIN_RE.sub("", sample))
    if cyrillic + latin >= 0.6 * letters:
        script = "cyrillic" if cyrillic > latin else "latin"
        scripts: Counter[str] = Counter()
    else:
        scripts = Counter(_script(char) for char in sample if char.isalpha())
        script = scripts.most_common(1)[0][0]
    if script == "cyrillic":
        return _cyrillic_language(sample)
    if script == "latin":
        return _latin_language(sample)
    if script == "cjk":
        return "ja" if scripts["kana"] > 0.05 * scripts["cjk"] else "zh"
    return {"greek": "el", "arabic": "ar", "hebrew": "he", "hangul": "ko", "kana": "ja",
            "devanagari": "hi", "thai": "th", "georgian": "ka", "armenian": "hy"}.get(script)  # fmt: skip


def _sample(text: str) -> str:
    """Windows from the start, middle and end: front matter is often in another language."""
    if len(text) <= _SAMPLE_CHARS:
        return text
    third = _SAMPLE_CHARS // 3
    middle = len(text) // 2
    return "\n".join((text[:third], text[middle - third // 2 : middle + third // 2], text[-third:]))


def normalize_language(value: str | None) -> str | None:
    """'en-US' -> 'en', 'rus' -> 'ru'; None for empty or unknown values."""
    if not value:
        return None
    code = value.strip().replace("_", "-").split("-")[0].lower()
    if len(code) == 2 and code.isalpha():
        return code
    return _ISO_639_2.get(code)


def pick_language(declared: str | None, text: str) -> str | None:
    """Metadata wins unless the text is plainly in another script (generators often stamp 'en')."""
    declared = normalize_language(declared)
    guessed = guess_language(text)
    if declared is None:
        return guessed
    if guessed is None:
        return declared
    if (declared in _CYRILLIC_LANGS) != (guessed in _CYRILLIC_LANGS):
        return guessed
    return declared


def _script(char: str) -> str:
    code = ord(char)
    if code < 0x250:
        return "latin"
    if 0x400 <= code < 0x530:
        return "cyrillic"
    if 0x370 <= code < 0x400:
        return "greek"
    if 0x590 <= code < 0x600:
        return "hebrew"
    if 0x600 <= code < 0x700 or 0x750 <= code < 0x780:
        return "arabic"
    if 0x900 <= code < 0x980:
        return "devanagari"
    if 0xE00 <= code < 0xE80:
        return "thai"
    if 0x10A0 <= code < 0x1100:
        return "georgian"
    if 0x530 <= code < 0x590:
        return "armenian"
    if 0x3040 <= code < 0x3100:
        return "kana"
    if 0xAC00 <= code < 0xD7B0 or 0x1100 <= code < 0x1200:
        return "hangul"
    if 0x4E00 <= code < 0xA000 or 0x3400 <= code < 0x4DC0:
        return "cjk"
    if 0x1E00 <= code < 0x1F00:
        return "latin"
    return "other"


def _cyrillic_language(sample: str) -> str:
    lowered = sample.lower()
    russian = sum(lowered.count(char) for char in "ыэъё")
    ukrainian = sum(lowered.count(char) for char in "іїєґ")
    if "ў" in lowered and lowered.count("ў") > russian / 4:
        return "be"
    if ukrainian > russian:
        return "uk"
    return "ru"


def _latin_language(sample: str) -> str:
    counts: Counter[str] = Counter()
    words = _WORD_RE.findall(sample.lower())[:10_000]
    for word in words:
        for lang, stopwords in _LATIN_STOPWORDS.items():
            if word in stopwords:
                counts[lang] += 1
    if sum(counts.values()) < 3:
        return "en"
    return counts.most_common(1)[0][0]
