"""Wire shapes of the OpenAI-compatible API (requests and responses).

Every JSON request body is a :class:`RequestModel`: unknown fields are refused and every string
in it must be storable text. JSON may spell a lone surrogate (``"\\ud800"``), which Python
decodes into a ``str`` that cannot be encoded as UTF-8 (so not stored, logged or exported), or
a NUL (``"\\u0000"``), which PostgreSQL cannot store; either is a 400 naming the field, before
anything is stored.

:class:`ImageParams` is the one parameter model of generations and edits: the JSON body of
``POST /v1/images/generations`` and the text fields of the ``POST /v1/images/edits`` form are
validated by it, so each rule (ranges, enumerations, lengths) is written once. JSON is strict
(``"n": "2"`` or ``"stream": 0`` are refused); form fields are text, so :meth:`ImageParams.from_form`
turns digit strings into integers and ``true``/``false`` into booleans first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.kit.clock import as_utc
from imagedesigner.providers.base import ImageInput, ParamWarning

NO_STORE = {"Cache-Control": "no-store"}
SEED_MAX = 2**32 - 1
N_MAX = 10  # OpenAI's limit, and the most any model here makes (its own max_n may be lower)
SHORT = 200  # model ids, sizes, qualities and other short strings
ID_MAX = 100  # ids in paths and queries are short; longer ones cannot exist


def ts(value: datetime | None) -> int | None:
    """A database time as the Unix seconds the API speaks."""
    return int(as_utc(value).timestamp()) if value is not None else None


def image_path(image_id: str) -> str:
    return f"/v1/images/{image_id}"


# --- request bodies ----------------------------------------------------------------------
LONE_SURROGATE = "the text is not valid Unicode (it contains a lone surrogate such as \\ud800)"
NUL_CHARACTER = "the text contains a NUL character (\\u0000), which cannot be stored"


def text_problem(value: Any) -> str | None:
    """Why a string anywhere in ``value`` cannot be stored as text, or None. A lone surrogate
    cannot be encoded as UTF-8; PostgreSQL's text and JSON types cannot hold U+0000."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return LONE_SURROGATE
        return NUL_CHARACTER if "\x00" in value else None
    if isinstance(value, Mapping):
        items = [x for kv in value.items() for x in kv]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        return None
    return next((p for p in map(text_problem, items) if p), None)


