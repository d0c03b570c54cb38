"""Signed, expiring capability URLs for ``url`` results.

``GET /v1/images/{id}?expires=<unix seconds>&signature=<hex>`` opens with a plain GET (no key,
no cookie), for ``<img src>``, browsers and downstream services. The signature is an HMAC-SHA256
with the server secret over the image id and the expiry, so neither can be changed; the expiry
is at most ``image_url_ttl`` after signing and never later than the content's own expiry. The
URL stops working at once when the image is deleted or expires, because every GET still looks
the image up (a signature only stands in for the owner's key, it does not keep anything alive).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from imagedesigner import errors
from imagedesigner.kit.clock import as_utc

PURPOSE = b"imagedesigner image url v1\n"  # domain separation from the secret's other HMACs
SIGNATURE_HEX = 64


def expiry(now: datetime, ttl: timedelta, content_expires_at: datetime | None) -> int:
    """Unix seconds: ``now + ttl``, but no later than the content's own expiry."""
    until = as_utc(now) + ttl
    if content_expires_at is not None:
        until = min(until, as_utc(content_expires_at))
    return math.floor(until.timestamp())


def sign(secret: bytes, image_id: str, expires: int) -> str:
    message = PURPOSE + f"{image_id}\n{int(expires)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def query(secret: bytes, image_id: str, expires: int) -> str:
    return f"expires={int(expires)}&signature={sign(secret, image_id, expires)}"


def verify(secret: bytes, image_id: str, expires: int, signature: str, now: datetime) -> None:
    """Raise unless ``signature`` is this server's for ``image_id`` and ``expires`` and the
    expiry has not passed. Compared in constant time; the expiry only after the signature, so
    a forged URL never learns more than "invalid"."""
    expected = sign(secret, image_id, expires)
    if len(signature) != SIGNATURE_HEX or not hmac.compare_digest(
        expected, signature.lower().encode("ascii", "replace").decode()
    ):
        raise errors.PermissionDenied(
            "This image link is not valid. Ask for the image again, or fetch it with your API key.",
            code="invalid_signature",
        )
    if as_utc(now).timestamp() >= expires:
        raise errors.PermissionDenied(
            "This image link has expired. Ask for the image again (GET /v1/jobs/{id} makes new "
            "links while the image exists), or fetch it with your API key.",
            code="url_expired",
        )
