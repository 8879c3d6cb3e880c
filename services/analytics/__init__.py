"""Analytics: what users do (the events table) and the business numbers computed from it and the other
features' tables (users, books, chat turns, LLM usage, payments)."""

from services.analytics.events import Analytics, track
from services.analytics.metrics import Metrics

__all__ = ["Analytics", "Metrics", "track"]
