"""The consent ledger (append-only: each grant or withdrawal is a new row; the newest row per
purpose is the current state). Purposes are the policy's opt-in features."""

from __future__ import annotations

import secrets
import time
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.db.models_privacy import Consent
from imagedesigner.kit.clock import as_utc

PURPOSES = {
    "gallery": "Keep the images you save, and their prompts, until you delete them.",
    "email_updates": "Occasional email about changes to the service.",
}

_last = 0


def _ledger_id() -> str:
    """Sortable ids keep the ledger in append order even when two rows share a timestamp."""
    global _last
    _last = max(_last + 1, time.time_ns())
    return f"cns_{_last:020d}{secrets.token_hex(6)}"


def check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise errors.NotFound(
            f"Unknown consent purpose '{purpose}'. Purposes: {', '.join(sorted(PURPOSES))}.",
            param="purpose",
        )
    return purpose


async def history(session: AsyncSession, user_id: str) -> list[Consent]:
    query = select(Consent).where(Consent.user_id == user_id).order_by(Consent.at, Consent.id)
    return list((await session.execute(query)).scalars())


async def current(session: AsyncSession, user_id: str) -> dict[str, Consent | None]:
    state: dict[str, Consent | None] = dict.fromkeys(PURPOSES)
    for row in await history(session, user_id):
        state[row.purpose] = row
    return state


async def has(session: AsyncSession, user_id: str, purpose: str) -> bool:
    row = (await current(session, user_id)).get(purpose)
    return bool(row and row.granted)


async def append(
    session: AsyncSession,
    now: datetime,
    policy_version: str,
    user_id: str,
    purpose: str,
    granted: bool,
) -> Consent:
    row = Consent(
        id=_ledger_id(),
        user_id=user_id,
        purpose=check_purpose(purpose),
        granted=granted,
        at=now,
        policy_version=policy_version,
    )
    session.add(row)
    await session.flush()
    return row


def as_dict(row: Consent) -> dict:
    return {
        "purpose": row.purpose,
        "granted": row.granted,
        "at": int(as_utc(row.at).timestamp()),
        "policy_version": row.policy_version,
    }


async def state(session: AsyncSession, user_id: str) -> dict:
    now = await current(session, user_id)
    return {
        "object": "consents",
        "purposes": {
            p: {
                "description": PURPOSES[p],
                "granted": bool(row and row.granted),
                "since": int(as_utc(row.at).timestamp()) if row else None,
                "policy_version": row.policy_version if row else None,
            }
            for p, row in now.items()
        },
        "history": [as_dict(r) for r in await history(session, user_id)],
    }
