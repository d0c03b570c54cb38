"""Imaging's own error family (all are DomainErrors, so they map to HTTP in one place).

Uploads that fail a check raise the client errors of :mod:`imagedesigner.errors`
(``InvalidRequest``, ``PayloadTooLarge``). Images that come from elsewhere — a provider's
output, or an image being converted — raise :class:`UnusableImage`; the provider adapters
translate it into their own ``ProviderBadResponse``, naming the provider.
"""

from __future__ import annotations

from imagedesigner import errors


class ImagingError(errors.DomainError):
    """Something went wrong checking or converting an image."""

    status = 500
    type = "api_error"
    code = "image_processing_failed"


class UnusableImage(ImagingError):
    """An image we did not make ourselves is not usable: not a PNG/JPEG/WebP, mislabelled,
    over a cap, truncated or corrupt, or it cannot be converted. Messages never echo the bytes.

    Status and code are those of an unusable upstream response (502, ``bad_upstream_response``):
    such images only ever come from a provider.
    """

    status = 502
    type = "api_error"
    code = "bad_upstream_response"
