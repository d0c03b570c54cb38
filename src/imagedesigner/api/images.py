"""``/v1/images/generations`` and ``GET /v1/images/{id}`` (edits: ``api/edits.py``).

This layer only translates wire shapes; the work is in ``generation/service.py``, and what
generations and edits share is in ``api/generate.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from imagedesigner.api import generate
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.jobs import job_responses
from imagedesigner.api.openapi import PROVIDER_ERRORS
from imagedesigner.api.schemas import ImageParams, ImagesResponse
from imagedesigner.generation import history

router = APIRouter(prefix="/v1/images", tags=["images"])
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")


@router.post(
    "/generations",
    response_model=ImagesResponse,
    response_model_exclude_none=True,
    responses={**PROVIDER_ERRORS, **job_responses("image_generation")},
)
async def create_generation(
    body: ImageParams, request: Request, c: ContainerDep, session: SessionDep, user: CurrentUser
):
    return await generate.run(request, c, session, user, body, body.to_input())


@router.get(
    "/{image_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The image's bytes.",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES},
        }
    },
)
async def get_image(
    image_id: str,
    c: ContainerDep,
    session: SessionDep,
    user: CurrentUser,
    download: bool = Query(False, description="Answer as a file to save (Content-Disposition)."),
) -> Response:
    now = c.clock.now()
    data, media_type = await history.get_image(session, c.blobs, now, user.id, image_id)
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    if download:
        name = await history.download_name(session, now, user.id, image_id)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(data, media_type=media_type, headers=headers)
