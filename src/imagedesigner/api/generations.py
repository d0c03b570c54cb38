"""``/v1/generations``: your history while it exists (recent until the TTL, saved until
deleted), one generation, and deleting one now ("You can request deletion at any time")."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep, CurrentUser
from imagedesigner.generation import history
from imagedesigner.privacy import gallery

router = APIRouter(prefix="/v1/generations", tags=["generations"])
NO_STORE = {"Cache-Control": "no-store"}


@router.get("")
async def list_generations(
    c: ContainerDep,
    user: CurrentUser,
    limit: int = Query(50),
    before: str | None = Query(None),
    saved: bool = Query(False),
):
    gens, images, more = await history.list_generations(
        c, user.id, saved_only=saved, limit=limit, before=before
    )
    data = [history.describe(g, images[g.id]) for g in gens]
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
async def get_generation(generation_id: str, c: ContainerDep, user: CurrentUser):
    return JSONResponse(await history.get_generation(c, user.id, generation_id), headers=NO_STORE)


@router.delete("/{generation_id}")
async def delete_generation(generation_id: str, c: ContainerDep, user: CurrentUser):
    """Prompt, parameters and every output image, now (rows, blobs, SQLite's WAL)."""
    await history.get_generation(c, user.id, generation_id)  # 404 unless yours and live
    deleted = await gallery.delete_items(c, user.id, [generation_id])
    if not deleted:
        raise errors.NotFound(history.NOT_FOUND, param="generation_id")
    return {"id": generation_id, "object": "generation", "deleted": True}
