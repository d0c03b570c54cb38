"""JSON answers that carry images as base64, parsed without turning the images into text.

A 1024² image from OpenAI is a 1.5 MB base64 string inside a small JSON document. Parsing the
whole document makes a 1.5 MB ``str`` that is decoded once and dropped: about a sixth of the
gateway's CPU per request on such bodies. :func:`json_lifting` cuts every long, plain string
value of one key (``"b64_json": "<base64>"``) out of the raw bytes first, parses the small rest,
and hands the cut-out bytes to the caller, who decodes them straight from the buffer.

What is cut out must be exactly what the parser would have read, or nothing is:
- the key is matched as ``"<key>"`` followed by optional JSON whitespace, ``:``, optional
  whitespace and ``"``; the value runs to the next ``"``, and a value holding any backslash
  (an escape) is left to the parser, so the cut-out bytes are the string's content as is;
- a value shorter than ``MIN_LIFT`` is left in place (not worth it);
- the rest, with a placeholder string in place of each cut-out value, must parse as JSON; the
  placeholders are per process and random, so no provider can send one;
- the cut-out bytes are only used where the caller finds a placeholder under that key; they
  are base64 or the caller's strict decoding refuses them. A cut-out value the caller never
  uses is never looked at: a document whose only fault is inside such a value (a raw control
  character, invalid UTF-8) is accepted where a full parse would refuse it, and nothing of that
  value is used.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import orjson

MIN_LIFT = 4096  # bytes: shorter values stay in the document
_TOKEN = f"lifted-{secrets.token_hex(12)}-"
_COLON, _QUOTE, _BACKSLASH = 0x3A, 0x22, b"\\"
_SPACES = re.compile(rb"[ \t\r\n]*")


def _skip_space(data: bytes, i: int) -> int:
    """JSON whitespace from ``i`` on, skipped in C (a body of spaces must not stall the loop)."""
    return _SPACES.match(data, i).end()


def json_lifting(data: bytes, key: str) -> tuple[Any, dict[str, memoryview]]:
    """``orjson.loads(data)``, except that each long plain string value of ``key`` is replaced by
    a placeholder string, mapped to its raw bytes in the second item. Raises what
    ``orjson.loads`` raises for a document that is not JSON."""
    needle = b'"' + key.encode() + b'"'
    view = memoryview(data)
    pieces: list[bytes | memoryview] = []
    lifted: dict[str, memoryview] = {}
    pos = 0  # data[:pos] is in pieces
    scan = 0
    while (at := data.find(needle, scan)) >= 0:
        scan = at + 1
        i = _skip_space(data, at + len(needle))
        if i >= len(data) or data[i] != _COLON:
            continue
        i = _skip_space(data, i + 1)
        if i >= len(data) or data[i] != _QUOTE:
            continue
        start = i + 1
        end = data.find(b'"', start)
        if end < 0:
            break  # unterminated: the parser says so
        scan = end + 1
        if end - start < MIN_LIFT or data.find(_BACKSLASH, start, end) >= 0:
            continue
        token = f"{_TOKEN}{len(lifted)}"
        pieces += (view[pos:start], token.encode())
        lifted[token] = view[start:end]
        pos = end
    if not lifted:
        return orjson.loads(data), {}
    pieces.append(view[pos:])
    return orjson.loads(b"".join(pieces)), lifted


def lifted_value(value: Any, lifted: dict[str, memoryview]) -> Any:
    """The raw bytes behind a placeholder, or ``value`` itself when it is none."""
    if isinstance(value, str) and value in lifted:
        return lifted[value]
    return value
