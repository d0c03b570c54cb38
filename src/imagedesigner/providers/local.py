"""``local/sketch``: the built-in offline renderer. Nothing leaves the server; no key needed.

It is a procedural drawing of the colours, light and subjects the prompt names, not an AI model.
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from imagedesigner.imaging import sketch
from imagedesigner.providers.base import (
    MEDIA_TYPES,
    Capabilities,
    GeneratedImage,
    ImageInput,
    ImageRequest,
    ModelInfo,
    ParamWarning,
    ProgressCallback,
    ProviderBadResponse,
    ProviderResult,
)

SKETCH = ModelInfo(
    id="local/sketch",
    provider="local",
    native_id="sketch",
    subprocessor="none — runs on this server, nothing leaves it",
    description=(
        "Offline procedural renderer: draws shapes, colours and light named in the prompt. "
        "Not an AI model."
    ),
    kind="offline procedural renderer",
    capabilities=Capabilities(
        sizes=None,
        min_side=sketch.MIN_SIDE,
        max_side=sketch.MAX_SIDE,
        aspect_ratios=("1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16", "21:9"),
        max_n=10,
        max_total_n=10,
        edits=True,
        masks=True,
        max_input_images=16,
        seeds=True,
        output_formats=("png", "jpeg", "webp"),
        backgrounds=("auto", "opaque", "transparent"),
        output_compression=True,
    ),
)


def _decode(item: ImageInput) -> Image.Image:
    try:
        with Image.open(io.BytesIO(item.data)) as im:
            im.load()
            return im.copy()
    except Exception as exc:  # inputs are checked upstream; this is a last line of defence
        raise ProviderBadResponse("An input image could not be decoded.") from exc


DEFAULT_QUALITY = 90


def encode(img: Image.Image, fmt: str, quality: int | None = None) -> bytes:
    """Encode without metadata: no text chunks, no EXIF, no ICC profile. ``quality`` is
    OpenAI's ``output_compression`` (0..100, JPEG and WebP)."""
    buf = io.BytesIO()
    q = DEFAULT_QUALITY if quality is None else quality
    if fmt == "jpeg":
        img.convert("RGB").save(buf, "JPEG", quality=q)
    elif fmt == "webp":
        img.save(buf, "WEBP", quality=q)
    else:
        img.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def render_one(
    prompt: str,
    seed: int,
    size: tuple[int, int],
    fmt: str,
    transparent: bool,
    inputs: list[Image.Image],
    mask: Image.Image | None,
    quality: int | None = None,
) -> bytes:
    img = sketch.render(prompt, seed, size[0], size[1], transparent=transparent)
    if inputs:
        img = sketch.blend_inputs(img, inputs, mask)
    return encode(img, fmt, quality)


class LocalProvider:
    """Takes no arguments: it has no key, no network and no settings."""

    name = "local"
    subprocessor = None  # nothing leaves this server

    @property
    def available(self) -> bool:
        return True

    def models(self) -> list[ModelInfo]:
        return [SKETCH]

    async def generate(
        self,
        model: ModelInfo,
        request: ImageRequest,
        *,
        progress: ProgressCallback | None = None,
    ) -> ProviderResult:
        size = request.size or (1024, 1024)
        fmt = request.output_format
        warnings: list[ParamWarning] = []
        transparent = request.background == "transparent"
        if transparent and fmt == "jpeg":
            transparent = False
            warnings.append(
                ParamWarning(
                    "background",
                    "ignored",
                    "JPEG has no alpha channel; the image was rendered with an opaque background.",
                )
            )
        base_seed = request.seed if request.seed is not None else sketch.derive_seed(request.prompt)
        inputs = [await asyncio.to_thread(_decode, i) for i in request.images]
        mask = await asyncio.to_thread(_decode, request.mask) if request.mask else None
        images: list[GeneratedImage] = []
        for i in range(request.n):
            if progress is not None:
                await progress({"stage": "rendering", "done": i, "total": request.n})
            seed = (base_seed + i) % 2**32  # as split calls wrap: seeds stay in 0..2**32-1
            data = await asyncio.to_thread(
                render_one,
                request.prompt,
                seed,
                size,
                fmt,
                transparent,
                inputs,
                mask,
                request.output_compression,
            )
            images.append(
                GeneratedImage(
                    data=data,
                    media_type=MEDIA_TYPES[fmt],
                    width=size[0],
                    height=size[1],
                    revised_prompt=None,
                    seed=seed,
                )
            )
        if progress is not None:
            await progress({"stage": "rendering", "done": request.n, "total": request.n})
        return ProviderResult(images=images, warnings=warnings)

    async def aclose(self) -> None:
        return None
