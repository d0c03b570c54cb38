"""``POST /v1/images/edits``: OpenAI-compatible multipart (``image`` or repeated ``image[]``,
optional ``mask``). Every upload is sniffed, decode-checked and stripped of metadata before it
goes anywhere; uploads are never written to disk."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.datastructures import FormData, UploadFile

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.images import ignored_warnings, run
from imagedesigner.generation import service
from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.imaging.hygiene import clean_upload

TEXT_FIELDS = {
    "prompt", "model", "n", "size", "response_format", "output_format", "quality",
    "background", "seed", "aspect_ratio", "user", "input_fidelity", "style", "moderation",
    "output_compression", "partial_images", "stream",
}  # fmt: skip
FILE_FIELDS = {"image", "image[]", "mask"}
router = APIRouter(prefix="/v1/images", tags=["images"])


def _int(form: FormData, name: str, default: int | None) -> int | None:
    raw = form.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(str(raw))
    except ValueError:
        raise errors.InvalidRequest(f"'{name}' must be an integer.", param=name) from None


def _choice(form: FormData, name: str, allowed: tuple[str, ...]) -> str | None:
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise errors.InvalidRequest(
            f"Invalid value for '{name}': use one of {', '.join(allowed)}.", param=name
        )
    return str(raw)


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


@router.post("/edits")
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
        unknown = sorted(set(form.keys()) - TEXT_FIELDS - FILE_FIELDS)
        if unknown:
            raise errors.InvalidRequest(
                f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0]
            )
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
        prompt = form.get("prompt")
        if not isinstance(prompt, str):
            raise errors.InvalidRequest("Missing required parameter: 'prompt'.", param="prompt")
        if form.get("stream") not in (None, "", "false", "False"):
            raise errors.InvalidRequest("Streaming is not supported.", param="stream")
        fields = {k: form.get(k) for k in TEXT_FIELDS}
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
    seed = _int(form, "seed", None)
    if seed is not None and not 0 <= seed < 2**32:
        raise errors.InvalidRequest("seed must be between 0 and 4294967295.", param="seed")
    inp = GenerationInput(
        prompt=prompt,
        n=_int(form, "n", 1),
        size=fields["size"] or None,
        aspect_ratio=fields["aspect_ratio"] or None,
        seed=seed,
        output_format=_choice(form, "output_format", ("png", "jpeg", "webp")) or "png",
        quality=fields["quality"] or None,
        background=fields["background"] or None,
        images=images,
        mask=mask,
    )
    response_format = _choice(form, "response_format", ("url", "b64_json")) or "b64_json"
    extra = ignored_warnings({k: (fields[k] or None) for k in fields})
    model = fields["model"] or None
    return await run(request, c, session, user, model, inp, response_format, extra)
