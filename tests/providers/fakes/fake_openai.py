"""A fake of the OpenAI Images API (``/v1/images/generations``, ``/v1/images/edits``).

Written from research/providers.md §1 and checked against ``ImagesResponse`` / ``Image`` /
``ImageGenUsage`` / ``ErrorResponse`` of the OpenAI OpenAPI description. Error modes are set through
``state.mode``; several error bodies echo the key so tests can prove it never leaks.

``stream: true`` (JSON ``true`` or the form value ``"true"``) answers ``text/event-stream`` as
research/providers.md §1.6 describes and ``ImageGenStreamEvent`` / ``ImageEditStreamEvent`` /
``ErrorEvent`` specify: per image, ``partial_images`` partial events (small PNGs, index 0..k-1),
then one ``….completed`` event with the final image and ``usage``. Stream modes:
``stream_error`` (an ``error`` event after the first partial; its body is
``state.extra["stream_error"]`` or a server error), ``stream_hang`` (hangs after the first
partial until released), ``stream_huge`` (one endless line), ``stream_flood`` (endless valid
partial events), ``stream_bad_partial`` (the first partial is not an image),
``stream_truncated`` (partials, then the stream ends without a completed event) and
``stream_json`` (ignores ``stream`` and answers JSON).
"""

from __future__ import annotations

import base64
import functools
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ._common import FakeState, endless, hang, image_bytes, record

CREATED = 1_767_268_800
RETRY_AFTER = "7"  # seconds, sent with every 429 (mode "429"); recorded in state.extra too
USAGE = {
    "input_tokens": 12,
    "output_tokens": 4160,
    "total_tokens": 4172,
    "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
}
SPEC_SIZES = ("1024x1024", "1024x1536", "1536x1024")
PARTIAL_COLORS = ((40, 40, 40), (90, 90, 90), (150, 150, 150))


def _error(status: int, message: str, type_: str, code: str | None, headers=None) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _size(value: str | None) -> tuple[int, int]:
    if not value or value == "auto":
        return 1024, 1024
    w, _, h = value.partition("x")
    return int(w), int(h)


def error_mode(state: FakeState, key: str, request: Request) -> Response | None:
    mode = state.mode
    if mode == "401":
        return _error(
            401,
            f"Incorrect API key provided: {key}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        )
    if mode == "403":
        return _error(
            403,
            "Country, region, or territory not supported",
            "request_forbidden",
            "unsupported_country_region_territory",
        )
    if mode == "402":
        return _error(402, "Payment required", "billing_error", "payment_required")
    if mode == "quota":
        return _error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        )
    if mode == "429":
        state.extra["retry_after"] = int(RETRY_AFTER)
        return _error(
            429,
            "Rate limit reached for images per minute.",
            "requests",
            "rate_limit_exceeded",
            headers={"Retry-After": RETRY_AFTER},
        )
    if mode == "503":
        return _error(
            503,
            "The engine is currently overloaded, please try again later",
            "server_error",
            None,
            headers={"Retry-After": "2"},
        )
    if mode == "500":
        return _error(
            500, "The server had an error while processing your request.", "server_error", None
        )
    if mode == "refuse":
        return _error(
            400,
            "Your request was rejected as a result of our safety system.",
            "image_generation_user_error",
            "moderation_blocked",
        )
    if mode == "invalid":
        return _error(
            400,
            f"Invalid value for 'size' (request made with key {key}).",
            "invalid_request_error",
            "invalid_value",
        )
    if mode == "malformed":
        return Response(b'{"created": 1, "data": [', media_type="application/json")
    if mode == "huge":
        return endless(state, request)
    return None


def images_response(state: FakeState, fields: dict) -> JSONResponse:
    n = int(fields.get("n") or 1)
    fmt = fields.get("output_format") or "png"
    w, h = _size(fields.get("size"))
    if state.mode == "not_image":
        payload = base64.b64encode(b"this is not an image at all").decode()
    else:
        payload = base64.b64encode(image_bytes(w, h, fmt)).decode()
    data = [{"b64_json": payload} for _ in range(n)]
    if fields.get("model", "").startswith("dall-e-3"):
        data = [{"b64_json": payload, "revised_prompt": "A revised: " + fields["prompt"]}]
    body = {"created": CREATED, "data": data}
    if not str(fields.get("model", "")).startswith("dall-e"):
        body.update(
            background="opaque" if fields.get("background") != "transparent" else "transparent",
            output_format=fmt,
            quality=fields.get("quality")
            if fields.get("quality") in ("low", "medium", "high")
            else "medium",
            usage=dict(USAGE),
        )
        size = f"{w}x{h}"
        if size in SPEC_SIZES:
            body["size"] = size
    return JSONResponse(body)


