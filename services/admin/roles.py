"""Roles: user, subscriber (on a paid plan), admin, owner — and who may do what to whom.

Owners are exactly the users in ADMIN_IDS (the foundation's UserMiddleware stores role "owner" for them,
and "user" again once they are no longer there); a stored "owner" for someone no longer in ADMIN_IDS grants
nothing, so removing an id from the setting is enough to take the powers away. Every admin check goes
through `staff_role`. Admins are made (and unmade) by owners, stored in `users.role`.
Subscriber follows the billing plan when it is known, else `users.role`.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from db.models import User
from services.billing.plans import PAID_PLANS


class Role(StrEnum):
    USER = "user"
    SUBSCRIBER = "subscriber"
    ADMIN = "admin"
    OWNER = "owner"


STAFF: frozenset[Role] = frozenset({Role.ADMIN, Role.OWNER})
# Roles an owner can hand out by button; owner itself comes only from ADMIN_IDS.
ASSIGNABLE: tuple[Role, ...] = (Role.USER, Role.ADMIN)
_RANK = {Role.USER: 0, Role.SUBSCRIBER: 0, Role.ADMIN: 1, Role.OWNER: 2}


def staff_role(user: User | None, admin_ids: Collection[int]) -> Role | None:
    """Owner or admin when the user may use the admin screens, else None."""
    if user is None:
        return None
    if user.id in admin_ids:
        return Role.OWNER
    if user.role == Role.ADMIN and not user.banned:
        return Role.ADMIN
    return None


def effective_role(user: User, admin_ids: Collection[int], plan: str | None = None) -> Role:
    """The role to show and to judge by; `plan` is the billing plan when known."""
    staff = staff_role(user, admin_ids)
    if staff is not None:
        return staff
    if plan is not None:
        return Role.SUBSCRIBER if plan in PAID_PLANS else Role.USER
    return Role.SUBSCRIBER if user.role == Role.SUBSCRIBER else Role.USER


def outranks(actor: Role, target: Role) -> bool:
    """Whether `actor` may act on someone of role `target` (ban, take credits, delete data, ...)."""
    return _RANK[actor] > _RANK[target]


def can_set_role(actor: Role, target: Role, new: Role) -> bool:
    """Only owners change roles, only between user and admin, never of another owner."""
    return actor == Role.OWNER and target != Role.OWNER and new in ASSIGNABLE


def stored_role_for_plan(current: str, plan: str) -> str:
    """`users.role` after a plan change: staff keep theirs; others become subscriber or user."""
    if current in (Role.ADMIN, Role.OWNER):
        return current
    return Role.SUBSCRIBER if plan in PAID_PLANS else Role.USER
