"""OpenAI Images adapter: ``POST {base}/images/generations`` (JSON) and ``/images/edits`` (multipart).

What is sent: ``model``, ``prompt``, ``n``, ``size``, ``output_format``, ``quality``, ``background``,
``output_compression`` (jpeg/webp), ``input_fidelity`` (edits, models that take it), ``moderation``
(generations) and, when
the ``send_safety_identifier`` argument is on (setting ``openai_send_safety_identifier``),
``safety_identifier`` (an HMAC of the account id computed by the generation service — never the raw
id). ``user`` is never sent. OpenAI has no per-request retention flag
(no ``store`` for images): retention is the organisation's data controls — see docs/providers.md.

Streaming: when the request asks for ``partial_images`` (1..3), the model can stream
(``Capabilities.partial_images``) and the caller passes a ``progress`` callback, the call also
sends ``stream: true`` and ``partial_images``, and reads the ``text/event-stream`` answer: each
``image_generation.partial_image`` / ``image_edit.partial_image`` whose bytes have a real image
header goes to ``progress`` as a ``partial_image`` event; each ``….completed`` event is a final
image (validated like any output) and carries ``usage``; an ``error`` event ends the call with the
matching ProviderError. Without partial images asked for, nothing streams.

The model catalogue is the data table :data:`MODELS` in ``providers/openai_models.py``.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Unpack

from imagedesigner.providers import _content, _http, _sse, _status
from imagedesigner.providers._lift import lifted_value
from imagedesigner.providers.base import (
    MEDIA_TYPES,
    GeneratedImage,
    ImageRequest,
    ModelInfo,
    ParamWarning,
    ProgressCallback,
    ProviderBadResponse,
    ProviderError,
    ProviderInvalidRequest,
    ProviderResult,
    SubprocessorInfo,
    running,
)
from imagedesigner.providers.openai_models import (
    GPT2_MAX_PIXELS,
    GPT2_MAX_RATIO,
    MODELS,
    NAME,
)

log = logging.getLogger("imagedesigner.providers")

LABEL = "OpenAI"
BASE_URL = "https://api.openai.com/v1"
SUBPROCESSOR = SubprocessorInfo(
    name="OpenAI",
    models="Image model(s)",
    purpose="Image generation",
    policy_url="https://openai.com/policies/privacy-policy/",
)
_REFUSAL_CODES = {"content_policy_violation", "moderation_blocked"}
_QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached"}

MAX_PARTIAL_IMAGES = 3


def _is_gpt(model: ModelInfo) -> bool:
    return not model.native_id.startswith("dall-e")


def _parse_error(status: int, body: bytes) -> _status.ErrorInfo:
    obj = _content.safe_json(body)
    err = obj.get("error") if isinstance(obj, dict) else None
    if not isinstance(err, dict):
        return _status.ErrorInfo(message=None)
    message = err.get("message") if isinstance(err.get("message"), str) else None
    code = err.get("code") if isinstance(err.get("code"), str) else None
    etype = err.get("type") if isinstance(err.get("type"), str) else None
    refused = code in _REFUSAL_CODES
    return _status.ErrorInfo(
        message=message,
        code=code or etype,
        refusal=(message or code) if refused else None,
        out_of_credits=code in _QUOTA_CODES or etype in _QUOTA_CODES,
    )


def _snap16(value: float) -> int:
    return max(16, int(round(value / 16)) * 16)


def _fit_gpt2(w: int, h: int) -> tuple[int, int]:
    """Bring a size inside gpt-image-2's limits (ratio 1:3..3:1, pixel cap, multiples of 16)."""
    valid_ratio = 1 / GPT2_MAX_RATIO <= w / h <= GPT2_MAX_RATIO
    if (
        w % 16 == 0
        and h % 16 == 0
        and valid_ratio
        and w * h <= GPT2_MAX_PIXELS
        and max(w, h) <= 3840
    ):
        return w, h
    ratio = min(max(w / h, 1 / GPT2_MAX_RATIO), GPT2_MAX_RATIO)
    area = min(w * h, GPT2_MAX_PIXELS)
    nw, nh = math.sqrt(area * ratio), math.sqrt(area / ratio)
    nw, nh = _snap16(nw), _snap16(nh)
    while nw * nh > GPT2_MAX_PIXELS or max(nw, nh) > 3840:
        nw, nh = (nw - 16, nh) if nw >= nh else (nw, nh - 16)
    return nw, nh


