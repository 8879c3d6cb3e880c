"""What brings a reader back: reading streaks, milestones, the opt-in leaderboard and shared quotes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, BigIntId, UTCDateTime, utcnow


class ReadingStreak(Base):
    """A user's run of reading days: a day counts when they ask about or study a book."""

    __tablename__ = "reading_streaks"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    current: Mapped[int] = mapped_column(Integer, default=0)
    best: Mapped[int] = mapped_column(Integer, default=0)
    # The user's own calendar day (their time zone) of the last reading day.
    last_day: Mapped[date | None] = mapped_column(Date)
    days_total: Mapped[int] = mapped_column(Integer, default=0)


class Achievement(Base):
    """A milestone reached once (first book, 100 questions, a 7-day streak...): announced once."""

    __tablename__ = "achievements"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    achieved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeaderboardEntry(Base):
    """One opted-in reader's line on the leaderboard, as the last scheduled refresh left it."""

    __tablename__ = "leaderboard"
    __table_args__ = (Index("ix_leaderboard_rank", "rank"),)

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    rank: Mapped[int] = mapped_column(Integer)
    display_name: Mapped[str] = mapped_column(String(64))
    books: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SharedQuote(Base):
    """A quote drawn as a card: its deep link `/start q_<id>` opens it for whoever follows it."""

    __tablename__ = "shared_quotes"
    __table_args__ = (Index("ix_shared_quotes_views", "views"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # Who made the card; their erasure removes it.
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    book_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(512))
    author: Mapped[str | None] = mapped_column(String(512))
    place: Mapped[str | None] = mapped_column(String(128))
    # Cards sent (each tap on "🖼 Card" for this quote) and deep-link opens by other people.
    shares: Mapped[int] = mapped_column(Integer, default=1)
    views: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
