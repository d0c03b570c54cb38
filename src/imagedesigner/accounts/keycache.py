"""A short-lived, in-process cache of API keys and their accounts, so a request signed with a
known key needs no database round trip to be authenticated.

Correctness first:
- any committed change to ``users`` or ``api_keys`` (a revocation, a restriction, an erasure, a
  role or e-mail change; ORM or bulk statement) clears the whole cache of this process at once,
  and is announced to every other instance through the job notifier (Redis pub/sub when
  configured), which clears theirs;
- a look-up that raced with such a change never fills the cache (a generation counter);
- entries expire after ``ttl`` anyway, bounding what a lost announcement can cost (by the
  request's ``now``, from the injected clock, so tests move time instead of sleeping).
A key missed by several requests at once (an entry that expired, or a cache just cleared, under
a steady stream of that key's requests) is looked up once: the others wait for that look-up
(:meth:`KeyCache.lookup`, :meth:`KeyCache.wait_for_lookup`) instead of all going to the
database together, which queued 64 look-ups on SQLite's connections every ``ttl`` and was
scenario b's p99 (319 ms at a 42 ms p50; 54 ms without the expiries).
The cache holds the account's column values and the key's id, never the key itself (it is keyed
by the key's hash, as the table is).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from imagedesigner.db.models import ApiKey, User

WATCHED = frozenset({User.__tablename__, ApiKey.__tablename__})
BOOKKEEPING = "key_bookkeeping"  # execution option: a last-use stamp, not an account change
ANNOUNCE = "__auth__"  # the notifier id every instance listens to
MAX_ENTRIES = 10_000


@dataclass
class Entry:
    expires: datetime
    user: dict
    key_id: str
    last_used_at: datetime | None


class KeyCache:
    def __init__(self, ttl_seconds: float, announce: Callable[[], None] | None = None) -> None:
        self.ttl = ttl_seconds
        self.announce = announce  # tells the other instances to clear theirs
        self.generation = 0
        self._entries: dict[str, Entry] = {}
        self._pending: dict[str, asyncio.Future[None]] = {}  # key hash -> its look-up running
        _CACHES.add(self)

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get(self, key_hash: str, now: datetime) -> Entry | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry.expires <= now:
            self._entries.pop(key_hash, None)
            return None
        return entry

    async def wait_for_lookup(self, key_hash: str, now: datetime) -> Entry | None:
        """When another request is looking this key up, wait for it and return what it put in
        the cache (None: no look-up was running, or it put nothing: the key was not found, the
        accounts changed meanwhile, it failed)."""
        pending = self._pending.get(key_hash)
        if pending is None:
            return None
        await asyncio.wait([pending])  # never cancels the look-up itself
        return self.get(key_hash, now)

    @contextlib.contextmanager
    def lookup(self, key_hash: str) -> Iterator[None]:
        """The look-up of one key by this request: others missing it meanwhile wait for it."""
        if key_hash in self._pending:  # one already runs (this one waited and found nothing)
            yield
            return
        done = asyncio.get_running_loop().create_future()
        self._pending[key_hash] = done
        try:
            yield
        finally:
            del self._pending[key_hash]
            done.set_result(None)

    def put(
        self,
        key_hash: str,
        generation: int,
        user: User,
        key_id: str,
        last_used: datetime | None,
        now: datetime,
    ) -> None:
        if not self.enabled or generation != self.generation:
            return  # the accounts changed while this look-up ran: do not keep what it read
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        values = {attr.key: getattr(user, attr.key) for attr in inspect(User).column_attrs}
        expires = now + timedelta(seconds=self.ttl)
        self._entries[key_hash] = Entry(expires, values, key_id, last_used)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()


def attach(session, values: dict) -> User:
    """The cached account as a detached instance with every column loaded, built as the ORM
    builds a loaded row (no attribute events: nothing is "changed"); the session's own copy
    when there is a session (``session`` may be None) and it already holds one.

    It is not added to ``session``: adding starts the session's transaction and walks the
    account's cascades, about a fifth of an authenticated request's own CPU, for a row almost
    every route only reads. A route that changes the account loads it (``session.get``), and
    an object that refers to it is added with it (save-update cascade)."""
    if session is not None:  # None: the request has no session (yet)
        key = inspect(User).identity_key_from_primary_key([values["id"]])
        existing = session.identity_map.get(key)
        if existing is not None:
            return existing
    user = _USER_CLASS.new_instance()
    instance_state(user).dict.update(values)
    make_transient_to_detached(user)
    return user


_USER_CLASS = inspect(User).class_manager


# --- invalidation: one set of listeners on every Session, for every cache of this process ---
_CACHES: weakref.WeakSet[KeyCache] = weakref.WeakSet()


def _changed(session: Session) -> None:
    session.info["accounts_changed"] = True


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _ctx) -> None:
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, User | ApiKey) for obj in touched):
        _changed(session)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if state.execution_options.get(BOOKKEEPING):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED:
        _changed(state.session)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop("accounts_changed", False):
        for cache in list(_CACHES):
            cache.clear()
            if cache.announce is not None:
                cache.announce()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop("accounts_changed", None)
