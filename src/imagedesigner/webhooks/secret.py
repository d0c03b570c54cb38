"""Each account's webhook signing secret: created (or replaced) on request and shown once; kept
so the server can sign, encrypted at rest with AES-256-GCM under a key derived (HKDF-SHA256)
from the server secret, the account id bound in as associated data. A database copy alone
does not reveal it. These functions take the caller's session and never commit."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.config import Settings
from imagedesigner.db.models_webhooks import WebhookSecret
from imagedesigner.webhooks import signing

VERSION = "v1"
_INFO = b"imagedesigner webhook signing secret v1"
CREATE_ONE_FIRST = (
    "Create a webhook signing secret first (POST /v1/me/webhook-secret): every webhook is "
    "signed with it, so a request with webhook_url needs one."
)


def _key(settings: Settings) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return hkdf.derive(settings.resolved_secret())


def seal(settings: Settings, user_id: str, raw: bytes) -> str:
    nonce = os.urandom(12)
    box = AESGCM(_key(settings)).encrypt(nonce, raw, user_id.encode())
    return f"{VERSION}:{base64.b64encode(nonce + box).decode()}"


def unseal(settings: Settings, user_id: str, sealed: str) -> bytes | None:
    """The secret, or None when it cannot be opened (another server secret, damaged row)."""
    version, _, text = sealed.partition(":")
    if version != VERSION:
        return None
    try:
        blob = base64.b64decode(text, validate=True)
        return AESGCM(_key(settings)).decrypt(blob[:12], blob[12:], user_id.encode())
    except (ValueError, InvalidTag):
        return None


@dataclass(frozen=True)
class NewSecret:
    secret: str  # whsec_..., for the response only
    created_at: datetime
    replaced: bool


async def rotate(session: AsyncSession, settings: Settings, now: datetime, user_id: str):
    """A new secret for the account, replacing any old one at once."""
    raw = signing.new_secret()
    row = await session.get(WebhookSecret, user_id)
    replaced = row is not None
    if row is None:
        row = WebhookSecret(user_id=user_id)
        session.add(row)
    row.sealed = seal(settings, user_id, raw)
    row.created_at = now
    await session.flush()
    return NewSecret(signing.encode_secret(raw), now, replaced)


async def created_at(session: AsyncSession, user_id: str) -> datetime | None:
    """When the account's secret was created; None when it has none."""
    query = select(WebhookSecret.created_at).where(WebhookSecret.user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def remove(session: AsyncSession, user_id: str) -> bool:
    result = await session.execute(delete(WebhookSecret).where(WebhookSecret.user_id == user_id))
    return bool(result.rowcount)


async def load(session: AsyncSession, settings: Settings, user_id: str) -> bytes | None:
    row = await session.get(WebhookSecret, user_id)
    return unseal(settings, user_id, row.sealed) if row is not None else None


async def require(session: AsyncSession, user_id: str) -> None:
    """A request with ``webhook_url`` is refused (400) while the account has no secret."""
    if await created_at(session, user_id) is None:
        raise errors.InvalidRequest(
            CREATE_ONE_FIRST, param="webhook_url", code="webhook_secret_missing"
        )
