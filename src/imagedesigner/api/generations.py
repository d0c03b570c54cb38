"""``/v1/generations``: your history while it exists (recent until the TTL, saved until
deleted), one generation, and deleting one now ("You can request deletion at any time")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.schemas import ID_MAX, NO_STORE, Deleted, WarningOut, image_path, ts
from imagedesigner.db import uow
from imagedesigner.db.models import Generation
from imagedesigner.generation import gallery, history

router = APIRouter(prefix="/v1/generations", tags=["generations"])


class GenerationOut(BaseModel):
    id: str
    object: str = "generation"
    prompt: str
    model: str
    provider: str
    params: dict[str, Any]
    warnings: list[WarningOut]
    created_at: int | None
    expires_at: int | None
    saved_at: int | None
    images: list[str]
    status: str = "succeeded"


class GenerationList(BaseModel):
    object: str = "list"
    data: list[GenerationOut]
    has_more: bool
    next: str | None


def describe(gen: Generation, image_ids: list[str]) -> GenerationOut:
    return GenerationOut(
        id=gen.id,
        prompt=gen.prompt,
        model=gen.model,
        provider=gen.provider,
        params=gen.params,
        warnings=gen.warnings,
        created_at=ts(gen.created_at),
        expires_at=ts(gen.expires_at),
        saved_at=ts(gen.saved_at),
        images=[image_path(i) for i in image_ids],
        status=gen.status,
    )


@router.get("")
async def list_generations(
    response: Response,
    c: ContainerDep,
    session: SessionDep,
    user: CurrentUser,
    limit: int = Query(50, ge=1, le=history.MAX_LIMIT),
    before: str | None = Query(None, max_length=ID_MAX, description="The last id of a page."),
    saved: bool = Query(False),
) -> GenerationList:
    gens, images, more = await history.list_generations(
        session, c.clock.now(), user.id, saved_only=saved, limit=limit, before=before
    )
    data = [describe(g, images[g.id]) for g in gens]
    response.headers.update(NO_STORE)
    return GenerationList(data=data, has_more=more, next=data[-1].id if more else None)


@router.get("/{generation_id}")
async def get_generation(
    generation_id: str, response: Response, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> GenerationOut:
    gen, image_ids = await history.get_generation(session, c.clock.now(), user.id, generation_id)
    response.headers.update(NO_STORE)
    return describe(gen, image_ids)


@router.delete("/{generation_id}")
async def delete_generation(
    generation_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Deleted:
    """Prompt, parameters and every output image, now (rows, blobs, SQLite's WAL)."""
    now = c.clock.now()
    await history.get_generation(session, now, user.id, generation_id)  # 404 unless yours
    deleted = await gallery.delete_items(session, c.blobs, now, user.id, [generation_id])
    if not deleted:
        raise errors.NotFound(history.NOT_FOUND, param="generation_id")
    await uow.commit(session)
    return Deleted(id=generation_id, object="generation", deleted=True)
