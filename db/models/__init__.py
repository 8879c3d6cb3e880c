"""Every model, imported so that Base.metadata knows all tables."""

from db.models.users import User

__all__ = ["User"]
