"""A fake of the OpenAI Images API (``/v1/images/generations``, ``/v1/images/edits``).

Written from research/providers.md §1 and checked against ``ImagesResponse`` / ``Image`` /
``ImageGenUsage`` / ``ErrorResponse`` of the OpenAI OpenAPI description. Error modes are set through
``state.mode``; several error bodies echo the key so tests can prove it never leaks.
"""

from __future__ import annotations

import base64

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._common import FakeState, endless, hang, image_bytes, record

CREATED = 1_767_268_800
RETRY_AFTER = "7"  # seconds, sent with every 429 (mode "429"); recorded in state.extra too


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
            usage={
                "input_tokens": 12,
                "output_tokens": 4160,
                "total_tokens": 4172,
                "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
            },
        )
        size = f"{w}x{h}"
        if size in ("1024x1024", "1024x1536", "1536x1024"):
            body["size"] = size
    return JSONResponse(body)


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
        return images_response(state, rec.json or {})

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
        return images_response(state, fields)

    return Starlette(
        routes=[
            Route("/v1/images/generations", generations, methods=["POST"]),
            Route("/v1/images/edits", edits, methods=["POST"]),
        ]
    )
