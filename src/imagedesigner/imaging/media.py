"""The image formats this service handles, and a checked input image.

Defined here, not in ``providers``, so that ``imaging`` depends on nothing above it;
``providers.base`` re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass

MEDIA_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class ImageInput:
    """An input image (or mask), already sniffed, decoded-checked and stripped of metadata."""

    data: bytes
    media_type: str
    width: int
    height: int
