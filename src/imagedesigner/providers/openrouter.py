"""Gemini image models through OpenRouter, pinned to one upstream provider.

Route: ``POST {base}/chat/completions`` — the route that carries the strongest per-request privacy
settings (OpenRouter's dedicated ``/images`` route accepts neither ``zdr`` nor ``data_collection``).
Every request carries::

    "provider": {"only": ["<slug>"], "allow_fallbacks": false, "data_collection": "deny", "zdr": true}

so the content reaches only the named upstream (default ``google-vertex``: OpenRouter's ZDR policy for
Google keeps Vertex and drops AI Studio), and fails rather than falling back. We never send ``models``
(model fallback), never ``openrouter/auto`` or ``:nitro``/``:floor`` variants (:func:`check_pinned`
refuses such a body), no cache header, no ``user``/attribution headers.

Mapping: ``modalities: ["image", "text"]``; size → ``image_config.aspect_ratio`` (nearest native
ratio) + ``image_config.image_size`` tier, with an "approximated" warning when WxH is not exactly a
native size; input images as data URLs in ``image_url`` content parts. n > 1 is not native
(``max_n=1``; the service loops); the output format is not controllable (``output_formats=("png",)``;
the service transcodes).

Zero data retention has one exception since 2026-10-27: OpenRouter screens all traffic, ZDR
included, for CSAM and may keep flagged content (``SUBPROCESSOR.note``, shown on /privacy).

Account settings the operator should still set on openrouter.ai (not per request): keep "OpenRouter use
of inputs/outputs" and private I/O logging off; optionally enable account-wide ZDR and restrict the
provider allow-list to the pinned slug (``only`` narrows within that list; an empty intersection
is a 404). See docs/providers.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from imagedesigner.providers import _content, _http, _status
from imagedesigner.providers.base import (
    Capabilities,
    GeneratedImage,
    ImageRequest,
    ModelInfo,
    ParamWarning,
    ProgressCallback,
    ProviderBadResponse,
    ProviderContentRefused,
    ProviderError,
    ProviderInvalidRequest,
    ProviderResult,
    SubprocessorInfo,
)

NAME = "openrouter"
LABEL = "OpenRouter"
BASE_URL = "https://openrouter.ai/api/v1"
SUBPROCESSOR = SubprocessorInfo(
    name="openrouter.ai",
    models="Gemini image model(s)",
    purpose="Image generation (Gemini)",
    policy_url="https://openrouter.ai/privacy",
    note=(
        "Since 2026-10-27 OpenRouter screens all traffic, zero-data-retention requests "
        "included, for child sexual abuse material (CSAM) and may keep content it flags."
    ),
)

# image_config.aspect_ratio → pixels at image_size 1K (OpenRouter image-generation guide)
RATIO_1K: dict[str, tuple[int, int]] = {
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
WIDE_RATIOS = ("1:4", "4:1", "1:8", "8:1")  # gemini-3.1-flash-image (and its preview) only
ASPECT_MODEL_MAX_SIDE = 4096
TIER_SCALE = {"0.5K": 0.5, "1K": 1.0, "2K": 2.0, "4K": 4.0}


@dataclass(frozen=True)
class Route:
    info: ModelInfo
    slug: str  # the one upstream provider every request is pinned to
    tiers: tuple[str, ...]  # image_config.image_size values the model takes


def _route(native: str, desc: str, *, slug: str, tiers, ratios, max_inputs: int) -> Route:
    # The pixel range is what we accept as a W×H request: it is mapped to the nearest ratio and
    # tier (with a warning), rather than refused; the output size is set by ratio and tier.
    caps = Capabilities(
        sizes=None,
        min_side=256,
        max_side=ASPECT_MODEL_MAX_SIDE,
        aspect_ratios=tuple(ratios),
        max_n=1,
        max_total_n=10,
        edits=True,
        masks=False,
        max_input_images=max_inputs,
        seeds=False,
        output_formats=("png",),
    )
    info = ModelInfo(
        id=f"{NAME}/{native}",
        provider=NAME,
        native_id=native,
        subprocessor=f"OpenRouter, routed only to {slug} (Google)",
        description=desc,
        capabilities=caps,
    )
    return Route(info=info, slug=slug, tiers=tuple(tiers))


ROUTES: tuple[Route, ...] = (
    _route(
        "google/gemini-2.5-flash-image",
        'Gemini 2.5 Flash Image ("Nano Banana") via OpenRouter, pinned to Google Vertex.',
        slug="google-vertex",
        tiers=("1K",),
        ratios=tuple(RATIO_1K),
        max_inputs=3,
    ),
    _route(
        "google/gemini-3.1-flash-image-preview",
        'Gemini 3.1 Flash Image preview ("Nano Banana 2") via OpenRouter, pinned to Google Vertex.',
        slug="google-vertex",
        tiers=("0.5K", "1K", "2K", "4K"),
        ratios=tuple(RATIO_1K) + WIDE_RATIOS,
        max_inputs=14,
    ),
    _route(
        "google/gemini-3.1-flash-image",
        'Gemini 3.1 Flash Image ("Nano Banana 2") via OpenRouter, pinned to Google Vertex.',
        slug="google-vertex",
        tiers=("0.5K", "1K", "2K", "4K"),
        ratios=tuple(RATIO_1K) + WIDE_RATIOS,
        max_inputs=14,
    ),
    _route(
        "google/gemini-3-pro-image-preview",
        'Gemini 3 Pro Image preview ("Nano Banana Pro") via OpenRouter, pinned to Google Vertex.',
        slug="google-vertex",
        tiers=("1K", "2K", "4K"),
        ratios=tuple(RATIO_1K),
        max_inputs=14,
    ),
)
MODELS: tuple[ModelInfo, ...] = tuple(r.info for r in ROUTES)


def check_pinned(body: dict) -> None:
    """Refuse any body that could let OpenRouter send the content somewhere else."""
    model = body.get("model")
    provider = body.get("provider") or {}
    problems = []
    if not isinstance(model, str) or ":" in model or model.startswith("openrouter/"):
        problems.append("model must be one concrete model id (no openrouter/auto, no :variants)")
    if "models" in body:
        problems.append("no `models` fallback list")
    only = provider.get("only")
    if not (isinstance(only, list) and len(only) == 1 and isinstance(only[0], str) and only[0]):
        problems.append("provider.only must name exactly one provider")
    if provider.get("allow_fallbacks") is not False:
        problems.append("provider.allow_fallbacks must be false")
    if provider.get("data_collection") != "deny" or provider.get("zdr") is not True:
        problems.append("provider.data_collection=deny and provider.zdr=true are required")
    if problems:
        raise ProviderError("Refusing an unpinned OpenRouter request: " + "; ".join(problems))


for _r in ROUTES:  # the catalogue itself must never name a routing alias
    check_pinned(
        {
            "model": _r.info.native_id,
            "provider": {
                "only": [_r.slug],
                "allow_fallbacks": False,
                "data_collection": "deny",
                "zdr": True,
            },
        }
    )


def _ratio_pixels(ratio: str, tier: str) -> tuple[int, int]:
    if ratio in RATIO_1K:
        w, h = RATIO_1K[ratio]
    else:  # wide ratios: ~1 MP at 1K [U: exact pixels not documented]
        r = _content.ratio_value(ratio)
        w, h = round(1024 * math.sqrt(r)), round(1024 / math.sqrt(r))
    scale = TIER_SCALE[tier]
    return round(w * scale), round(h * scale)


def _image_config(route: Route, request: ImageRequest) -> tuple[dict, list[ParamWarning]]:
    ratios = route.info.capabilities.aspect_ratios
    warnings: list[ParamWarning] = []
    if request.aspect_ratio in ratios:
        ratio = request.aspect_ratio
    elif request.size is not None:
        ratio = _content.nearest_ratio(request.size[0], request.size[1], ratios)
    else:
        ratio = "1:1"
    tier = route.tiers[0] if "1K" not in route.tiers else "1K"
    if request.size is not None:
        area = request.size[0] * request.size[1]
        tier = min(
            route.tiers, key=lambda t: abs(math.log(math.prod(_ratio_pixels(ratio, t)) / area))
        )
    native = _ratio_pixels(ratio, tier)
    if request.aspect_ratio is not None and request.aspect_ratio not in ratios:
        warnings.append(
            ParamWarning(
                "aspect_ratio",
                "approximated",
                f"{route.info.id} does not offer aspect ratio {request.aspect_ratio}; sent the "
                f"nearest, {ratio} (about {native[0]}x{native[1]}).",
            )
        )
    elif request.aspect_ratio is None and request.size is not None and request.size != native:
        w, h = request.size
        warnings.append(
            ParamWarning(
                "size",
                "approximated",
                f"{route.info.id} takes aspect ratios, not pixel sizes: {w}x{h} was sent as "
                f"aspect_ratio {ratio} at image_size {tier} (about {native[0]}x{native[1]}).",
            )
        )
    config = {"aspect_ratio": ratio}
    if len(route.tiers) > 1:
        config["image_size"] = tier
    return config, warnings


def _parse_error(status: int, body: bytes) -> _status.ErrorInfo:
    return _error_info(_content.safe_json(body))


def _error_info(obj: object) -> _status.ErrorInfo:
    err = obj.get("error") if isinstance(obj, dict) else None
    if not isinstance(err, dict):
        return _status.ErrorInfo()
    message = err.get("message") if isinstance(err.get("message"), str) else None
    meta = err.get("metadata") if isinstance(err.get("metadata"), dict) else {}
    reasons = meta.get("reasons")
    refusal = None
    if isinstance(reasons, list) and reasons:  # moderation flag (403 with metadata.reasons)
        refusal = "flagged for " + ", ".join(str(r) for r in reasons)
    code = str(err.get("code")) if err.get("code") is not None else None
    return _status.ErrorInfo(message=message, code=code, refusal=refusal)


class OpenRouterProvider(_http.HttpProvider):
    """Gemini via OpenRouter; takes :class:`HttpProvider`'s arguments only."""

    name = NAME
    label = LABEL
    default_base_url = BASE_URL
    catalog = MODELS
    subprocessor = SUBPROCESSOR
    parse_error = staticmethod(_parse_error)
    _routes = {r.info.id: r for r in ROUTES}

    def build_body(
        self, model: ModelInfo, request: ImageRequest
    ) -> tuple[dict, list[ParamWarning]]:
        route = self._routes.get(model.id)
        if route is None:
            raise ProviderInvalidRequest(f"{model.id} is not an OpenRouter model of this service.")
        config, warnings = _image_config(route, request)
        if request.images:
            content: str | list = [{"type": "text", "text": request.prompt}] + [
                {"type": "image_url", "image_url": {"url": _content.data_uri(i.data, i.media_type)}}
                for i in request.images
            ]
        else:
            content = request.prompt
        if request.mask is not None:
            raise ProviderInvalidRequest(f"{model.id} does not take a mask.", param="mask")
        if request.n > 1:
            warnings.append(ParamWarning("n", "ignored", f"{model.id} makes one image per call."))
        body = {
            "model": route.info.native_id,
            "messages": [{"role": "user", "content": content}],
            "modalities": ["image", "text"],
            "image_config": config,
            "stream": False,
            "provider": {
                "only": [route.slug],
                "allow_fallbacks": False,
                "data_collection": "deny",
                "zdr": True,
            },
        }
        check_pinned(body)
        return body, warnings

    async def generate(
        self,
        model: ModelInfo,
        request: ImageRequest,
        *,
        progress: ProgressCallback | None = None,
    ) -> ProviderResult:
        key = self._require_key()
        body, warnings = self.build_body(model, request)
        if progress is not None:
            await progress({"stage": "running"})
        async with self._deadline():
            reply = await self._send("POST", self.endpoint("/chat/completions"), json=body)
        return self._result(model, request, reply.body, warnings, key)

    def _result(
        self, model: ModelInfo, request: ImageRequest, raw: bytes, warnings, key: str
    ) -> ProviderResult:
        body = _content.json_object(raw, LABEL)
        if isinstance(body.get("error"), dict):  # an error reported in a 200 body
            code = body["error"].get("code")
            status = code if isinstance(code, int) and 400 <= code < 600 else 502
            info = _error_info(body)
            raise _status.error_for_status(LABEL, status, {}, info, (key,))
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ProviderBadResponse(f"{LABEL} returned no choices.")
        choice = choices[0]
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        entries = message.get("images") if isinstance(message.get("images"), list) else []
        images = []
        for entry in entries[: max(request.n, 1)]:
            url = (entry.get("image_url") or {}).get("url") if isinstance(entry, dict) else None
            if not isinstance(url, str) or not url.startswith("data:"):
                raise ProviderBadResponse(f"{LABEL} returned an image that is not a data URL.")
            declared, data = _content.decode_data_uri(url, LABEL)
            media_type, w, h = self._check_image(data, declared)
            images.append(GeneratedImage(data=data, media_type=media_type, width=w, height=h))
        if not images:
            text = message.get("refusal") or message.get("content")
            reason = text if isinstance(text, str) and text.strip() else None
            if choice.get("finish_reason") == "content_filter" or message.get("refusal"):
                raise ProviderContentRefused(
                    f"{LABEL} refused the request under its content policy: "
                    f"{_status.redact(reason or 'the model declined to make this image', (key,))}"
                )
            raise ProviderBadResponse(f"{LABEL} returned no image for this request.")
        return ProviderResult(
            images=images, warnings=warnings, usage=_content.usage_of(body.get("usage"))
        )