def wants_stream(fields: dict) -> bool:
    return fields.get("stream") in (True, "true")


@functools.cache
def partial_png(index: int) -> bytes:
    return image_bytes(16, 16, "png", PARTIAL_COLORS[index % len(PARTIAL_COLORS)])


def sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def stream_response(state: FakeState, fields: dict, prefix: str, request: Request) -> Response:
    """The ``text/event-stream`` answer to ``stream: true`` (see the module docstring)."""
    if state.mode == "stream_huge":
        return endless(state, request, media_type="text/event-stream")
    n = int(fields.get("n") or 1)
    partials = int(fields.get("partial_images") or 0)
    fmt = fields.get("output_format") or "png"
    w, h = _size(fields.get("size"))
    size = f"{w}x{h}" if f"{w}x{h}" in SPEC_SIZES else "auto"
    quality = (
        fields.get("quality") if fields.get("quality") in ("low", "medium", "high") else "auto"
    )
    background = (
        fields.get("background")
        if fields.get("background") in ("transparent", "opaque")
        else "auto"
    )
    common = {"created_at": CREATED, "size": size, "quality": quality, "background": background}

    def partial(index: int, data: bytes | None = None) -> bytes:
        return sse(
            f"{prefix}.partial_image",
            {
                "type": f"{prefix}.partial_image",
                "b64_json": base64.b64encode(data or partial_png(index)).decode(),
                **common,
                "output_format": "png",
                "partial_image_index": index,
            },
        )

    async def gen():
        mode = state.mode
        if mode == "stream_flood":
            chunk = b"".join(partial(k % 3) for k in range(30))  # indexes 0, 1, 2, 0, …
            while not state.released and state.sent_bytes < 2 * 1024**3:
                if await request.is_disconnected():
                    state.extra["client_gone"] = True
                    return
                state.sent_bytes += len(chunk)
                yield chunk
            return
        for _ in range(n):
            for index in range(partials):
                bad = mode == "stream_bad_partial" and index == 0
                yield partial(index, b"not an image, just text" if bad else None)
                if index == 0 and mode == "stream_error":
                    error = state.extra.get("stream_error") or {
                        "type": "server_error",
                        "message": "The server had an error while processing your request.",
                        "param": None,
                        "code": None,
                    }
                    yield sse("error", error)
                    return
                if index == 0 and mode == "stream_hang":
                    state.extra["hung"] = True
                    await hang(state)
                    return
            if mode == "stream_truncated":
                return
            yield sse(
                f"{prefix}.completed",
                {
                    "type": f"{prefix}.completed",
                    "b64_json": base64.b64encode(image_bytes(w, h, fmt)).decode(),
                    **common,
                    "output_format": fmt,
                    "usage": dict(USAGE),
                },
            )

    return StreamingResponse(
        gen(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


def make_app(state: FakeState, key: str) -> Starlette:
    def auth_ok(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {key}"

    async def generations(request: Request) -> Response:
        rec = await record(state, request)
        if state.mode == "hang":
            await hang(state)
        if (err := error_mode(state, key, request)) is not None:
            return err
        if not auth_ok(request):
            return _error(
                401, "Missing bearer authentication.", "invalid_request_error", "invalid_api_key"
            )
        fields = rec.json or {}
        if wants_stream(fields) and state.mode != "stream_json":
            return stream_response(state, fields, "image_generation", request)
        return images_response(state, fields)

    async def edits(request: Request) -> Response:
        rec = await record(state, request)
        if state.mode == "hang":
            await hang(state)
        if (err := error_mode(state, key, request)) is not None:
            return err
        if not auth_ok(request):
            return _error(
                401, "Missing bearer authentication.", "invalid_request_error", "invalid_api_key"
            )
        if not rec.files.get("image[]") and not rec.files.get("image"):
            return _error(
                400,
                "Missing required parameter: 'image'.",
                "invalid_request_error",
                "missing_required_parameter",
            )
        fields = {k: v[0] for k, v in rec.form.items()}
        if wants_stream(fields) and state.mode != "stream_json":
            return stream_response(state, fields, "image_edit", request)
        return images_response(state, fields)

    return Starlette(
        routes=[
            Route("/v1/images/generations", generations, methods=["POST"]),
            Route("/v1/images/edits", edits, methods=["POST"]),
        ]
    )
