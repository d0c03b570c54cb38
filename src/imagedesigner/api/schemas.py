"""Wire shapes of the OpenAI-compatible API (requests and responses)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from imagedesigner.kit.clock import as_utc

NO_STORE = {"Cache-Control": "no-store"}


def ts(value: datetime | None) -> int | None:
    """A database time as the Unix seconds the API speaks."""
    return int(as_utc(value).timestamp()) if value is not None else None


def image_path(image_id: str) -> str:
    return f"/v1/images/{image_id}"


# OpenAI parameters we accept but that no model here acts on: reported as warnings, not dropped
IGNORED_OPENAI_PARAMS = ("style", "moderation", "output_compression", "partial_images", "user")


class GenerationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str
    model: str | None = None
    n: StrictInt | None = Field(default=1)
    size: str | None = None
    response_format: Literal["url", "b64_json"] | None = None
    output_format: Literal["png", "jpeg", "webp"] | None = None
    quality: str | None = None
    background: str | None = None
    # our extensions
    seed: StrictInt | None = Field(default=None, ge=0, le=2**32 - 1)
    aspect_ratio: str | None = None
    # OpenAI fields accepted and reported as ignored
    style: str | None = None
    moderation: str | None = None
    output_compression: int | None = None
    partial_images: int | None = None
    user: str | None = None
    stream: bool | None = None


class ImageDatum(BaseModel):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageDatum]
    usage: dict | None = None
    output_format: str | None = None
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    # our extensions
    id: str
    model: str
    provider: str
    warnings: list[dict]
    expires_at: int | None = None