def _choose_size(
    model: ModelInfo, request: ImageRequest
) -> tuple[tuple[int, int] | None, list[ParamWarning]]:
    caps = model.capabilities
    warnings: list[ParamWarning] = []
    if request.size is None and request.aspect_ratio is None:
        return None, warnings
    if request.size is not None:
        w, h = request.size
        param, asked = "size", f"{w}x{h}"
    else:
        r = _content.ratio_value(request.aspect_ratio or "1:1")
        w, h = round(1024 * math.sqrt(r)), round(1024 / math.sqrt(r))
        param, asked = "aspect_ratio", request.aspect_ratio or ""
    if caps.sizes is None:
        chosen = _fit_gpt2(w, h)
    else:
        target = math.log(w / h)
        chosen = min(
            caps.sizes,
            key=lambda s: (abs(math.log(s[0] / s[1]) - target), abs(s[0] * s[1] - w * h)),
        )
    if param == "size" and chosen != (w, h):
        warnings.append(
            ParamWarning(
                "size",
                "approximated",
                f"{model.id} cannot make {asked}; sent {chosen[0]}x{chosen[1]} instead.",
            )
        )
    elif param == "aspect_ratio" and abs(math.log((chosen[0] / chosen[1]) / (w / h))) > 0.01:
        warnings.append(
            ParamWarning(
                "aspect_ratio",
                "approximated",
                f"{model.id} has no {asked} size; sent the nearest, {chosen[0]}x{chosen[1]}.",
            )
        )
    return chosen, warnings


