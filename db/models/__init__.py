"""Every model, imported so that Base.metadata knows all tables."""

from db.models.admin import AuditEntry, UserBan
from db.models.billing import CreditAccount, LedgerEntry, Payment, PaymentOrder
from db.models.books import Book, BookStatus, Chunk
from db.models.chat import AnswerCacheEntry, BookSummary, ChatTurn, LLMUsageRecord
from db.models.engagement import Achievement, LeaderboardEntry, ReadingStreak, SharedQuote
from db.models.notifications import Broadcast, Delivery, Event, JobRun
from db.models.users import User

__all__ = [
    "Achievement",
    "AnswerCacheEntry",
    "AuditEntry",
    "Book",
    "BookStatus",
    "BookSummary",
    "Broadcast",
    "ChatTurn",
    "Chunk",
    "CreditAccount",
    "Delivery",
    "Event",
    "JobRun",
    "LLMUsageRecord",
    "LeaderboardEntry",
    "LedgerEntry",
    "Payment",
    "PaymentOrder",
    "ReadingStreak",
    "SharedQuote",
    "User",
    "UserBan",
]
