"""Users' rows kept in memory for a few seconds (USER_CACHE_SECONDS; 0 turns it off), so that an ordinary
update learns who sent it without a database round trip.

What is kept is a row's column values as last read from the database. Each update gets a User of its
own built from them and attached to its own session as if just loaded: handlers change and commit it as
always, and nothing is shared between updates.

Every write to `users` through a session of this process drops what is kept at once: a changed, new or
deleted User when it is flushed and again when it is committed; an UPDATE or DELETE statement on the
table empties the cache for that database. A read that raced a write is not kept (each user's entry has
a generation that every drop moves on). Writes made elsewhere (a worker process, another replica, SQL by
hand) are seen when the entry expires; whoever may not wait for that (owners and admins) is not kept.
"""

from __future__ import annotations

import copy
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import URL
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, make_transient_to_detached

from db.models import User

# A session's info keys: users it wrote (dropped again at commit), and whether it ran DML on the table.
_WRITTEN = "user_cache.written"
_EMPTIED = "user_cache.emptied"
_COLUMNS = tuple(column.key for column in User.__mapper__.column_attrs)

Token = tuple[int, int]


@dataclass(slots=True)
class _Entry:
    values: dict[str, Any]
    expires: float


class UserCache:
    def __init__(
        self,
        url: URL,
        seconds: float,
        *,
        size: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._entries: dict[int, _Entry] = {}
        self._generations: dict[int, int] = {}
        self._epoch = 0
        _caches.add(self)

    def token(self, user_id: int) -> Token:
        """Taken before reading a row; `put` keeps the row only if nothing was written since."""
        return self._epoch, self._generations.get(user_id, 0)

    def put(self, user: User, token: Token) -> None:
        if self.seconds <= 0 or token != self.token(user.id) or inspect(user).unloaded:
            return
        if len(self._entries) >= self.size or len(self._generations) >= self.size:
            self.clear()
            return
        values = _copied({name: getattr(user, name) for name in _COLUMNS})
        self._entries[user.id] = _Entry(values, self.clock() + self.seconds)

    def attach(self, session: Session, user_id: int) -> User | None:
        """The user, from what is kept, as a clean persistent object of `session`; None if not kept."""
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        if entry.expires <= self.clock():
            del self._entries[user_id]
            return None
        user = User(**_copied(entry.values))
        make_transient_to_detached(user)  # as if just loaded: no pending changes
        session.add(user)
        return user

    def forget(self, user_ids: Iterable[int]) -> None:
        for user_id in user_ids:
            self._entries.pop(user_id, None)
            self._generations[user_id] = self._generations.get(user_id, 0) + 1

    def clear(self) -> None:
        self._entries.clear()
        self._generations.clear()
        self._epoch += 1


def _copied(values: dict[str, Any]) -> dict[str, Any]:
    # Only JSON columns (settings) can be changed in place; the rest are immutable values.
    return {
        name: copy.deepcopy(value) if isinstance(value, dict | list) else value
        for name, value in values.items()
    }


_caches: weakref.WeakSet[UserCache] = weakref.WeakSet()


def _caches_of(session: Session) -> list[UserCache]:
    bind = session.bind
    url = getattr(bind, "url", None)
    # A session with no single engine: every cache, to be safe.
    return [cache for cache in _caches if url is None or cache.url == url]


@event.listens_for(Session, "after_flush")
def _users_flushed(session: Session, _flush: UOWTransaction) -> None:
    if not _caches:
        return
    # new / dirty / deleted still list what this flush wrote.
    written = {obj.id for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, User)}
    if written:
        session.info.setdefault(_WRITTEN, set()).update(written)
        for cache in _caches_of(session):
            cache.forget(written)


@event.listens_for(Session, "do_orm_execute")
def _users_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert) or not _caches:
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) == User.__tablename__:
        state.session.info[_EMPTIED] = True
        for cache in _caches_of(state.session):
            cache.clear()


@event.listens_for(Session, "after_commit")
def _users_committed(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    emptied = session.info.pop(_EMPTIED, False)
    if written or emptied:
        for cache in _caches_of(session):
            if emptied:
                cache.clear()
            else:
                cache.forget(written)
