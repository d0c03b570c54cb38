"""Users and API keys. Keys are random, shown once, stored only as a SHA-256 hash.

SHA-256 (not argon2) is right for API keys: they carry 256 bits of randomness, so a slow hash
adds nothing but latency on every request.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.accounts import keycache
from imagedesigner.accounts.keycache import KeyCache
from imagedesigner.accounts.passwords import hash_password_async
from imagedesigner.db.models import ApiKey, User
from imagedesigner.kit.clock import as_utc
from imagedesigner.kit.ids import new_id

KEY_PREFIX = "idk_"
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
LAST_USED_RESOLUTION = timedelta(minutes=1)  # fewer writes on hot keys


def _storable(text: str) -> bool:
    """False for text with a lone surrogate (not encodable as UTF-8) or a NUL (which
    PostgreSQL's text cannot hold): the web forms and the CLI reach here without the API's
    request models."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def normalize_email(email: str) -> str:
    email = (email or "").strip()
    if not EMAIL_RE.match(email) or len(email) > 320 or not _storable(email):
        raise errors.InvalidRequest("Enter a valid email address.", param="email")
    # one account per address whatever its case: mail providers treat local parts case-blind
    return email.lower()


def check_password_strength(password: str) -> None:
    if len(password or "") < 10:
        raise errors.InvalidRequest(
            "The password must have at least 10 characters.", param="password"
        )
    if len(password) > 1024:
        raise errors.InvalidRequest("The password is too long.", param="password")


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class NewKey:
    key: ApiKey
    token: str  # shown once, never stored


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return (
        await session.execute(select(User).where(User.email == normalize_email(email)))
    ).scalar_one_or_none()


async def create_user(
    session: AsyncSession,
    now: datetime,
    *,
    email: str,
    password: str | None,
    age_confirmed: bool,
    role: str = "user",
) -> User:
    """The caller has checked the age gate; ``age_confirmed`` must be true. An address that
    already has an account raises ``Conflict`` (staff tools say so; sign-up does not)."""
    if not age_confirmed:
        raise errors.InvalidRequest("You must confirm you meet the minimum age.", param="age")
    email = normalize_email(email)
    if password is not None:
        check_password_strength(password)
    # hashed before the look-up, so a taken address costs the same time as a new one
    password_hash = await hash_password_async(password) if password is not None else None
    if await find_user_by_email(session, email):
        raise errors.Conflict("An account with this email already exists.", param="email")
    user = User(
        id=new_id("usr"),
        email=email,
        password_hash=password_hash,
        age_confirmed_at=now,
        role=role,
        created_at=now,
    )
    session.add(user)
    try:
        await session.flush()  # a concurrent sign-up may win the unique index
    except IntegrityError:
        await session.rollback()
        raise errors.Conflict("An account with this email already exists.", param="email") from None
    return user


async def create_key(session: AsyncSession, now: datetime, user: User, name: str = "") -> NewKey:
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"),
        user_id=user.id,
        name=name[:100],
        prefix=token[:12],
        key_hash=hash_key(token),
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return NewKey(key=key, token=token)


async def list_keys(session: AsyncSession, user: User) -> list[ApiKey]:
    return list(
        (
            await session.execute(
                select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.created_at)
            )
        ).scalars()
    )


async def revoke_key(session: AsyncSession, now: datetime, user: User, key_id: str) -> ApiKey:
    """Revoke one of ``user``'s keys. Another user's key id is not found, like an unknown one."""
    key = await session.get(ApiKey, key_id)
    if key is None or key.user_id != user.id:
        raise errors.NotFound("No API key with this id.", param="key_id")
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    return key


SessionSource = AsyncSession | Callable[[], Awaitable[AsyncSession]]


async def _opened(source: SessionSource) -> AsyncSession:
    return source if isinstance(source, AsyncSession) else await source()


async def authenticate_key(
    source: SessionSource, now: datetime, token: str, cache: KeyCache | None = None
) -> User:
    """The key's account. Records the key's last use (at most once a minute); the caller
    commits. With ``cache``, a key seen in the last seconds needs no look-up, and then no
    session either: ``source`` is a session, or what opens one when it is needed (making and
    ending an unused one was about 40 µs of each request)."""
    if not token or not token.startswith(KEY_PREFIX) or len(token) > 200:
        raise errors.AuthenticationFailed(
            "Incorrect API key provided. Create one with `imagedesigner keys create`."
        )
    digest = hash_key(token)
    caching = cache is not None and cache.enabled
    hit = (cache.get(digest, now) or await cache.wait_for_lookup(digest, now)) if caching else None
    if hit is not None:
        user = keycache.attach(source if isinstance(source, AsyncSession) else None, hit.user)
        if hit.last_used_at is None or now - as_utc(hit.last_used_at) >= LAST_USED_RESOLUTION:
            hit.last_used_at = now
            await _stamp(await _opened(source), hit.key_id, now)
        return user
    with cache.lookup(digest) if caching else contextlib.nullcontext():
        session = await _opened(source)
        generation = cache.generation if cache is not None else 0
        row = (
            await session.execute(
                select(ApiKey, User)
                .join(User, User.id == ApiKey.user_id)
                .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
            )
        ).first()
        if row is None:
            raise errors.AuthenticationFailed(
                "Incorrect API key provided. Create one with `imagedesigner keys create`."
            )
        key, user = row
        last_used = key.last_used_at
        if last_used is None or now - as_utc(last_used) >= LAST_USED_RESOLUTION:
            await _stamp(session, key.id, now)
            last_used = now
        if cache is not None:
            cache.put(digest, generation, user, key.id, last_used, now)
    return user


async def _stamp(session: AsyncSession, key_id: str, now: datetime) -> None:
    """The key's last use (bookkeeping: it leaves the key cache alone)."""
    await session.execute(
        update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now),
        execution_options={keycache.BOOKKEEPING: True},
    )
