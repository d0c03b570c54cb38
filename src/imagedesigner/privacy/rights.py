"""The record of data-subject requests: type, received, due (one calendar month later, GDPR
Art. 12(3)), completed, channel and a pseudonymous subject reference. Staff report from it."""

from __future__ import annotations

import calendar
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.audit.log import subject_ref
from imagedesigner.config import Settings
from imagedesigner.db.models_privacy import RightsRequest
from imagedesigner.kit.clock import as_utc
from imagedesigner.kit.ids import new_id

TYPES = {
    "access",
    "rectification",
    "erasure",
    "restriction",
    "restriction-lifted",
    "consent-withdrawal",
    "ticket-deletion",
    "gallery-deletion",
}
CHANNELS = {"self-service", "staff"}


def add_month(when: datetime) -> datetime:
    """Same day next month, clamped to the month's end (31 Jan -> 28/29 Feb)."""
    year, month = (when.year + 1, 1) if when.month == 12 else (when.year, when.month + 1)
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


async def record(
    session: AsyncSession,
    settings: Settings,
    *,
    user_id: str,
    type: str,
    channel: str,
    received_at: datetime,
    completed_at: datetime | None,
    details: dict | None = None,
) -> RightsRequest:
    if type not in TYPES or channel not in CHANNELS:
        raise ValueError(f"unknown rights request {type!r}/{channel!r}")
    row = RightsRequest(
        id=new_id("rr"),
        subject_ref=subject_ref(settings, user_id),
        type=type,
        channel=channel,
        received_at=received_at,
        due_at=add_month(received_at),
        completed_at=completed_at,
        details=details or {},
    )
    session.add(row)
    await session.flush()
    return row


async def complete(session: AsyncSession, request_id: str, at: datetime, **details) -> None:
    row = await session.get(RightsRequest, request_id)
    if row is not None:
        row.completed_at = at
        row.details = {**(row.details or {}), **details}


async def listing(session: AsyncSession, limit: int = 500) -> list[RightsRequest]:
    """Open requests first, soonest deadline first; then the fulfilled ones, newest first."""
    rows = list(
        (
            await session.execute(
                select(RightsRequest).order_by(RightsRequest.received_at.desc()).limit(limit)
            )
        ).scalars()
    )
    open_rows = sorted((r for r in rows if r.completed_at is None), key=lambda r: as_utc(r.due_at))
    return open_rows + [r for r in rows if r.completed_at is not None]


async def fulfil(session: AsyncSession, request_id: str, now: datetime) -> RightsRequest:
    """Staff mark an open request (one they recorded) as done."""
    row = await session.get(RightsRequest, request_id)
    if row is None:
        raise errors.NotFound("No request with this id.", param="request_id")
    if row.completed_at is not None:
        raise errors.Conflict("This request is already fulfilled.", param="request_id")
    if (row.details or {}).get("held"):
        raise errors.Conflict(
            "This erasure waits for a legal hold; it completes when the hold is released.",
            param="request_id",
        )
    row.completed_at = now
    return row


def status(row: RightsRequest, now: datetime) -> str:
    due = as_utc(row.due_at)
    if row.completed_at is None:
        if (row.details or {}).get("held"):
            return "pending (legal hold, Art. 17(3)(e))"
        return "OVERDUE" if now > due else "open"
    if as_utc(row.completed_at) <= due:
        return "met"
    if (row.details or {}).get("held"):
        return "met after legal hold (Art. 17(3)(e))"
    return "LATE"


async def report(session: AsyncSession, now: datetime) -> list[dict]:
    rows = (
        await session.execute(select(RightsRequest).order_by(RightsRequest.received_at))
    ).scalars()
    return [
        {
            "id": r.id,
            "type": r.type,
            "channel": r.channel,
            "subject_ref": r.subject_ref,
            "received_at": as_utc(r.received_at).isoformat(),
            "due_at": as_utc(r.due_at).isoformat(),
            "completed_at": as_utc(r.completed_at).isoformat() if r.completed_at else None,
            "status": status(r, now),
        }
        for r in rows
    ]
