"""Localised text: Fluent (.ftl) files under locales/<lang>/, one file per feature.

Kept beside the texts, below both the services (notices they send) and the bot (handlers, middlewares),
so that neither imports the other for it."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluent.runtime import FluentBundle, FluentResource

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent
SUPPORTED = ("en", "ru")
FORMATTED_TEXTS = 4096  # texts remembered with their values


def pick_locale(language_code: str | None, default: str = "en") -> str:
    """Telegram's language_code (e.g. 'ru', 'ru-RU', 'uk', 'be') mapped to a locale we have."""
    if not language_code:
        return default
    code = language_code.lower().split("-")[0]
    if code in SUPPORTED:
        return code
    # Russian is the usual second language for these users; Fluent has no uk/be/kk yet.
    if code in ("uk", "be", "kk", "ky", "uz", "tg", "hy", "az"):
        return "ru"
    return default


class I18n:
    """All locales loaded once; `translator(locale)` gives a callable for one language."""

    def __init__(self, locales_dir: Path = LOCALES_DIR, default: str = "en") -> None:
        self.default = default
        self.bundles: dict[str, FluentBundle] = {}
        self.keys: dict[str, set[str]] = {}
        for lang in SUPPORTED:
            bundle = FluentBundle([lang], use_isolating=False)
            keys: set[str] = set()
            for path in sorted((locales_dir / lang).glob("*.ftl")):
                resource = FluentResource(path.read_text(encoding="utf-8"))
                keys.update(entry.id.name for entry in resource.body if hasattr(entry, "id"))
                bundle.add_resource(resource)
            self.bundles[lang] = bundle
            self.keys[lang] = keys
        self._formatted = functools.lru_cache(maxsize=FORMATTED_TEXTS)(self._format)

    def get(self, locale: str, key: str, **kwargs: Any) -> str:
        # The same text with the same values is formatted once: Fluent's number and plural rules are slow.
        args = tuple(sorted(kwargs.items()))
        try:
            hash(args)
        except TypeError:  # a value that cannot be remembered by
            return self._format(locale, key, args)
        return self._formatted(locale, key, args)

    def _format(self, locale: str, key: str, args: tuple[tuple[str, Any], ...]) -> str:
        kwargs = dict(args)
        for lang in (locale, self.default):
            bundle = self.bundles.get(lang)
            if bundle is not None and bundle.has_message(key):
                message = bundle.get_message(key)
                if message.value is None:
                    break
                text, errors = bundle.format_pattern(message.value, kwargs)
                if errors:
                    logger.warning("i18n %s/%s: %s", lang, key, errors)
                return str(text)
        logger.error("i18n: missing key %s", key)
        return key

    def translator(self, locale: str) -> Translator:
        return Translator(self, locale if locale in self.bundles else self.default)


@dataclass(frozen=True)
class Translator:
    """Text in one language: `i18n("key", name=value)`."""

    i18n: I18n
    locale: str

    def __call__(self, key: str, **kwargs: Any) -> str:
        return self.i18n.get(self.locale, key, **kwargs)