class OpenAIProvider(_http.HttpProvider):
    """OpenAI Images. ``send_safety_identifier``: send the request's ``safety_identifier``
    (an HMAC of the account id) to OpenAI; the other arguments are :class:`HttpProvider`'s."""

    name = NAME
    label = LABEL
    default_base_url = BASE_URL
    catalog = MODELS
    subprocessor = SUBPROCESSOR
    parse_error = staticmethod(_parse_error)

    def __init__(
        self, *, send_safety_identifier: bool = True, **http: Unpack[_http.HttpArgs]
    ) -> None:
        super().__init__(**http)
        self.send_safety_identifier = send_safety_identifier

    def _fields(
        self, model: ModelInfo, request: ImageRequest, *, partials: int = 0
    ) -> tuple[dict, list[ParamWarning]]:
        caps = model.capabilities
        size, warnings = _choose_size(model, request)
        fields: dict = {"model": model.native_id, "prompt": request.prompt, "n": request.n}
        if size is not None:
            fields["size"] = f"{size[0]}x{size[1]}"
        if request.seed is not None:
            warnings.append(ParamWarning("seed", "ignored", f"{model.id} does not take a seed."))
        if request.quality and request.quality in caps.qualities:
            fields["quality"] = request.quality
        elif request.quality:
            warnings.append(
                ParamWarning("quality", "ignored", f"{model.id} has no quality {request.quality}.")
            )
        if _is_gpt(model):
            fields["output_format"] = request.output_format
            if request.background:
                if request.background == "transparent" and request.output_format == "jpeg":
                    raise ProviderInvalidRequest(
                        "A transparent background needs output_format png or webp.",
                        param="background",
                    )
                fields["background"] = request.background
            if request.output_compression is not None and request.output_format != "png":
                fields["output_compression"] = request.output_compression
            if request.input_fidelity and request.is_edit:
                fields["input_fidelity"] = request.input_fidelity
            if request.moderation and not request.is_edit:  # the edit form has no moderation
                fields["moderation"] = request.moderation
        else:
            fields["response_format"] = "b64_json"
            if request.background:
                warnings.append(
                    ParamWarning("background", "ignored", f"{model.id} has no background option.")
                )
        if self.send_safety_identifier and request.safety_identifier:
            fields["safety_identifier"] = request.safety_identifier
        if partials:
            fields["stream"] = True
            fields["partial_images"] = partials
        return fields, warnings

    async def generate(
        self,
        model: ModelInfo,
        request: ImageRequest,
        *,
        progress: ProgressCallback | None = None,
    ) -> ProviderResult:
        self._require_key()
        caps = model.capabilities
        partials = 0
        if progress is not None and caps.partial_images and request.partial_images > 0:
            partials = min(request.partial_images, MAX_PARTIAL_IMAGES)
        fields, warnings = self._fields(model, request, partials=partials)
        if request.is_edit:
            if not caps.edits:
                raise ProviderInvalidRequest(f"{model.id} cannot edit images.", param="image")
            if request.mask is not None and not caps.masks:
                raise ProviderInvalidRequest(f"{model.id} does not take a mask.", param="mask")
            files = [
                ("image[]", (f"image-{i}.{_ext(img.media_type)}", img.data, img.media_type))
                for i, img in enumerate(request.images)
            ]
            if request.mask is not None:
                files.append(("mask", ("mask.png", request.mask.data, request.mask.media_type)))
            url = self.endpoint("/images/edits")
            kwargs: dict = {"data": {k: _form(v) for k, v in fields.items()}, "files": files}
        else:
            url = self.endpoint("/images/generations")
            kwargs = {"json": fields}
        if progress is not None:
            await progress(running())
        if not partials or progress is None:
            async with self._deadline():
                reply = await self._send("POST", url, **kwargs)
            return self._result(model, request, reply.body, warnings)
        stream = _Stream(self, model, request, progress)
        async with self._deadline():
            json_reply = await self._send_events(
                "POST",
                url,
                headers={"Accept": "text/event-stream"},
                on_event=stream.on_event,
                **kwargs,
            )
        if json_reply is not None:  # answered with plain JSON after all: read it as today
            return self._result(model, request, json_reply.body, warnings)
        return stream.result(warnings)

    def _result(
        self, model: ModelInfo, request: ImageRequest, raw: bytes, warnings: list[ParamWarning]
    ) -> ProviderResult:
        body, lifted = _content.json_object_lifting(raw, LABEL, "b64_json")  # see _lift.py
        data = body.get("data")
        if not isinstance(data, list) or not data:
            raise ProviderBadResponse(f"{LABEL} returned no images.")
        _content.check_count(data, request.n, LABEL)
        fmt = body.get("output_format") if _is_gpt(model) else "png"
        if fmt not in MEDIA_TYPES:
            fmt = request.output_format if _is_gpt(model) else "png"
        images = []
        for item in data:
            if not isinstance(item, dict):
                raise ProviderBadResponse(f"{LABEL} returned an unexpected image entry.")
            raw_image = _content.decode_b64(lifted_value(item.get("b64_json"), lifted), LABEL)
            media_type, w, h = self._check_image(raw_image, MEDIA_TYPES[fmt])
            revised = item.get("revised_prompt")
            images.append(
                GeneratedImage(
                    data=raw_image,
                    media_type=media_type,
                    width=w,
                    height=h,
                    revised_prompt=revised if isinstance(revised, str) else None,
                )
            )
        return ProviderResult(
            images=images,
            warnings=warnings,
            usage=_content.usage_of(body.get("usage")),
            echo=_echo(body),
        )


