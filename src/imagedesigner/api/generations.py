"""``/v1/generations``: your history while it exists (recent until the TTL, saved until
deleted), one generation, and deleting one now ("You can request deletion at any time")."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.schemas import NO_STORE, image_path, ts
from imagedesigner.db import uow
from imagedesigner.db.models import Generation
from imagedesigner.generation import gallery, history

router = APIRouter(prefix="/v1/generations", tags=["generations"])


def describe(gen: Generation, image_ids: list[str]) -> dict:
    return {
        "id": gen.id,
        "object": "generation",
        "prompt": gen.prompt,
        "model": gen.model,
        "provider": gen.provider,
        "params": gen.params,
        "warnings": gen.warnings,
        "created_at": ts(gen.created_at),
        "expires_at": ts(gen.expires_at),
        "saved_at": ts(gen.saved_at),
        "images": [image_path(i) for i in image_ids],
    }


@router.get("")
async def list_generations(
    c: ContainerDep,
    session: SessionDep,
    user: CurrentUser,
    limit: int = Query(50),
    before: str | None = Query(None),
    saved: bool = Query(False),
):
    gens, images, more = await history.list_generations(
        session, c.clock.now(), user.id, saved_only=saved, limit=limit, before=before
    )
    data = [describe(g, images[g.id]) for g in gens]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "has_more": more,
            "next": data[-1]["id"] if more else None,
        },
        headers=NO_STORE,
    )


@router.get("/{generation_id}")
async def get_generation(
    generation_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
):
    gen, image_ids = await history.get_generation(session, c.clock.now(), user.id, generation_id)
    return JSONResponse(describe(gen, image_ids), headers=NO_STORE)


@router.delete("/{generation_id}")
async def delete_generation(
    generation_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
):
    """Prompt, parameters and every output image, now (rows, blobs, SQLite's WAL)."""
    now = c.clock.now()
    await history.get_generation(session, now, user.id, generation_id)  # 404 unless yours
    deleted = await gallery.delete_items(session, c.blobs, now, user.id, [generation_id])
    if not deleted:
        raise errors.NotFound(history.NOT_FOUND, param="generation_id")
    await uow.commit(session)
    return {"id": generation_id, "object": "generation", "deleted": True}
