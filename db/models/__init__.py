"""Every model, imported so that Base.metadata knows all tables."""

from db.models.books import Book, BookStatus, Chunk
from db.models.users import User

__all__ = ["Book", "BookStatus", "Chunk", "User"]
