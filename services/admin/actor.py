"""Who is acting, and the one error type admin actions raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.admin.roles import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """The admin doing something: their user id and staff role (checked again by every action)."""

    id: int
    role: Role


class AdminError(Exception):
    """An admin action was refused; `code` says why and `details` carry numbers for the message.

    Codes: not_found, forbidden, bad_amount, insufficient, same_plan, unknown_plan, same_role,
    not_retryable, not_refundable, unavailable.
    """

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details
