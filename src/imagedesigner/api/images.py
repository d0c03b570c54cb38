"""``/v1/images/generations``, ``/v1/images/edits`` and ``GET /v1/images/{id}``.

This layer only translates wire shapes; the work is in ``generation/service.py``.
"""

from __future__ import annotations

import asyncio
import base64

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep, CurrentUser
from imagedesigner.api.schemas import (
    IGNORED_OPENAI_PARAMS,
    GenerationBody,
    ImageDatum,
    ImagesResponse,
)
from imagedesigner.db.models import Generation, StoredImage
from imagedesigner.generation import service
from imagedesigner.generation.history import live
from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.providers.base import ParamWarning

router = APIRouter(prefix="/v1/images", tags=["images"])
PROVIDER_HEADER = "X-ImageDesigner-Provider"
NOT_FOUND = "No image with this id exists, or it has expired."


def _ignored(values: dict) -> list[ParamWarning]:
    return [
        ParamWarning(name, "ignored", f"'{name}' is an OpenAI parameter that no model here uses.")
        for name in IGNORED_OPENAI_PARAMS
        if values.get(name) is not None
    ]


def _image_url(request: Request, c, image_id: str) -> str:
    base = c.settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/v1/images/{image_id}"


def render(request: Request, c, outcome: service.Outcome, response_format: str, extra_warnings):
    warnings = [w.as_dict() for w in [*extra_warnings, *outcome.warnings]]
    data = []
    for out in outcome.outputs:
        datum = ImageDatum(revised_prompt=out.image.revised_prompt)
        if response_format == "url":
            datum.url = _image_url(request, c, out.image_id)
        else:
            datum.b64_json = base64.b64encode(out.image.data).decode()
        data.append(datum)
    first = outcome.outputs[0].image
    body = ImagesResponse(
        created=int(outcome.created.timestamp()),
        data=data,
        usage=outcome.usage,
        output_format=first.media_type.split("/")[-1],
        size=f"{first.width}x{first.height}",
        id=outcome.generation_id,
        model=outcome.model.id,
        provider=outcome.model.provider,
        warnings=warnings,
        expires_at=int(outcome.expires_at.timestamp()) if outcome.expires_at else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        headers={PROVIDER_HEADER: outcome.model.provider, "Cache-Control": "no-store"},
    )


async def cancel_on_disconnect(request: Request, coro):
    """Run ``coro``, cancelling it if the client goes away (so a queued provider job is
    cancelled and nothing of the request is kept)."""
    task = asyncio.ensure_future(coro)

    async def watch() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                task.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        return await task
    finally:
        watcher.cancel()


async def run(request: Request, c, user, model_id, inp: GenerationInput, response_format, extra):
    resolved = c.registry.resolve(model_id)
    request.state.model = resolved.model.id
    store = response_format == "url" or c.settings.store_b64_outputs
    outcome = await cancel_on_disconnect(
        request, service.generate(c, user, resolved, inp, store_outputs=store)
    )
    return render(request, c, outcome, response_format, extra)


@router.post("/generations")
async def create_generation(
    body: GenerationBody, request: Request, c: ContainerDep, user: CurrentUser
):
    if body.stream:
        raise errors.InvalidRequest(
            "Streaming is not supported; leave 'stream' out.", param="stream"
        )
    if body.n is None:
        body.n = 1
    inp = GenerationInput(
        prompt=body.prompt,
        n=body.n,
        size=body.size,
        aspect_ratio=body.aspect_ratio,
        seed=body.seed,
        output_format=body.output_format or "png",
        quality=body.quality,
        background=body.background,
    )
    extra = _ignored(body.model_dump())
    return await run(request, c, user, body.model, inp, body.response_format or "b64_json", extra)


@router.get("/{image_id}")
async def get_image(image_id: str, c: ContainerDep, user: CurrentUser) -> Response:
    now = c.clock.now()
    async with c.sessions() as session:
        row = (
            await session.execute(
                select(StoredImage)
                .join(Generation, Generation.id == StoredImage.generation_id)
                .where(
                    StoredImage.id == image_id,
                    StoredImage.user_id == user.id,
                    live(now),
                )
            )
        ).scalar_one_or_none()
    data = await c.blobs.get(row.blob_key) if row is not None else None
    if row is None or data is None:
        raise errors.NotFound(NOT_FOUND, param="id")
    return Response(
        data,
        media_type=row.media_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )
