"""``/v1/images/generations`` and ``GET /v1/images/{id}`` (edits: ``api/edits.py``).

This layer only translates wire shapes; the work is in ``generation/service.py``.
"""

from __future__ import annotations

import asyncio
import base64

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.schemas import (
    IGNORED_OPENAI_PARAMS,
    GenerationBody,
    ImageDatum,
    ImagesResponse,
    image_path,
)
from imagedesigner.generation import history, service
from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.providers.base import ParamWarning

router = APIRouter(prefix="/v1/images", tags=["images"])
PROVIDER_HEADER = "X-ImageDesigner-Provider"


def ignored_warnings(values: dict) -> list[ParamWarning]:
    return [
        ParamWarning(name, "ignored", f"'{name}' is an OpenAI parameter that no model here uses.")
        for name in IGNORED_OPENAI_PARAMS
        if values.get(name) is not None
    ]


def _image_url(request: Request, c, image_id: str) -> str:
    base = c.settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}{image_path(image_id)}"


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
    cancelled and nothing of the request is kept). A departed client raises
    ``ClientDisconnect``, which is recorded as such, not as a failure."""
    task = asyncio.ensure_future(coro)
    gone = False

    async def watch() -> None:
        nonlocal gone
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                gone = True
                task.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        return await task
    except asyncio.CancelledError:
        if gone:
            raise ClientDisconnect() from None
        raise
    finally:
        watcher.cancel()


async def run(
    request: Request,
    c,
    session: AsyncSession,
    user,
    model_id,
    inp: GenerationInput,
    response_format,
    extra,
    *,
    kind: str = "generation",
    stream: bool = False,
    partial_images: int = 0,
):
    """Every generation and edit is a job (``api/jobs.py``): sync, async or streamed."""
    from imagedesigner.api import jobs as job_api

    return await job_api.submit(
        request,
        c,
        session,
        user,
        model_id,
        inp,
        response_format,
        extra,
        kind=kind,
        stream=stream,
        partial_images=partial_images,
    )


@router.post("/generations")
async def create_generation(
    body: GenerationBody, request: Request, c: ContainerDep, session: SessionDep, user: CurrentUser
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
    extra = ignored_warnings(body.model_dump())
    fmt = body.response_format or "b64_json"
    return await run(request, c, session, user, body.model, inp, fmt, extra)


@router.get("/{image_id}")
async def get_image(
    image_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> Response:
    data, media_type = await history.get_image(session, c.blobs, c.clock.now(), user.id, image_id)
    return Response(
        data,
        media_type=media_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )
