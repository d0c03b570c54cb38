"""Standard Webhooks signatures (symmetric, ``v1``).

- The secret is 32 random bytes, shown to its owner as ``whsec_`` + base64 (the spec asks for
  24 to 64 bytes).
- The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``, the exact body bytes sent.
- ``webhook-signature`` is ``v1,`` + base64(HMAC-SHA256(secret bytes, signed content)); the
  header may carry several space-separated signatures (key rotation), we send one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def encode_secret(raw: bytes) -> str:
    return PREFIX + base64.b64encode(raw).decode()


def decode_secret(text: str) -> bytes:
    body = text.removeprefix(PREFIX)
    return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)


def signature(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    if "." in msg_id:  # the id is ours (``msg_<hex>``); a dot would make the content ambiguous
        raise ValueError("webhook ids must not contain '.'")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }
