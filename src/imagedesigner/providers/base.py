"""The provider interface: one small Protocol, typed request and result, one error family.

A provider turns a *normalised* :class:`ImageRequest` (already checked against the model's
:class:`Capabilities` by ``generation/normalize.py``) into images. Adapters map it onto their
native wire fields and may add :class:`ParamWarning` s for anything they approximate. No httpx
or SDK exception leaves ``providers/``: adapters raise the :class:`ProviderError` family below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from imagedesigner import errors
from imagedesigner.imaging.media import MEDIA_TYPES as MEDIA_TYPES  # re-exported
from imagedesigner.imaging.media import ImageInput as ImageInput  # re-exported

OutputFormat = Literal["png", "jpeg", "webp"]


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    n: int = 1
    size: tuple[int, int] | None = None  # (width, height)
    aspect_ratio: str | None = None  # "16:9"
    seed: int | None = None
    output_format: OutputFormat = "png"
    quality: str | None = None  # low | medium | high | auto
    background: str | None = None  # transparent | opaque | auto
    images: tuple[ImageInput, ...] = ()
    mask: ImageInput | None = None
    safety_identifier: str | None = None  # HMAC of the account id, never the raw id
    output_compression: int | None = None  # 0..100 for jpeg/webp (models that take it)
    input_fidelity: str | None = None  # high | low (models whose capabilities list it)
    moderation: str | None = None  # auto | low (models that take it)
    # previews to stream while the image is made (0..3); only for models whose capabilities
    # list partial_images, and only when the caller passes a progress callback
    partial_images: int = 0

    @property
    def is_edit(self) -> bool:
        return bool(self.images)


@dataclass(frozen=True)
class ParamWarning:
    """A parameter the model ignored, approximated or that we emulated. Returned to the caller."""

    param: str
    kind: Literal["ignored", "approximated", "emulated"]
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"param": self.param, "type": self.kind, "message": self.message}


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    media_type: str
    width: int
    height: int
    revised_prompt: str | None = None
    seed: int | None = None


@dataclass
class ProviderResult:
    images: list[GeneratedImage]
    warnings: list[ParamWarning] = field(default_factory=list)
    usage: dict | None = None  # OpenAI's usage shape (tokens), plus ``cost`` where reported
    # what the provider says it made, for OpenAI's response echo: quality, background
    echo: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    # sizes: explicit list of supported (w, h); None means any size in [min_side, max_side]
    sizes: tuple[tuple[int, int], ...] | None = None
    min_side: int = 256
    max_side: int = 2048
    size_multiple: int = 1  # sides must be a multiple of this (gpt-image-2: 16)
    min_pixels: int | None = None  # bounds on width*height (gpt-image-2), None: none but sides
    max_pixels: int | None = None
    max_ratio: float | None = None  # the longer side at most this times the shorter one
    aspect_ratios: tuple[str, ...] = ()  # native aspect ratios, when the model takes ratios
    max_n: int = 1  # images per native call; the service emulates larger n by several calls
    max_total_n: int = 10
    edits: bool = False
    masks: bool = False
    max_input_images: int = 0
    seeds: bool = False
    output_formats: tuple[str, ...] = ("png",)
    qualities: tuple[str, ...] = ()
    backgrounds: tuple[str, ...] = ()
    partial_images: bool = False  # can stream partial images (previews) while generating
    input_fidelity: tuple[str, ...] = ()  # input_fidelity values the model takes (edits)
    moderation: bool = False  # takes OpenAI's moderation (auto | low)
    output_compression: bool = False  # encodes JPEG/WebP at the asked output_compression

    def as_dict(self) -> dict:
        return {
            "sizes": [f"{w}x{h}" for w, h in self.sizes] if self.sizes is not None else None,
            "size_range": None if self.sizes is not None else [self.min_side, self.max_side],
            "size_multiple": self.size_multiple,
            "aspect_ratios": list(self.aspect_ratios),
            "max_n_per_call": self.max_n,
            "max_n": self.max_total_n,
            "edits": self.edits,
            "masks": self.masks,
            "max_input_images": self.max_input_images,
            "seeds": self.seeds,
            "output_formats": list(self.output_formats),
            "qualities": list(self.qualities),
            "backgrounds": list(self.backgrounds),
            "partial_images": self.partial_images,
            "pixel_range": (
                [self.min_pixels, self.max_pixels] if self.max_pixels is not None else None
            ),
            "max_aspect_ratio": self.max_ratio,
            "input_fidelity": list(self.input_fidelity),
            "moderation": self.moderation,
            "output_compression": self.output_compression,
        }


@dataclass(frozen=True)
class ModelInfo:
    id: str  # public id, e.g. "openai/gpt-image-2", "local/sketch"
    provider: str  # provider name, e.g. "openai"
    native_id: str  # what the provider calls it, e.g. "gpt-image-2"
    subprocessor: str  # who receives the content, e.g. "OpenAI" or "none (runs on this server)"
    description: str
    kind: str = "image model"  # "offline procedural renderer" for local/sketch
    capabilities: Capabilities = field(default_factory=Capabilities)
    retired: bool = False
    replacement: str | None = None  # for a retired model: the id to use instead
    created: int = 1_700_000_000


@dataclass(frozen=True)
class SubprocessorInfo:
    """Who receives the content a provider is sent: its row in the /privacy subprocessor table.

    Declared by the provider itself, so a new provider brings its own row. A provider that keeps
    everything on this server (``local``) has none.
    """

    name: str  # the recipient as the policy names it, e.g. "OpenAI"
    models: str  # what of theirs is used, e.g. "Image model(s)"
    purpose: str  # e.g. "Image generation"
    policy_url: str  # their privacy policy
    note: str = ""  # an exception to their usual terms the policy must state (e.g. retention)


ProgressCallback = Callable[[dict], Awaitable[None]]
"""Where a provider reports how a call is going; each call becomes a job event followers see.

The ``event`` is one of these dicts (providers send every key, ``None`` when unknown):

* ``{"stage": "queued", "position": int | None}`` — waiting upstream (fal's queue, 0-based) or
  in our own runner's queue.
* ``{"stage": "running", "percent": float | None, "step": int | None, "steps": int | None,
  "message": str | None}`` — being made; ``percent`` is 0..100. Build it with :func:`running`.
* ``{"stage": "rendering", "done": int, "total": int}`` — the local renderer's images done.
* ``{"stage": "partial_image", "b64_json": str, "index": int, "output_format": str}`` — a
  preview (OpenAI streaming): base64 of a PNG/JPEG/WebP whose header was checked, ``index`` the
  provider's 0-based partial index, ``output_format`` ``png|jpeg|webp`` as sniffed.

Privacy: no event carries the prompt, a key, or a provider's free text: ``message`` is at most
a provider's log line that consists of nothing but a progress figure (``step 3/28``, ``30%``).
The callback is awaited inside the provider's deadline, so it should be quick.
"""


def running(
    *,
    percent: float | None = None,
    step: int | None = None,
    steps: int | None = None,
    message: str | None = None,
) -> dict:
    """A ``running`` progress event (see :data:`ProgressCallback`)."""
    return {
        "stage": "running",
        "percent": percent,
        "step": step,
        "steps": steps,
        "message": message,
    }


class ImageProvider(Protocol):
    name: str
    subprocessor: SubprocessorInfo | None  # None: nothing leaves this server

    @property
    def available(self) -> bool:
        """True when the provider can be called (its key is configured)."""
        ...

    def models(self) -> list[ModelInfo]: ...

    async def generate(
        self,
        model: ModelInfo,
        request: ImageRequest,
        *,
        progress: ProgressCallback | None = None,
    ) -> ProviderResult: ...

    async def aclose(self) -> None: ...


# --- the provider error family (all are DomainErrors, so they map to HTTP in one place) ------


class ProviderError(errors.DomainError):
    status = 502
    type = "api_error"
    code = "upstream_error"
    retryable = False


class ProviderAuthError(ProviderError):
    """The operator's key was rejected (401/403). Never echo the key."""

    code = "provider_auth_failed"


class ProviderOutOfCredits(ProviderError):
    code = "provider_out_of_credits"


class ProviderRateLimited(errors.RateLimited, ProviderError):
    status = 429
    type = "rate_limit_error"
    code = "provider_rate_limited"
    retryable = True


class ProviderUnavailable(ProviderError):
    """503 or connect error: retryable on the same provider only."""

    code = "provider_unavailable"
    retryable = True


class ProviderTimeout(ProviderError):
    status = 504
    code = "upstream_timeout"


class ProviderBadResponse(ProviderError):
    """Malformed, oversized or non-image response."""

    code = "bad_upstream_response"


class ProviderContentRefused(ProviderError):
    status = 400
    type = "invalid_request_error"
    code = "content_policy_violation"


class ProviderInvalidRequest(ProviderError):
    """The provider said our request was invalid (400/422)."""

    status = 400
    type = "invalid_request_error"
    code = "provider_rejected_request"
