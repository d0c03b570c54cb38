"""Server-side browser sessions and CSRF tokens (the domain half; cookies are set by
``api/websession.py``).

- The session cookie holds a random 256-bit token; the ``web_sessions`` table holds only its
  SHA-256, the account, and created/expires/last-seen times. A new token at every login (the
  old session row is deleted); the row is deleted at logout and by the sweeper once expired.
- The CSRF token is a signed double-submit token ``nonce.HMAC(secret, session|nonce)``, bound
  to the current session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner.db.models import User
from imagedesigner.db.models_logs import WebSession
from imagedesigner.kit.clock import as_utc

LAST_SEEN_RESOLUTION = timedelta(minutes=5)  # fewer writes for busy sessions
MAX_TOKEN = 200


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plausible(token: str | None) -> bool:
    return bool(token) and len(token) < MAX_TOKEN  # type: ignore[arg-type]


@dataclass
class Active:
    session: WebSession
    user: User


async def find(session: AsyncSession, now: datetime, token: str | None) -> Active | None:
    """The live session behind a cookie token; records last-seen (every few minutes)."""
    if not plausible(token):
        return None
    row = (
        await session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == token_hash(token))  # type: ignore[arg-type]
        )
    ).first()
    if row is None or as_utc(row[0].expires_at) <= now:
        return None
    if now - as_utc(row[0].last_seen_at) >= LAST_SEEN_RESOLUTION:
        await session.execute(
            update(WebSession).where(WebSession.id == row[0].id).values(last_seen_at=now)
        )
    return Active(session=row[0], user=row[1])


async def create(
    session: AsyncSession, now: datetime, ttl: timedelta, user_id: str, old_token: str | None
) -> str:
    """Log in: the browser's previous session (if any) is deleted; returns the new token."""
    if plausible(old_token):
        await session.execute(delete(WebSession).where(WebSession.id == token_hash(old_token)))
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=token_hash(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + ttl,
            last_seen_at=now,
        )
    )
    await session.flush()
    return token


async def destroy(session: AsyncSession, token: str | None) -> None:
    if plausible(token):
        await session.execute(delete(WebSession).where(WebSession.id == token_hash(token)))


async def destroy_all_for_user(session: AsyncSession, user_id: str) -> int:
    """Every session of an account (erasure, password change)."""
    result = await session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return result.rowcount or 0


# --- CSRF ------------------------------------------------------------------------------------


def _sign(secret: bytes, binding: str, nonce: str) -> str:
    mac = hmac.new(secret, f"csrf|{binding}|{nonce}".encode(), "sha256")
    return mac.hexdigest()[:32]


def new_csrf(secret: bytes, binding: str) -> str:
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_sign(secret, binding, nonce)}"


def csrf_valid_for(secret: bytes, token: str | None, binding: str) -> bool:
    if not token or "." not in token or len(token) > MAX_TOKEN:
        return False
    nonce, _, mac = token.partition(".")
    return hmac.compare_digest(mac, _sign(secret, binding, nonce))
