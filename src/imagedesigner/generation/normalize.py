"""Map one user request onto a model's capabilities, honestly.

Nothing is dropped silently: every parameter the model ignores, approximates or that we emulate
becomes a :class:`ParamWarning`. Impossible requests are refused up front with a message that
says what would work. With ``strict`` every warning becomes a 400 instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from imagedesigner import errors
from imagedesigner.providers.base import Capabilities, ImageInput, ImageRequest, ModelInfo
from imagedesigner.providers.base import ParamWarning as W

SIZE_RE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
RATIO_RE = re.compile(r"^(\d{1,2}):(\d{1,2})$")
ABSOLUTE_MIN, ABSOLUTE_MAX = 64, 8192
DEFAULT_SIDE = 1024


@dataclass(frozen=True)
class GenerationInput:
    prompt: str
    n: int = 1
    size: str | None = None
    aspect_ratio: str | None = None
    seed: int | None = None
    output_format: str = "png"
    quality: str | None = None
    background: str | None = None
    images: tuple[ImageInput, ...] = ()
    mask: ImageInput | None = None
    partial_images: int = 0  # previews to stream while generating (0..3)
    output_compression: int | None = None  # 0..100, jpeg/webp only
    input_fidelity: str | None = None  # high | low
    moderation: str | None = None  # auto | low


MAX_PARTIAL_IMAGES = 3
LOSSY = ("jpeg", "webp")


@dataclass
class Plan:
    calls: list[ImageRequest]
    warnings: list[W] = field(default_factory=list)
    transcode_to: str | None = None  # set when the model cannot produce the asked format
    size: tuple[int, int] | None = None
    # set when this service must (re-)encode the outputs at this output_compression itself
    recompress: int | None = None


def parse_size(value: str) -> tuple[int, int]:
    match = SIZE_RE.match(value)
    if not match:
        raise errors.InvalidRequest(
            f"Invalid size '{value}': use WIDTHxHEIGHT, e.g. 1024x1024, or 'auto'.", param="size"
        )
    w, h = int(match.group(1)), int(match.group(2))
    if not (ABSOLUTE_MIN <= w <= ABSOLUTE_MAX and ABSOLUTE_MIN <= h <= ABSOLUTE_MAX):
        raise errors.InvalidRequest(
            f"Unsupported size '{value}': each side must be between {ABSOLUTE_MIN} and "
            f"{ABSOLUTE_MAX} pixels.",
            param="size",
        )
    return w, h


def parse_ratio(value: str) -> tuple[int, int]:
    match = RATIO_RE.match(value)
    if not match or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise errors.InvalidRequest(
            f"Invalid aspect_ratio '{value}': use W:H, e.g. 16:9.", param="aspect_ratio"
        )
    a, b = int(match.group(1)), int(match.group(2))
    if max(a / b, b / a) > 4:
        raise errors.InvalidRequest(
            "aspect_ratio must be between 1:4 and 4:1.", param="aspect_ratio"
        )
    return a, b


def _nearest_listed(sizes: tuple[tuple[int, int], ...], w: int, h: int) -> tuple[int, int]:
    def cost(s: tuple[int, int]) -> tuple[float, float]:
        return (abs(math.log((s[0] / s[1]) / (w / h))), abs(math.log((s[0] * s[1]) / (w * h))))

    return min(sizes, key=cost)


def _size_for_ratio(caps: Capabilities, a: int, b: int) -> tuple[int, int]:
    if caps.sizes is not None:
        return _nearest_listed(caps.sizes, a * 1000, b * 1000)
    if caps.min_pixels is not None or caps.max_pixels is not None:
        # about a megapixel, inside the model's pixel bounds (a 3:1 strip at 1024 would not be)
        area = DEFAULT_SIDE * DEFAULT_SIDE
        area = max(area, caps.min_pixels or 0)
        area = min(area, caps.max_pixels or area)
        scale = math.sqrt(area / (a * b))
        return _fit_pixels(caps, _fit_range(caps, round(a * scale), round(b * scale)))
    scale = DEFAULT_SIDE / max(a, b)
    return _fit_range(caps, round(a * scale), round(b * scale))


def _fit_pixels(caps: Capabilities, size: tuple[int, int]) -> tuple[int, int]:
    """Step a size (already on the model's multiple) inside its pixel bounds."""
    m = max(caps.size_multiple, 1)
    w, h = size
    while caps.max_pixels is not None and w * h > caps.max_pixels and min(w, h) > m:
        w, h = (w - m, h) if w >= h else (w, h - m)
    while caps.min_pixels is not None and w * h < caps.min_pixels:
        w, h = (w + m, h) if w <= h else (w, h + m)
    return w, h


def _check_bounds(
    caps: Capabilities, model_id: str, w: int, h: int, asked: str, param: str = "size"
) -> None:
    """A range model's ratio and pixel bounds (gpt-image-2): outside them is a 400, as at the
    provider, naming the bounds."""
    problems = []
    if caps.max_ratio is not None and max(w / h, h / w) > caps.max_ratio + 1e-9:
        limit = f"{caps.max_ratio:g}"
        problems.append(f"the aspect ratio must be between 1:{limit} and {limit}:1")
    if caps.max_pixels is not None and w * h > caps.max_pixels:
        problems.append(f"at most {caps.max_pixels:,} pixels")
    if caps.min_pixels is not None and w * h < caps.min_pixels:
        problems.append(f"at least {caps.min_pixels:,} pixels")
    if problems:
        raise errors.InvalidRequest(
            f"Unsupported {param} '{asked}' for {model_id}: " + "; ".join(problems) + ".",
            param=param,
        )


def _fit_range(caps: Capabilities, w: int, h: int) -> tuple[int, int]:
    m = max(caps.size_multiple, 1)
    w, h = max(caps.min_side, min(caps.max_side, w)), max(caps.min_side, min(caps.max_side, h))
    return max(m, round(w / m) * m), max(m, round(h / m) * m)


def _ratio_name(w: int, h: int) -> str:
    g = math.gcd(w, h)
    return f"{w // g}:{h // g}"


def _resolve_size(
    inp: GenerationInput, caps: Capabilities, warnings: list[W], model_id: str = ""
) -> tuple[int, int]:
    if inp.size and inp.size != "auto" and inp.aspect_ratio:
        raise errors.InvalidRequest("Give either size or aspect_ratio, not both.", param="size")
    if inp.aspect_ratio:
        a, b = parse_ratio(inp.aspect_ratio)
        size = _size_for_ratio(caps, a, b)
        if caps.sizes is None:  # the ratio itself, scaled into the pixel bounds already
            _check_bounds(caps, model_id, *size, inp.aspect_ratio, "aspect_ratio")
        ratio = f"{a}:{b}"
        # a model that takes any size gets the ratio exactly; a size list may only come close
        if caps.sizes is not None and abs(size[0] / size[1] - a / b) > 0.01:
            warnings.append(
                W(
                    "aspect_ratio",
                    "approximated",
                    f"{ratio} is not offered by this model; "
                    f"made {size[0]}x{size[1]} ({_ratio_name(*size)}) instead.",
                )
            )
        return size
    if not inp.size or inp.size == "auto":
        if caps.sizes is not None:
            return caps.sizes[0]
        return _fit_range(caps, DEFAULT_SIDE, DEFAULT_SIDE)
    w, h = parse_size(inp.size)
    if caps.sizes is not None:
        if (w, h) in caps.sizes:
            return w, h
        snapped = _nearest_listed(caps.sizes, w, h)
        warnings.append(
            W(
                "size",
                "approximated",
                f"{w}x{h} is not offered by this model; snapped to the "
                f"nearest supported size {snapped[0]}x{snapped[1]}.",
            )
        )
        return snapped
    if not (caps.min_side <= w <= caps.max_side and caps.min_side <= h <= caps.max_side):
        raise errors.InvalidRequest(
            f"Unsupported size '{inp.size}': this model makes sizes from {caps.min_side} to "
            f"{caps.max_side} pixels per side.",
            param="size",
        )
    _check_bounds(caps, model_id, w, h, inp.size)
    fitted = _fit_pixels(caps, _fit_range(caps, w, h))
    if fitted != (w, h):
        warnings.append(
            W(
                "size",
                "approximated",
                f"sides must be multiples of {caps.size_multiple}; made "
                f"{fitted[0]}x{fitted[1]} instead of {w}x{h}.",
            )
        )
    return fitted


def plan(inp: GenerationInput, model: ModelInfo, *, strict: bool, max_prompt: int) -> Plan:
    caps = model.capabilities
    if not inp.prompt or not inp.prompt.strip():
        raise errors.InvalidRequest(
            "The prompt is empty: describe the image you want.", param="prompt"
        )
    if len(inp.prompt) > max_prompt:
        raise errors.InvalidRequest(
            f"The prompt has {len(inp.prompt)} characters; the maximum is {max_prompt}.",
            param="prompt",
        )
    if not 1 <= inp.n <= caps.max_total_n:
        raise errors.InvalidRequest(
            f"n must be between 1 and {caps.max_total_n} for {model.id}.", param="n"
        )
    if inp.seed is not None and not caps.seeds:
        raise errors.InvalidRequest(
            f"{model.id} does not support seeds. Leave seed out, or use a model whose "
            "capabilities list seeds (GET /v1/models), such as local/sketch or the fal FLUX models.",
            param="seed",
            code="unsupported_parameter",
        )
    if inp.images and not caps.edits:
        raise errors.InvalidRequest(
            f"{model.id} cannot edit images. Choose a model whose capabilities list edits.",
            param="model",
            code="unsupported_parameter",
        )
    if len(inp.images) > max(caps.max_input_images, 0) and inp.images:
        raise errors.InvalidRequest(
            f"{model.id} takes at most {caps.max_input_images} input images; "
            f"{len(inp.images)} were sent.",
            param="image",
        )
    if inp.mask is not None and not caps.masks:
        raise errors.InvalidRequest(
            f"{model.id} does not support masks. Leave the mask out, or choose a model whose "
            "capabilities list masks (e.g. openai/gpt-image-1.5, local/sketch).",
            param="mask",
            code="unsupported_parameter",
        )
    if inp.mask is not None and inp.images:
        first = inp.images[0]
        if (inp.mask.width, inp.mask.height) != (first.width, first.height):
            raise errors.InvalidRequest(
                f"The mask is {inp.mask.width}x{inp.mask.height} but the first image is "
                f"{first.width}x{first.height}: they must be the same size.",
                param="mask",
            )
    if inp.output_format not in ("png", "jpeg", "webp"):
        raise errors.InvalidRequest(
            "output_format must be png, jpeg or webp.", param="output_format"
        )
    if not 0 <= inp.partial_images <= MAX_PARTIAL_IMAGES:
        raise errors.InvalidRequest(
            f"partial_images must be between 0 and {MAX_PARTIAL_IMAGES}.", param="partial_images"
        )

    warnings: list[W] = []
    size = _resolve_size(inp, caps, warnings, model.id)
    native_format = inp.output_format
    transcode_to = None
    if inp.output_format not in caps.output_formats:
        native_format = caps.output_formats[0]
        transcode_to = inp.output_format
        warnings.append(
            W(
                "output_format",
                "emulated",
                f"{model.id} returns {native_format}; "
                f"transcoded to {inp.output_format} by this service.",
            )
        )
    quality = inp.quality
    if quality and quality != "auto" and quality not in caps.qualities:
        warnings.append(W("quality", "ignored", f"{model.id} has no quality setting."))
        quality = None
    background = inp.background
    if background and background != "auto" and background not in caps.backgrounds:
        warnings.append(
            W("background", "ignored", f"{model.id} cannot make a {background} background.")
        )
        background = None
    partial_images = inp.partial_images
    if partial_images and not caps.partial_images:
        warnings.append(W("partial_images", "ignored", f"{model.id} cannot stream partial images."))
        partial_images = 0
    extras, recompress = _openai_extras(inp, model, native_format, transcode_to, warnings)

    per_call = max(caps.max_n, 1)
    counts = [per_call] * (inp.n // per_call) + ([inp.n % per_call] if inp.n % per_call else [])
    if len(counts) > 1:
        warnings.append(
            W(
                "n",
                "emulated",
                f"{model.id} makes {per_call} image(s) per call; n={inp.n} was "
                f"made with {len(counts)} separate calls.",
            )
        )
    if strict and warnings:
        raise errors.InvalidRequest(
            "Strict parameter mode: " + " ".join(f"{w.param}: {w.message}" for w in warnings),
            param=warnings[0].param,
            code="unsupported_parameter",
        )
    base = ImageRequest(
        prompt=inp.prompt,
        size=size,
        aspect_ratio=inp.aspect_ratio,
        seed=inp.seed,
        output_format=native_format,  # type: ignore[arg-type]
        quality=quality,
        background=background,
        images=inp.images,
        mask=inp.mask,
        partial_images=partial_images,
        **extras,
    )
    calls = []
    offset = 0
    for count in counts:
        seed = None if inp.seed is None else (inp.seed + offset) % 2**32
        calls.append(replace(base, n=count, seed=seed))
        offset += count
    return Plan(
        calls=calls, warnings=warnings, transcode_to=transcode_to, size=size, recompress=recompress
    )


def _openai_extras(
    inp: GenerationInput,
    model: ModelInfo,
    native_format: str,
    transcode_to: str | None,
    warnings: list[W],
) -> tuple[dict, int | None]:
    """``output_compression``, ``input_fidelity`` and ``moderation``: passed to a model that
    takes them, honoured by this service where it encodes, reported where neither."""
    caps = model.capabilities
    extras: dict = {}
    recompress = None
    level = inp.output_compression
    if level is not None:
        if inp.output_format not in LOSSY:
            warnings.append(
                W(
                    "output_compression",
                    "ignored",
                    f"output_compression applies to jpeg and webp only, not {inp.output_format}.",
                )
            )
        elif transcode_to is None and caps.output_compression:
            extras["output_compression"] = level
        else:
            recompress = level  # we encode (transcode) or re-encode the model's output
            if transcode_to is None:
                warnings.append(
                    W(
                        "output_compression",
                        "emulated",
                        f"{model.id} has no compression setting; its {native_format} output "
                        f"was re-encoded by this service at output_compression {level}.",
                    )
                )
    if inp.input_fidelity is not None:
        if not inp.images:
            warnings.append(W("input_fidelity", "ignored", "input_fidelity applies to edits only."))
        elif inp.input_fidelity in caps.input_fidelity:
            extras["input_fidelity"] = inp.input_fidelity
        else:
            takes = ", ".join(caps.input_fidelity)
            warnings.append(
                W(
                    "input_fidelity",
                    "ignored",
                    f"{model.id} takes input_fidelity {takes}; it was not sent."
                    if takes
                    else f"{model.id} has no input_fidelity setting; it was not sent.",
                )
            )
    if inp.moderation is not None:
        if caps.moderation:
            extras["moderation"] = inp.moderation
        elif inp.moderation != "auto":
            warnings.append(W("moderation", "ignored", f"{model.id} has no moderation setting."))
    return extras, recompress
