"""A fake of OpenRouter's chat-completions route as used for Gemini image generation.

Written from research/providers.md §2.2/§2.6 and checked against ``ChatResult``, ``ChatChoice``,
``ChatAssistantMessage``, ``ChatAssistantImages`` and the error responses of the OpenRouter OpenAPI
description. Switch error modes with ``state.mode``.
"""

from __future__ import annotations

import base64

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._common import FakeState, endless, hang, image_bytes, record

RATIO_1K = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "4:5": (896, 1152),
    "5:4": (1152, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
}


def _error(status: int, message: str, metadata=None, headers=None) -> JSONResponse:
    err = {"code": status, "message": message}
    if metadata is not None:
        err["metadata"] = metadata
    return JSONResponse({"error": err}, status_code=status, headers=headers)


def error_mode(state: FakeState, key: str, request: Request) -> Response | None:
    mode = state.mode
    if mode == "401":
        return _error(401, f"Invalid API key: {key}")
    if mode == "402":
        return _error(402, "Insufficient credits. Add more using https://openrouter.ai/credits")
    if mode == "403":
        return _error(403, "Key is disabled or lacks permission")
    if mode == "refuse":
        return _error(
            403,
            "Input was flagged by moderation",
            metadata={
                "reasons": ["sexual/minors", "violence"],
                "flagged_input": "a forbidden prompt...",
                "provider_name": "Google",
                "model_slug": "google/gemini-2.5-flash-image",
            },
        )
    if mode == "429":
        return _error(429, "Rate limit exceeded", headers={"Retry-After": "7"})
    if mode == "503":
        return _error(
            503,
            "No provider available that meets your routing requirements",
            headers={"Retry-After": "2"},
        )
    if mode == "500":
        return _error(500, "Internal Server Error")
    if mode == "invalid":
        return _error(400, f"image_config.aspect_ratio is invalid (key {key})")
    if mode == "no_endpoint":
        return _error(404, "No endpoints found matching your data policy (Zero data retention).")
    if mode == "malformed":
        return Response(b'{"id": "gen-1", "choices": [', media_type="application/json")
    if mode == "huge":
        return endless(state, request)
    return None


def chat_result(state: FakeState, body: dict) -> JSONResponse:
    ratio = (body.get("image_config") or {}).get("aspect_ratio", "1:1")
    w, h = RATIO_1K.get(ratio, (1024, 1024))
    scale = {"0.5K": 0.5, "1K": 1, "2K": 2, "4K": 4}[
        (body.get("image_config") or {}).get("image_size", "1K")
    ]
    w, h = int(w * scale), int(h * scale)
    if state.mode == "not_image":
        url = "data:image/png;base64," + base64.b64encode(b"<svg>not an image</svg>").decode()
    else:
        url = "data:image/png;base64," + base64.b64encode(image_bytes(w, h, "png")).decode()
    message: dict = {"role": "assistant", "content": "Here is your image."}
    finish = "stop"
    if state.mode == "text_refusal":
        message["content"] = "I can't create that image."
        finish = "content_filter"
    elif state.mode == "no_image":
        message["content"] = "Sure! Imagine a lighthouse."
    else:
        message["images"] = [{"type": "image_url", "image_url": {"url": url}}]
    return JSONResponse(
        {
            "id": "gen-1767268800-abc",
            "object": "chat.completion",
            "created": 1_767_268_800,
            "model": body.get("model"),
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "finish_reason": finish, "logprobs": None, "message": message}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 1290, "total_tokens": 1300},
        }
    )


def make_app(state: FakeState, key: str) -> Starlette:
    async def completions(request: Request) -> Response:
        rec = await record(state, request)
        if state.mode == "hang":
            await hang(state)
        if (err := error_mode(state, key, request)) is not None:
            return err
        if request.headers.get("authorization") != f"Bearer {key}":
            return _error(401, "No auth credentials found")
        return chat_result(state, rec.json or {})

    return Starlette(routes=[Route("/api/v1/chat/completions", completions, methods=["POST"])])
