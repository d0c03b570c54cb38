"""Images sent inline as ``data:`` URLs (JSON edits): decoded here, then checked and cleaned
exactly like a multipart upload (``hygiene.clean_upload``). Remote URLs are never fetched: a
server that fetches what a request names can be aimed at anything its network reaches."""

from __future__ import annotations

import binascii
import re

import pybase64

from imagedesigner import errors

_HEAD = re.compile(r"data:([a-z0-9.+-]+/[a-z0-9.+-]+)?((?:;[a-z0-9.+-]+=[^;,]*)*);base64", re.I)


def decode_data_url(text: str, *, max_bytes: int, param: str) -> bytes:
    """The bytes of a base64 ``data:`` URL, at most ``max_bytes`` of them (the type is not
    trusted: the bytes are sniffed afterwards)."""
    if text.lower().startswith(("http://", "https://")):
        raise errors.InvalidRequest(
            f"'{param}' is a remote URL: remote URLs are not fetched by this server. Send the "
            "image inline as a data URL (data:image/png;base64,...) or as a multipart upload.",
            param=param,
            code="remote_url_not_supported",
        )
    head, sep, payload = text.partition(",")
    if not sep or not _HEAD.fullmatch(head.strip()):
        raise errors.InvalidRequest(
            f"'{param}' must be a base64 data URL such as data:image/png;base64,...",
            param=param,
        )
    limit = (max_bytes + 2) // 3 * 4 + 4  # base64 of max_bytes, plus padding slack
    payload = "".join(payload.split())
    if len(payload) > limit:
        raise errors.PayloadTooLarge(
            f"'{param}' is larger than the {max_bytes // (1024 * 1024)} MB upload limit.",
            param=param,
        )
    try:
        return pybase64.b64decode(payload, validate=True)  # SIMD: see providers/_content.py
    except (binascii.Error, ValueError):
        raise errors.InvalidRequest(
            f"'{param}' is not valid base64 after 'base64,'.", param=param
        ) from None
