"""The opt-in gallery. Saving a generation (its prompt, parameters and every output image)
needs ``gallery`` consent and takes it off the content TTL until deleted. Deleting removes
rows and blobs at once; for a user under a legal hold it only ends the item's visibility
(it expires now) and the sweep deletes it after the hold is released."""

from __future__ import annotations

from sqlalchemy import func, select, update

from imagedesigner import errors
from imagedesigner.container import Container
from imagedesigner.db.engine import scrub_sqlite
from imagedesigner.db.models import Generation, User
from imagedesigner.generation.history import image_ids, live
from imagedesigner.generation.service import ensure_not_restricted
from imagedesigner.kit.clock import as_utc
from imagedesigner.privacy import consents, holds
from imagedesigner.privacy.purge import purge

NOT_FOUND = "No generation with this id exists, or it has expired."


async def save(c: Container, user: User, generation_id: str) -> Generation:
    ensure_not_restricted(user)
    now = c.clock.now()
    async with c.sessions() as session, session.begin():
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
    return gen


async def saved_ids(c: Container, user_id: str) -> list[str]:
    async with c.sessions() as session:
        query = select(Generation.id).where(
            Generation.user_id == user_id,
            Generation.saved_at.is_not(None),
            Generation.expires_at.is_(None),
        )
        return list((await session.execute(query)).scalars())


async def listing(c: Container, user_id: str) -> list[dict]:
    async with c.sessions() as session:
        gens = (
            (
                await session.execute(
                    select(Generation)
                    .where(
                        Generation.user_id == user_id,
                        Generation.saved_at.is_not(None),
                        Generation.expires_at.is_(None),
                    )
                    .order_by(Generation.saved_at.desc())
                )
            )
            .scalars()
            .all()
        )
        images = await image_ids(session, [g.id for g in gens])
        out = []
        for g in gens:
            out.append(
                {
                    "id": g.id,
                    "object": "gallery.item",
                    "prompt": g.prompt,
                    "model": g.model,
                    "created_at": int(as_utc(g.created_at).timestamp()),
                    "saved_at": int(as_utc(g.saved_at).timestamp()),
                    "images": [f"/v1/images/{i}" for i in images[g.id]],
                }
            )
    return out


async def count_saved(c: Container, user_id: str) -> int:
    async with c.sessions() as session:
        query = select(func.count()).where(
            Generation.user_id == user_id,
            Generation.saved_at.is_not(None),
            Generation.expires_at.is_(None),
        )
        return (await session.execute(query)).scalar_one()


async def delete_items(c: Container, user_id: str, ids: list[str]) -> int:
    """Delete the user's generations ``ids`` (rows and blobs). Returns how many."""
    if not ids:
        return 0
    async with c.sessions() as session, session.begin():
        owned = list(
            (
                await session.execute(
                    select(Generation.id).where(
                        Generation.id.in_(ids), Generation.user_id == user_id
                    )
                )
            ).scalars()
        )
        if owned and await holds.is_held(session, user_id):
            await session.execute(
                update(Generation)
                .where(Generation.id.in_(owned))
                .values(expires_at=c.clock.now(), saved_at=None)
            )
            return len(owned)
    await purge(c, "generations", owned)
    await scrub_sqlite(c.engine)  # deleted on request: gone from the WAL too, not at the next sweep
    return len(owned)
