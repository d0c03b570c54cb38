"""A user's own generations while they exist: recent ones until their TTL, saved ones until
deleted. Read-only; deletion goes through ``generation/gallery.delete_items`` (rows and blobs)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.db.models import Generation, StoredImage
from imagedesigner.storage.base import BlobStore

NOT_FOUND = "No generation with this id exists, or it has expired."
IMAGE_NOT_FOUND = "No image with this id exists, or it has expired."
MAX_LIMIT = 100


def live(now):
    """Content that has not expired: saved (no expiry) or before its expires_at."""
    return or_(Generation.expires_at.is_(None), Generation.expires_at > now)


async def image_ids(session: AsyncSession, generation_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {g: [] for g in generation_ids}
    if generation_ids:
        rows = await session.execute(
            select(StoredImage.generation_id, StoredImage.id)
            .where(StoredImage.generation_id.in_(generation_ids))
            .order_by(StoredImage.created_at, StoredImage.id)
        )
        for gen_id, image_id in rows:
            out[gen_id].append(image_id)
    return out


async def list_generations(
    session: AsyncSession,
    now: datetime,
    user_id: str,
    *,
    saved_only: bool = False,
    limit: int = 50,
    before: str | None = None,
) -> tuple[list[Generation], dict[str, list[str]], bool]:
    """Newest first. ``before``: the id of the last item of the previous page.
    Returns (generations, image ids per generation, whether more follow)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}.", param="limit")
    query = select(Generation).where(Generation.user_id == user_id, live(now))
    if saved_only:
        query = query.where(Generation.saved_at.is_not(None), Generation.expires_at.is_(None))
    if before is not None:
        anchor = await session.get(Generation, before)
        if anchor is None or anchor.user_id != user_id:
            raise errors.InvalidRequest("Unknown 'before' cursor.", param="before")
        query = query.where(
            or_(
                Generation.created_at < anchor.created_at,
                (Generation.created_at == anchor.created_at) & (Generation.id < anchor.id),
            )
        )
    query = query.order_by(Generation.created_at.desc(), Generation.id.desc())
    gens = list((await session.execute(query.limit(limit + 1))).scalars())
    more = len(gens) > limit
    gens = gens[:limit]
    images = await image_ids(session, [g.id for g in gens])
    return gens, images, more


async def get_generation(
    session: AsyncSession, now: datetime, user_id: str, generation_id: str
) -> tuple[Generation, list[str]]:
    gen = (
        await session.execute(
            select(Generation).where(
                Generation.id == generation_id, Generation.user_id == user_id, live(now)
            )
        )
    ).scalar_one_or_none()
    if gen is None:
        raise errors.NotFound(NOT_FOUND, param="generation_id")
    images = await image_ids(session, [gen.id])
    return gen, images[gen.id]


async def get_image(
    session: AsyncSession, blobs: BlobStore, now: datetime, user_id: str | None, image_id: str
) -> tuple[bytes, str]:
    """The bytes and media type of one of the user's live images (``user_id`` None: anyone's,
    for a signed link, whose signature already names the image)."""
    query = (
        select(StoredImage)
        .join(Generation, Generation.id == StoredImage.generation_id)
        .where(StoredImage.id == image_id, live(now))
    )
    if user_id is not None:
        query = query.where(StoredImage.user_id == user_id)
    row = (await session.execute(query)).scalar_one_or_none()
    data = await blobs.get(row.blob_key) if row is not None else None
    if row is None or data is None:
        raise errors.NotFound(IMAGE_NOT_FOUND, param="id")
    return data, row.media_type


EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def file_name(prompt: str, image_id: str, media_type: str, words: int = 6) -> str:
    """A download's name: the prompt's first words (ASCII letters and digits) and the id,
    e.g. ``a-red-house-at-night-img_123.png``."""
    parts = re.findall(r"[a-z0-9]+", prompt.lower())[:words]
    stem = "-".join(parts)[:60].strip("-")
    return f"{stem + '-' if stem else ''}{image_id}.{EXTENSIONS.get(media_type, 'bin')}"


async def download_name(
    session: AsyncSession, now: datetime, user_id: str | None, image_id: str
) -> str:
    """The file name of one of the user's live images (``user_id`` None: a signed link's)."""
    query = (
        select(Generation.prompt, StoredImage.media_type)
        .join(Generation, Generation.id == StoredImage.generation_id)
        .where(StoredImage.id == image_id, live(now))
    )
    if user_id is not None:
        query = query.where(StoredImage.user_id == user_id)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise errors.NotFound(IMAGE_NOT_FOUND, param="id")
    return file_name(row[0] or "", image_id, row[1])
