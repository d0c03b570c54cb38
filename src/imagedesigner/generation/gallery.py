"""The opt-in gallery. Saving a generation (its prompt, parameters and every output image)
needs ``gallery`` consent and takes it off the content TTL until deleted. Deleting removes
rows and blobs at once; for a user under a legal hold it only ends the item's visibility
(it expires now) and the sweep deletes it after the hold is released. The caller commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.db import uow
from imagedesigner.db.models import Generation, User
from imagedesigner.generation.history import image_ids, live
from imagedesigner.generation.service import ensure_not_restricted
from imagedesigner.privacy import consents, holds
from imagedesigner.privacy.purge import purge
from imagedesigner.storage.base import BlobStore

NOT_FOUND = "No generation with this id exists, or it has expired."


def _saved(user_id: str):
    return (
        Generation.user_id == user_id,
        Generation.saved_at.is_not(None),
        Generation.expires_at.is_(None),
    )


async def save(session: AsyncSession, now: datetime, user: User, generation_id: str) -> Generation:
    ensure_not_restricted(user)
    if not await consents.has(session, user.id, "gallery"):
        raise errors.PermissionDenied(
            "Saving to the gallery needs your consent: POST /v1/me/consents/gallery first.",
            code="consent_required",
        )
    gen = (
        await session.execute(
            select(Generation).where(
                Generation.id == generation_id, Generation.user_id == user.id, live(now)
            )
        )
    ).scalar_one_or_none()
    if gen is None:
        raise errors.NotFound(NOT_FOUND, param="generation_id")
    if gen.saved_at is None:
        gen.saved_at = now
    gen.expires_at = None
    await session.flush()
    return gen


async def saved_ids(session: AsyncSession, user_id: str) -> list[str]:
    return list((await session.execute(select(Generation.id).where(*_saved(user_id)))).scalars())


async def listing(
    session: AsyncSession, user_id: str
) -> tuple[list[Generation], dict[str, list[str]]]:
    query = select(Generation).where(*_saved(user_id)).order_by(Generation.saved_at.desc())
    gens = list((await session.execute(query)).scalars())
    return gens, await image_ids(session, [g.id for g in gens])


async def count_saved(session: AsyncSession, user_id: str) -> int:
    query = select(func.count()).where(*_saved(user_id))
    return (await session.execute(query)).scalar_one()


async def delete_items(
    session: AsyncSession, blobs: BlobStore, now: datetime, user_id: str, ids: list[str]
) -> int:
    """Delete the user's generations ``ids`` (rows and blobs). Returns how many."""
    if not ids:
        return 0
    owned = list(
        (
            await session.execute(
                select(Generation.id).where(Generation.id.in_(ids), Generation.user_id == user_id)
            )
        ).scalars()
    )
    if owned and await holds.is_held(session, user_id):
        await session.execute(
            update(Generation).where(Generation.id.in_(owned)).values(expires_at=now, saved_at=None)
        )
        return len(owned)
    await purge(session, blobs, "generations", owned)
    uow.scrub_after_commit(session)  # deleted on request: gone from the WAL, not at the next sweep
    return len(owned)
