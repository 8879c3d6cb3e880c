"""Every key exists in every locale, with the same placeholders."""

from __future__ import annotations

import re

from bot.i18n import LOCALES_DIR, SUPPORTED, I18n


def _placeholders(lang: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.ftl")):
        key = None
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"^([a-z][a-z0-9-]*)\s*=", line)
            if match:
                key = match.group(1)
                found.setdefault(key, set())
            if key:
                found[key].update(re.findall(r"\{\s*\$([a-z_][a-z0-9_]*)", line))
    return found


def test_every_key_in_every_locale() -> None:
    i18n = I18n()
    reference = i18n.keys["en"]
    assert reference, "English messages are loaded"
    for lang in SUPPORTED:
        assert i18n.keys[lang] == reference, (
            f"{lang}: missing {sorted(reference - i18n.keys[lang])}, extra {sorted(i18n.keys[lang] - reference)}"
        )


def test_same_placeholders_in_every_locale() -> None:
    english = _placeholders("en")
    for lang in SUPPORTED:
        other = _placeholders(lang)
        for key, names in english.items():
            assert other.get(key) == names, f"{lang}/{key}: placeholders {other.get(key)} != {names}"


def test_same_files_in_every_locale() -> None:
    files = {lang: sorted(p.name for p in (LOCALES_DIR / lang).glob("*.ftl")) for lang in SUPPORTED}
    assert files["ru"] == files["en"]


def test_missing_key_falls_back_to_the_key() -> None:
    assert I18n().get("ru", "no-such-key") == "no-such-key"