class RequestModel(BaseModel):
    """Base of every request body: unknown fields refused, text must be storable (valid
    Unicode, no NUL)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")  # before pydantic's own checks, for the same message
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        problem = text_problem(value)
        if problem:
            raise PydanticCustomError("invalid_text", problem)
        return value


Short = Annotated[str, Field(max_length=SHORT)]
# OpenAI parameters we accept but that no model here acts on: reported as warnings, not dropped
IGNORED_OPENAI_PARAMS = ("style",)
# end-user ids: accepted, never forwarded; providers get an HMAC of the account instead
END_USER_PARAMS = ("safety_identifier", "user")
END_USER_MESSAGE = (
    "'{name}' is not forwarded: a provider that takes an end-user id gets a keyed hash of "
    "your account instead (the same for every request of this account)."
)
_INT_FIELDS = frozenset({"n", "seed", "output_compression", "partial_images"})
_BOOL_FIELDS = frozenset({"stream"})
_DIGITS = re.compile(r"-?[0-9]{1,20}")
_TRUE, _FALSE = frozenset({"true", "1", "on", "yes"}), frozenset({"false", "0", "off", "no"})


class ImageParams(RequestModel):
    """Parameters of a generation or an edit (the edit's files come on top, as form parts)."""

    # the longest prompt is a setting (IMAGEDESIGNER_MAX_PROMPT_CHARS), enforced when planning;
    # api/openapi.py writes its value into the schema as maxLength
    prompt: str = Field(min_length=1, description="What to draw.")
    model: Short | None = Field(None, description="An id from GET /v1/models.")
    n: StrictInt | None = Field(1, ge=1, le=N_MAX, description="Up to the model's max_n.")
    size: Short | None = Field(None, description="WIDTHxHEIGHT or 'auto'.")
    response_format: Literal["url", "b64_json"] | None = None
    output_format: Literal["png", "jpeg", "webp"] | None = None
    quality: Literal["auto", "low", "medium", "high", "standard", "hd"] | None = None
    background: Literal["transparent", "opaque", "auto"] | None = Field(
        None, description="transparent needs output_format png or webp."
    )
    output_compression: StrictInt | None = Field(
        None, ge=0, le=100, description="0-100 (100: least compression), jpeg and webp only."
    )
    moderation: Literal["auto", "low"] | None = None
    input_fidelity: Literal["high", "low"] | None = Field(
        None, description="Edits: how closely to keep the input images (models that take it)."
    )
    # our extensions
    seed: StrictInt | None = Field(None, ge=0, le=SEED_MAX)
    aspect_ratio: Short | None = Field(None, description="W:H, instead of size.")
    # OpenAI fields accepted and reported (style: ignored; the end-user ids: not forwarded)
    style: Literal["vivid", "natural"] | None = None
    safety_identifier: Short | None = Field(
        None, description="Accepted; providers get a keyed hash of the account instead."
    )
    user: Short | None = Field(None, description="Deprecated alias of safety_identifier.")
    # streaming and jobs
    stream: StrictBool | None = Field(
        None, description="Answer text/event-stream with OpenAI's image streaming events."
    )
    partial_images: StrictInt | None = Field(
        None, ge=0, le=3, description="Previews to stream while generating (models that can)."
    )
    webhook_url: str | None = Field(
        None,
        max_length=2048,
        description="https URL told (Standard Webhooks, signed) when the job finishes.",
    )

    @field_validator(*sorted(_INT_FIELDS | _BOOL_FIELDS), mode="before")
    @classmethod
    def _from_text(cls, value: Any, info: ValidationInfo) -> Any:
        """Lax only for form fields, which are always text: '2' is 2, 'false' is False."""
        if not (info.context or {}).get("form") or not isinstance(value, str):
            return value
        text = value.strip()
        if info.field_name in _INT_FIELDS and _DIGITS.fullmatch(text):
            return int(text)
        if info.field_name in _BOOL_FIELDS and text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        return value

    @classmethod
    def from_form(cls, fields: Mapping[str, Any]) -> ImageParams:
        """Validate a form's text fields; an empty field counts as left out, as in OpenAI's."""
        present = {k: v for k, v in fields.items() if v != ""}
        return cls.model_validate(present, context={"form": True})

    def ignored(self) -> list[ParamWarning]:
        out = [
            ParamWarning(
                name, "ignored", f"'{name}' is an OpenAI parameter that no model here uses."
            )
            for name in IGNORED_OPENAI_PARAMS
            if getattr(self, name) is not None
        ]
        out += [
            ParamWarning(name, "approximated", END_USER_MESSAGE.format(name=name))
            for name in END_USER_PARAMS
            if getattr(self, name) is not None
        ]
        return out

    def to_input(
        self, images: tuple[ImageInput, ...] = (), mask: ImageInput | None = None
    ) -> GenerationInput:
        return GenerationInput(
            prompt=self.prompt,
            n=1 if self.n is None else self.n,
            size=self.size or None,
            aspect_ratio=self.aspect_ratio or None,
            seed=self.seed,
            output_format=self.output_format or "png",
            quality=self.quality or None,
            background=self.background or None,
            images=images,
            mask=mask,
            partial_images=self.partial_images or 0,
            output_compression=self.output_compression,
            input_fidelity=self.input_fidelity,
            moderation=self.moderation,
        )


# --- responses ---------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """OpenAI's error envelope: every error this API sends has this shape."""

    error: ErrorDetail


class WarningOut(BaseModel):
    param: str
    type: str = Field(description="ignored, approximated or emulated")
    message: str


class ImageDatum(BaseModel):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageDatum]
    usage: dict[str, Any] | None = None
    output_format: str | None = None
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    # our extensions
    id: str
    model: str
    provider: str
    warnings: list[WarningOut]
    expires_at: int | None = None


class Deleted(BaseModel):
    id: str
    object: str
    deleted: bool
