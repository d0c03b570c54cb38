"""The gallery: ``POST /v1/generations/{id}/save`` (needs the ``gallery`` consent),
``GET /v1/gallery``, ``GET /v1/gallery/export`` (all of it as a ZIP) and
``DELETE /v1/gallery/{id}``."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import Response as RawResponse
from pydantic import BaseModel

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.me import record
from imagedesigner.api.schemas import NO_STORE, Deleted, image_path, ts
from imagedesigner.db import uow
from imagedesigner.generation import gallery, gallery_zip

router = APIRouter(tags=["gallery"])


class Saved(BaseModel):
    id: str
    object: str = "gallery.item"
    saved: bool
    expires_at: int | None


class GalleryItem(BaseModel):
    id: str
    object: str = "gallery.item"
    prompt: str
    model: str
    created_at: int | None
    saved_at: int | None
    images: list[str]


class GalleryList(BaseModel):
    object: str = "list"
    data: list[GalleryItem]


@router.post("/v1/generations/{generation_id}/save")
async def save(
    generation_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Saved:
    gen = await gallery.save(session, c.clock.now(), user, generation_id)
    await uow.commit(session)
    return Saved(id=gen.id, saved=True, expires_at=None)


@router.get("/v1/gallery")
async def list_gallery(response: Response, session: SessionDep, user: CurrentUser) -> GalleryList:
    gens, images = await gallery.listing(session, user.id)
    data = [
        GalleryItem(
            id=g.id,
            prompt=g.prompt,
            model=g.model,
            created_at=ts(g.created_at),
            saved_at=ts(g.saved_at),
            images=[image_path(i) for i in images[g.id]],
        )
        for g in gens
    ]
    response.headers.update(NO_STORE)
    return GalleryList(data=data)


@router.get(
    "/v1/gallery/export",
    response_class=RawResponse,
    responses={
        200: {
            "description": "Every saved image and gallery.json (prompts and settings), as a ZIP.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def export_gallery(c: ContainerDep, session: SessionDep, user: CurrentUser) -> RawResponse:
    body = await gallery_zip.archive(session, c.blobs, user.id)
    return RawResponse(
        body,
        media_type="application/zip",
        headers={
            "Content-Disposition": 'attachment; filename="imagedesigner-gallery.zip"',
            **NO_STORE,
        },
    )


@router.delete("/v1/gallery/{generation_id}")
async def delete_saved(
    generation_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Deleted:
    received = c.clock.now()
    if generation_id not in await gallery.saved_ids(session, user.id):
        raise errors.NotFound(gallery.NOT_FOUND, param="generation_id")
    await gallery.delete_items(session, c.blobs, received, user.id, [generation_id])
    await record(session, c, user, "gallery-deletion", received)
    await uow.commit(session)
    return Deleted(id=generation_id, object="gallery.item", deleted=True)