class _Stream:
    """Reads one streamed Images answer (events in order), see the module docstring."""

    def __init__(
        self,
        provider: OpenAIProvider,
        model: ModelInfo,
        request: ImageRequest,
        progress: ProgressCallback,
    ) -> None:
        self.provider = provider
        self.model = model
        self.request = request
        self.progress = progress
        self.prefix = "image_edit" if request.is_edit else "image_generation"
        self.images: list[GeneratedImage] = []
        self.usage: dict | None = None
        self.echo: dict[str, str] = {}
        self.partials = 0

    async def on_event(self, event: _sse.SSEEvent) -> None:
        if event.data.strip() == "[DONE]":
            return
        try:
            obj = json.loads(event.data)
        except ValueError:
            raise ProviderBadResponse(
                f"{LABEL} streamed an event that is not valid JSON."
            ) from None
        if not isinstance(obj, dict):
            raise ProviderBadResponse(f"{LABEL} streamed an unexpected event.")
        kind = obj.get("type") if isinstance(obj.get("type"), str) else event.event
        if (
            event.event == "error"
            or kind == "error"
            or ("error" in obj and kind not in self._known)
        ):
            raise self._error(obj)
        if kind == f"{self.prefix}.partial_image":
            await self._partial(obj)
        elif kind == f"{self.prefix}.completed":
            self._completed(obj)
        # any other event (a future kind, a keep-alive) is not ours to act on

    @property
    def _known(self) -> tuple[str, str]:
        return (f"{self.prefix}.partial_image", f"{self.prefix}.completed")

    async def _partial(self, obj: dict) -> None:
        b64 = obj.get("b64_json")
        try:
            data = _content.decode_b64(b64, LABEL)
        except ProviderBadResponse:
            data = b""
        head = _content.image_header(data, max_pixels=self.provider.max_image_pixels)
        if head is None:  # a preview that is not an image is dropped, not passed on
            log.warning("provider partial image dropped: provider=%s reason=not_an_image", LABEL)
            return
        index = obj.get("partial_image_index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            index = self.partials
        self.partials += 1
        await self.progress(
            {"stage": "partial_image", "b64_json": b64, "index": index, "output_format": head[0]}
        )

    def _completed(self, obj: dict) -> None:
        raw = _content.decode_b64(obj.get("b64_json"), LABEL)
        fmt = obj.get("output_format")
        if fmt not in MEDIA_TYPES:
            fmt = self.request.output_format
        media_type, w, h = self.provider._check_image(raw, MEDIA_TYPES[fmt])
        self.images.append(GeneratedImage(data=raw, media_type=media_type, width=w, height=h))
        self.usage = _content.usage_of(obj.get("usage")) or self.usage
        self.echo = _echo(obj) or self.echo

    def _error(self, obj: dict) -> ProviderError:
        err = obj.get("error") if isinstance(obj.get("error"), dict) else obj
        info = _parse_error(0, json.dumps({"error": err}).encode())
        status = _stream_error_status(err)
        secrets = (self.provider._api_key,)
        exc = _status.error_for_status(LABEL, status, {}, info, secrets)
        log.warning(
            "provider stream failed: provider=%s code=%s error=%s",
            LABEL,
            _status.redact(info.code or "-", secrets),
            exc.code,
        )
        return exc

    def result(self, warnings: list[ParamWarning]) -> ProviderResult:
        if not self.images:
            raise ProviderBadResponse(f"{LABEL} ended the stream before the image was complete.")
        if len(self.images) < self.request.n:
            warnings = [
                *warnings,
                ParamWarning(
                    "n",
                    "approximated",
                    f"{LABEL} streamed {len(self.images)} of the {self.request.n} images asked for.",
                ),
            ]
        return ProviderResult(
            images=self.images, warnings=warnings, usage=self.usage, echo=self.echo
        )


# An error event carries no HTTP status: its code (or type) stands for the one it would have had.
_STREAM_ERROR_STATUS = {
    "invalid_api_key": 401,
    "authentication_error": 401,
    "permission_denied": 403,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "requests": 429,
    "tokens": 429,
    "invalid_request_error": 400,
    "invalid_value": 400,
    "image_generation_user_error": 400,
    "server_overloaded": 503,
    "overloaded_error": 503,
    "service_unavailable": 503,
    "timeout": 504,
    "request_timeout": 504,
}


def _stream_error_status(err: dict) -> int:
    for key in ("code", "type"):
        value = err.get(key)
        if isinstance(value, str) and value in _STREAM_ERROR_STATUS:
            return _STREAM_ERROR_STATUS[value]
    return 500  # server_error and anything unknown: a plain upstream error


_ECHOED = {"quality": ("low", "medium", "high"), "background": ("transparent", "opaque")}


def _echo(body: dict) -> dict[str, str]:
    """The quality and background OpenAI says it used (only its documented values)."""
    return {k: body[k] for k, allowed in _ECHOED.items() if body.get(k) in allowed}


def _form(value: object) -> str:
    """A multipart field value: booleans as JSON spells them (``stream=true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ext(media_type: str) -> str:
    return {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(media_type, "bin")
