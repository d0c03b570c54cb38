"""OpenAI's image models as this service offers them: the data table :data:`MODELS`.

Retired models (DALL·E 2/3, gpt-image-1) are kept with their ``replacement`` and hidden unless
``enable_retired_models`` is set; asking for one is a 404 ``model_not_found`` naming it. Facts
from OpenAI's OpenAPI description and SDK (research/providers.md §1.1, §1.4).
"""

from __future__ import annotations

from imagedesigner.providers.base import Capabilities, ModelInfo

NAME = "openai"

_GPT_SIZES = ((1024, 1024), (1536, 1024), (1024, 1536))
_GPT = {
    "max_n": 10,
    "max_total_n": 10,
    "edits": True,
    "masks": True,
    "max_input_images": 16,
    "seeds": False,
    "output_formats": ("png", "jpeg", "webp"),
    "qualities": ("low", "medium", "high", "auto"),
    "backgrounds": ("transparent", "opaque", "auto"),
    "partial_images": True,  # stream + partial_images (research/providers.md §1.2, §1.6)
    "moderation": True,
    "output_compression": True,
}
# gpt-image-2: any WxH, both sides multiples of 16, aspect between 1:3 and 3:1, at most 3840x2160
# (OA-SPEC); the pixel floor of 655,360 is from a secondary source (research/providers.md §1.4).
GPT2_MAX_PIXELS = 3840 * 2160
GPT2_MIN_PIXELS = 655_360
GPT2_MAX_RATIO = 3.0
_GPT2_CAPS = Capabilities(
    sizes=None,
    min_side=256,
    max_side=3840,
    size_multiple=16,
    min_pixels=GPT2_MIN_PIXELS,
    max_pixels=GPT2_MAX_PIXELS,
    max_ratio=GPT2_MAX_RATIO,
    **_GPT,  # no input_fidelity: OA-SDK says to omit it for gpt-image-2
)


def _model(
    native: str, description: str, caps: Capabilities, *, replacement: str | None = None
) -> ModelInfo:
    """A model; one with a ``replacement`` is retired (answers ``model_not_found`` naming it)."""
    return ModelInfo(
        id=f"{NAME}/{native}",
        provider=NAME,
        native_id=native,
        subprocessor="OpenAI",
        description=description,
        capabilities=caps,
        retired=replacement is not None,
        replacement=replacement,
    )


MODELS: tuple[ModelInfo, ...] = (
    _model(
        "gpt-image-2",
        "OpenAI GPT Image 2: any size in multiples of 16 (aspect 1:3 to 3:1, up to 3840x2160).",
        _GPT2_CAPS,
    ),
    _model(
        "gpt-image-2-2026-04-21",
        "OpenAI GPT Image 2, the 2026-04-21 snapshot: the same sizes as gpt-image-2.",
        _GPT2_CAPS,
    ),
    _model(
        "gpt-image-1.5",
        "OpenAI GPT Image 1.5: 1024x1024, 1536x1024 or 1024x1536; edits with up to 16 images.",
        Capabilities(sizes=_GPT_SIZES, input_fidelity=("high", "low"), **_GPT),
    ),
    _model(
        "gpt-image-1-mini",
        "OpenAI GPT Image 1 mini: the cheaper GPT image model, same sizes as gpt-image-1.5.",
        Capabilities(sizes=_GPT_SIZES, input_fidelity=("low",), **_GPT),
    ),
    _model(
        "chatgpt-image-latest",
        "OpenAI's image model as used in ChatGPT (moves with ChatGPT); GPT image sizes.",
        Capabilities(sizes=_GPT_SIZES, **_GPT),
    ),
    _model(
        "gpt-image-1",
        "OpenAI GPT Image 1 (shut down by OpenAI on 2026-10-23).",
        Capabilities(sizes=_GPT_SIZES, input_fidelity=("high", "low"), **_GPT),
        replacement="openai/gpt-image-1.5",
    ),
    _model(
        "dall-e-3",
        "OpenAI DALL·E 3 (retired by OpenAI on 2026-05-12).",
        Capabilities(
            sizes=((1024, 1024), (1792, 1024), (1024, 1792)),
            max_n=1,
            qualities=("standard", "hd"),
            output_formats=("png",),
        ),
        replacement="openai/gpt-image-2",
    ),
    _model(
        "dall-e-2",
        "OpenAI DALL·E 2 (retired by OpenAI on 2026-05-12).",
        Capabilities(
            sizes=((256, 256), (512, 512), (1024, 1024)),
            max_n=10,
            edits=True,
            masks=True,
            max_input_images=1,
            output_formats=("png",),
        ),
        replacement="openai/gpt-image-1.5",
    ),
)
