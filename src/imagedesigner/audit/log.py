"""Writing and reading the audit log. Entries hold pseudonymous references and a kebab-case
action name, never content (no prompt, image, email or ticket text).

``subject_ref`` is the one pseudonym used everywhere (audit log, rights requests, erasure
records): an HMAC of the user id with the server secret, so staff can find a user's entries
from the id while the log itself names no one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner.config import Settings
from imagedesigner.db.models_privacy import AuditEntry

ACTION = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
ACTIONS = {
    "account-read",
    "content-read",
    "content-read-denied",
    "tickets-read",
    "ticket-answered",
    "ticket-closed",
    "holds-read",
    "rights-read",
    "rights-request-recorded",
    "rights-request-completed",
    "audit-read",
    "records-read",
    "hold-added",
    "hold-released",
    "rights-export",
    "rights-erasure",
    "rights-erasure-pending",
    "rights-erasure-completed",
    "underage-erasure",
}


def subject_ref(settings: Settings, user_id: str) -> str:
    digest = hmac.new(settings.resolved_secret(), user_id.encode(), hashlib.sha256).hexdigest()
    return f"subj_{digest[:32]}"


def staff_ref(settings: Settings, user_id: str) -> str:
    return f"staff:{subject_ref(settings, user_id)}"


def cli_ref(operator: str) -> str:
    """Staff acting through the CLI: the operating-system account name."""
    clean = re.sub(r"[^A-Za-z0-9_.-]", "", operator)[:60] or "unknown"
    return f"cli:{clean}"


async def record(
    session: AsyncSession, at: datetime, *, actor: str, action: str, target: str
) -> AuditEntry:
    if action not in ACTIONS or not ACTION.match(action):
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(at=at, actor_ref=actor[:80], action=action, target_ref=target[:80])
    session.add(entry)
    await session.flush()
    return entry


async def entries(session: AsyncSession, *, target: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if target is not None:
        query = query.where(AuditEntry.target_ref == target)
    return list((await session.execute(query)).scalars())
