"""WebP (RIFF) chunk walker: header dimensions, animation check, lossless metadata stripping.

Kept chunks are copied verbatim (the VP8/VP8L bitstream is never re-encoded): VP8X, VP8, VP8L,
ALPH and ICCP. EXIF, XMP and unknown chunks are dropped, the VP8X EXIF/XMP flag bits cleared and
the RIFF size rewritten; bytes after the RIFF container are dropped. Animated files (ANIM/ANMF
or the VP8X animation flag) are refused by the caller, not stripped.
"""

from __future__ import annotations

import struct


class WebpFormatError(ValueError):
    """The bytes are not a well-formed RIFF/WEBP container."""


def chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """``(fourcc, payload_start, payload_end)`` of each RIFF chunk (trailing bytes ignored)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise WebpFormatError("not a RIFF/WEBP container")
    (riff_size,) = struct.unpack("<I", data[4:8])
    end = 8 + riff_size
    if riff_size < 4 or end > len(data):
        raise WebpFormatError("truncated RIFF container")
    found = []
    pos = 12
    while pos < end:
        if pos + 8 > end:
            raise WebpFormatError("truncated RIFF chunk header")
        fourcc, size = struct.unpack("<4sI", data[pos : pos + 8])
        start, stop = pos + 8, pos + 8 + size
        if stop > end:
            raise WebpFormatError("truncated RIFF chunk")
        found.append((fourcc, start, stop))
        pos = stop + (size & 1)
    if not found:
        raise WebpFormatError("empty RIFF container")
    return found


def dimensions(data: bytes) -> tuple[int, int]:
    """(width, height) from the first chunk: the VP8X canvas, or the VP8/VP8L frame header."""
    fourcc, start, stop = chunks(data)[0]
    p = data[start:stop]
    if fourcc == b"VP8X" and len(p) >= 10:
        width = 1 + int.from_bytes(p[4:7], "little")
        height = 1 + int.from_bytes(p[7:10], "little")
    elif fourcc == b"VP8 " and len(p) >= 10 and p[3:6] == b"\x9d\x01\x2a":
        width = int.from_bytes(p[6:8], "little") & 0x3FFF
        height = int.from_bytes(p[8:10], "little") & 0x3FFF
    elif fourcc == b"VP8L" and len(p) >= 5 and p[0] == 0x2F:
        bits = int.from_bytes(p[1:5], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        raise WebpFormatError("no WebP frame header")
    if not width or not height:
        raise WebpFormatError("zero WebP dimension")
    return width, height


def is_animated(data: bytes) -> bool:
    """True for ANIM/ANMF chunks or the VP8X animation flag (even with a single frame)."""
    found = chunks(data)
    if any(fourcc in (b"ANIM", b"ANMF") for fourcc, _, _ in found):
        return True
    fourcc, start, stop = found[0]
    return fourcc == b"VP8X" and stop > start and bool(data[start] & 0x02)


KEEP = frozenset({b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ICCP"})


def strip(data: bytes) -> bytes:
    """Drop EXIF, XMP and unknown chunks, clear the VP8X EXIF/XMP flags, fix the RIFF size."""
    body = []
    for fourcc, start, stop in chunks(data):
        if fourcc not in KEEP:
            continue
        payload = data[start:stop]
        if fourcc == b"VP8X":
            payload = bytes((payload[0] & ~0x0C,)) + payload[1:]  # 0x08 EXIF, 0x04 XMP
        body.append(
            fourcc + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)
        )
    joined = b"".join(body)
    return b"RIFF" + struct.pack("<I", 4 + len(joined)) + b"WEBP" + joined
