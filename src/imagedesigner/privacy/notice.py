"""Policy-change notice: the last policy version each signed-in user was shown.

Sign-up records the current version (the policy was shown then). When
``IMAGEDESIGNER_POLICY_VERSION`` changes, the next page a signed-in user views carries a notice,
and the version is recorded so the notice does not come back.
"""

from __future__ import annotations

from sqlalchemy import select

from imagedesigner.container import Container
from imagedesigner.db.models_logs import PolicyAcknowledgement


async def seen_version(c: Container, user_id: str) -> str | None:
    async with c.sessions() as session:
        return (
            await session.execute(
                select(PolicyAcknowledgement.policy_version).where(
                    PolicyAcknowledgement.user_id == user_id
                )
            )
        ).scalar_one_or_none()


async def record_seen(c: Container, user_id: str) -> None:
    version = c.settings.policy_version
    async with c.sessions() as session, session.begin():
        row = await session.get(PolicyAcknowledgement, user_id)
        if row is None:
            session.add(
                PolicyAcknowledgement(
                    user_id=user_id, policy_version=version, seen_at=c.clock.now()
                )
            )
        else:
            row.policy_version = version
            row.seen_at = c.clock.now()


async def notice_due(c: Container, user_id: str) -> bool:
    return await seen_version(c, user_id) != c.settings.policy_version


async def take_notice(c: Container, user_id: str) -> bool:
    """True once per policy version: the caller shows the notice, and it is marked seen."""
    if not await notice_due(c, user_id):
        return False
    await record_seen(c, user_id)
    return True
