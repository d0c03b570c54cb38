"""``POST /v1/images/edits``: OpenAI-compatible multipart (``image`` or repeated ``image[]``,
optional ``mask``), or OpenAI's JSON body (``images: [{"image_url": "data:..."}]``, optional
``mask: {"image_url": ...}``; data URLs only, remote URLs are not fetched). The parameters are
validated by the same :class:`ImageParams` as the JSON body of generations. Every image is
sniffed, decode-checked and stripped of metadata before it goes anywhere, however it came;
uploads are never written to disk."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import Field, ValidationError
from starlette.datastructures import UploadFile

from imagedesigner import errors
from imagedesigner.api import generate
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.jobs import job_responses
from imagedesigner.api.openapi import PROVIDER_ERRORS, edit_body
from imagedesigner.api.schemas import ImageParams, ImagesResponse, RequestModel
from imagedesigner.generation import service
from imagedesigner.imaging.dataurl import decode_data_url
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


class ImageRef(RequestModel):
    """One image of a JSON edit: a base64 data URL (``file_id`` is OpenAI's Files API, which
    this server does not have)."""

    image_url: str | None = Field(None, description="data:image/png;base64,... (no remote URLs)")
    file_id: str | None = Field(None, max_length=200, description="Not supported here.")


class EditJSON(ImageParams):
    """OpenAI's JSON edit body: the parameters plus the images."""

    images: list[ImageRef] = Field(min_length=1, max_length=16)
    mask: ImageRef | None = None


def _validation(exc: ValidationError) -> RequestValidationError:
    """The same 400s as a JSON body's (api/errors.py words them)."""
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])


def _params(form) -> ImageParams:
    fields = {k: form.get(k) for k in form.keys() if k not in FILE_FIELDS}
    try:
        return ImageParams.from_form(fields)
    except ValidationError as exc:
        raise _validation(exc) from None


def _data_url(ref: ImageRef, max_bytes: int, param: str) -> bytes:
    if ref.file_id is not None or ref.image_url is None:
        raise errors.InvalidRequest(
            f"'{param}' needs an image_url with a data URL: file ids are not supported here.",
            param=param,
        )
    return decode_data_url(ref.image_url, max_bytes=max_bytes, param=param)


async def _json_edit(request: Request, max_images: int, max_bytes: int):
    try:
        body = EditJSON.model_validate_json(await request.body())
    except ValidationError as exc:
        raise _validation(exc) from None
    if len(body.images) > max_images:
        raise errors.InvalidRequest(
            f"At most {max_images} input images are accepted.", param="images"
        )
    raw = [_data_url(ref, max_bytes, "images") for ref in body.images]
    raw_mask = _data_url(body.mask, max_bytes, "mask") if body.mask is not None else None
    return body, raw, raw_mask


@router.post(
    "/edits",
    response_model=ImagesResponse,
    response_model_exclude_none=True,
    responses={**PROVIDER_ERRORS, **job_responses("image_edit")},
    openapi_extra={"requestBody": edit_body(ImageParams, EditJSON)},
)
async def create_edit(request: Request, c: ContainerDep, session: SessionDep, user: CurrentUser):
    s = c.settings
    service.ensure_not_restricted(user)  # before any upload is even decoded
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        params, raw_images, raw_mask = await _json_edit(
            request, s.max_input_images, s.max_upload_bytes
        )
    elif content_type == "multipart/form-data":
        params, raw_images, raw_mask = await _form_edit(request, s)
    else:
        raise errors.InvalidRequest(
            "Send the edit as multipart/form-data with an 'image' file and a 'prompt', or as "
            'JSON with "images": [{"image_url": "data:..."}] and a "prompt".'
        )
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


async def _form_edit(request: Request, s):
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
    return params, raw_images, raw_mask
