"""``POST /v1/images/edits``: OpenAI-compatible multipart (``image`` or repeated ``image[]``,
optional ``mask``). The text fields are validated by the same :class:`ImageParams` as the JSON
body of generations. Every upload is sniffed, decode-checked and stripped of metadata before it
goes anywhere; uploads are never written to disk."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from imagedesigner import errors
from imagedesigner.api import generate
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.jobs import job_responses
from imagedesigner.api.openapi import PROVIDER_ERRORS, edit_form_body
from imagedesigner.api.schemas import ImageParams, ImagesResponse
from imagedesigner.generation import service
from imagedesigner.imaging.hygiene import clean_upload

FILE_FIELDS = ("image", "image[]", "mask")
router = APIRouter(prefix="/v1/images", tags=["images"])


async def _read(upload, max_bytes: int, param: str) -> bytes:
    if not isinstance(upload, UploadFile):
        raise errors.InvalidRequest(f"'{param}' must be a file upload.", param=param)
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise errors.PayloadTooLarge(
            f"'{param}' is larger than the {max_bytes // (1024 * 1024)} MB upload limit.",
            param=param,
        )
    return data


def _params(form) -> ImageParams:
    fields = {k: form.get(k) for k in form.keys() if k not in FILE_FIELDS}
    try:
        return ImageParams.from_form(fields)
    except ValidationError as exc:
        # the same 400s as a JSON body's (api/errors.py words them)
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None


@router.post(
    "/edits",
    response_model=ImagesResponse,
    response_model_exclude_none=True,
    responses={**PROVIDER_ERRORS, **job_responses("image_edit")},
    openapi_extra={"requestBody": edit_form_body(ImageParams)},
)
async def create_edit(request: Request, c: ContainerDep, session: SessionDep, user: CurrentUser):
    s = c.settings
    service.ensure_not_restricted(user)  # before any upload is even decoded
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise errors.InvalidRequest(
            "Send the edit as multipart/form-data with an 'image' file and a 'prompt'."
        )
    async with request.form(
        max_files=s.max_input_images + 1, max_fields=64, max_part_size=s.max_upload_bytes + 1
    ) as form:
        params = _params(form)  # text fields first: cheap, and nothing is decoded yet
        uploads = form.getlist("image") + form.getlist("image[]")
        if not uploads:
            raise errors.InvalidRequest("Missing required parameter: 'image'.", param="image")
        if len(uploads) > s.max_input_images:
            raise errors.InvalidRequest(
                f"At most {s.max_input_images} input images are accepted.", param="image"
            )
        raw_images = [await _read(u, s.max_upload_bytes, "image") for u in uploads]
        mask_upload = form.get("mask")
        raw_mask = await _read(mask_upload, s.max_upload_bytes, "mask") if mask_upload else None
    images = await asyncio.to_thread(
        lambda: tuple(
            clean_upload(d, max_bytes=s.max_upload_bytes, max_pixels=s.max_image_pixels)
            for d in raw_images
        )
    )
    mask = None
    if raw_mask is not None:
        mask = await asyncio.to_thread(
            clean_upload,
            raw_mask,
            max_bytes=s.max_upload_bytes,
            max_pixels=s.max_image_pixels,
            param="mask",
        )
    inp = params.to_input(images, mask)
    return await generate.run(request, c, session, user, params, inp, kind="edit")
