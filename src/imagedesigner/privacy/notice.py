"""Policy-change notice: the last policy version each signed-in user was shown.

Sign-up records the current version (the policy was shown then). When
``IMAGEDESIGNER_POLICY_VERSION`` changes, the next page a signed-in user views carries a notice,
and the version is recorded so the notice does not come back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner.db.models_logs import PolicyAcknowledgement


async def seen_version(session: AsyncSession, user_id: str) -> str | None:
    return (
        await session.execute(
            select(PolicyAcknowledgement.policy_version).where(
                PolicyAcknowledgement.user_id == user_id
            )
        )
    ).scalar_one_or_none()


async def record_seen(session: AsyncSession, user_id: str, version: str, now: datetime) -> None:
    row = await session.get(PolicyAcknowledgement, user_id)
    if row is None:
        session.add(PolicyAcknowledgement(user_id=user_id, policy_version=version, seen_at=now))
    else:
        row.policy_version = version
        row.seen_at = now
    await session.flush()


async def notice_due(session: AsyncSession, user_id: str, version: str) -> bool:
    return await seen_version(session, user_id) != version


async def take_notice(session: AsyncSession, user_id: str, version: str, now: datetime) -> bool:
    """True once per policy version: the caller shows the notice, and it is marked seen."""
    if not await notice_due(session, user_id, version):
        return False
    await record_seen(session, user_id, version, now)
    return True
