"""``/v1/images/generations``, ``GET /v1/images/{id}`` and ``/v1/images/variations`` (edits:
``api/edits.py``).

This layer only translates wire shapes; the work is in ``generation/service.py``, and what
generations and edits share is in ``api/generate.py``.

``GET /v1/images/{id}`` serves the owner (API key or session), or anyone holding a signed link
(``?expires=&signature=``, ``generation/links.py``) while the link and the image both live.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from imagedesigner import errors
from imagedesigner.api import generate
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep, current_user
from imagedesigner.api.jobs import job_responses
from imagedesigner.api.openapi import PROVIDER_ERRORS
from imagedesigner.api.openapi import errors as error_responses
from imagedesigner.api.schemas import ErrorResponse, ImageParams, ImagesResponse
from imagedesigner.api.websession import SESSION_COOKIE
from imagedesigner.generation import history, links

router = APIRouter(prefix="/v1/images", tags=["images"])
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
IMAGE_HEADERS = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# models that can make variations of an image (OpenAI's only one, dall-e-2, is retired)
VARIATION_MODELS: tuple[str, ...] = ()


def _has_credentials(request: Request) -> bool:
    return bool(request.headers.get("authorization")) or SESSION_COOKIE in request.cookies


@router.post(
    "/generations",
    response_model=ImagesResponse,
    response_model_exclude_none=True,
    responses={**PROVIDER_ERRORS, **job_responses("image_generation")},
)
async def create_generation(
    body: ImageParams, request: Request, c: ContainerDep, user: CurrentUser
):
    # no session asked for here: a plain sync request writes nothing in this request's own
    # unit of work, and a job opens it when it needs it (api/jobs.py)
    return await generate.run(request, c, None, user, body, body.to_input())


@router.post(
    "/variations",
    status_code=400,
    response_model=ErrorResponse,
    responses={
        400: {"description": "Always: no model here makes variations (the error names them)."},
        **error_responses(401, 403, 429),
    },
)
async def create_variation(user: CurrentUser) -> Response:
    """Not offered: always a 400 in OpenAI's error shape that names the models that can make
    variations (none here today). An edit with a prompt is the way to rework an image."""
    names = ", ".join(VARIATION_MODELS) or "none"
    raise errors.InvalidRequest(
        "Image variations are not supported: no model on this server makes them (models that "
        f"can: {names}; OpenAI's dall-e-2, the only one, is retired). Use POST "
        "/v1/images/edits with the image and a prompt instead.",
        param="model",
        code="variations_not_supported",
    )


@router.get(
    "/{image_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The image's bytes.",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES},
        },
        **error_responses(401, 403, 429),
    },
    # the owner's key or session, or none at all with a signed link
    openapi_extra={"security": [{"apiKey": []}, {"session": []}, {}]},
)
async def get_image(
    image_id: str,
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    expires: int | None = Query(None, description="Signed link: its expiry (Unix seconds)."),
    signature: str | None = Query(None, max_length=128, description="Signed link: its HMAC."),
    download: bool = Query(False, description="Answer as a file to save (Content-Disposition)."),
) -> Response:
    now = c.clock.now()
    if signature is not None or expires is not None:
        if signature is None or expires is None:
            raise errors.InvalidRequest(
                "A signed image link needs both 'expires' and 'signature'.",
                param="signature" if signature is None else "expires",
            )
        try:
            links.verify(c.settings.resolved_secret(), image_id, expires, signature, now)
            owner = None
        except errors.PermissionDenied:
            if not _has_credentials(request):
                raise
            # a stale link with the owner's own key or session still works for the owner
            owner = (await current_user(request)).id
    else:
        owner = (await current_user(request)).id
    data, media_type = await history.get_image(session, c.blobs, now, owner, image_id)
    headers = dict(IMAGE_HEADERS)
    if download:
        name = await history.download_name(session, now, owner, image_id)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(data, media_type=media_type, headers=headers)
