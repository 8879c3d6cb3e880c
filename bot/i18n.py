"""Localised text for handlers and middlewares: the same I18n as locales.i18n (its home, below services)."""

from locales.i18n import FORMATTED_TEXTS, LOCALES_DIR, SUPPORTED, I18n, Translator, pick_locale

__all__ = ["FORMATTED_TEXTS", "LOCALES_DIR", "SUPPORTED", "I18n", "Translator", "pick_locale"]
