"""PNG chunk walker: header dimensions and lossless metadata stripping.

Only the chunks needed to show the image faithfully are kept, copied byte for byte (IDAT is
never recompressed). Text chunks (tEXt/zTXt/iTXt, which also carry XMP), eXIf, tIME, C2PA
``caBX``, APNG animation chunks and every unknown chunk are dropped, and so is anything after IEND.
"""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEEP = frozenset(
    {
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"gAMA",
        b"cHRM",
        b"sRGB",
        b"iCCP",
        b"sBIT",
        b"pHYs",
    }
)


class PngFormatError(ValueError):
    """The bytes are not a well-formed PNG chunk stream."""


def chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """``(type, start, end)`` of each chunk up to and including IEND (length, type, data, CRC)."""
    if not data.startswith(SIGNATURE):
        raise PngFormatError("missing PNG signature")
    found: list[tuple[bytes, int, int]] = []
    pos, n = len(SIGNATURE), len(data)
    while True:
        if pos + 8 > n:
            raise PngFormatError("ended before IEND")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > n:
            raise PngFormatError("truncated chunk")
        if not ctype.isalpha() or not ctype.isascii():
            raise PngFormatError("invalid chunk type")
        if not found and ctype != b"IHDR":
            raise PngFormatError("IHDR is not the first chunk")
        found.append((ctype, pos, end))
        pos = end
        if ctype == b"IEND":
            return found


def dimensions(data: bytes) -> tuple[int, int]:
    """(width, height) from IHDR, which must be the first chunk."""
    if not data.startswith(SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        raise PngFormatError("missing IHDR")
    width, height = struct.unpack(">II", data[16:24])
    if not width or not height or width > 0x7FFFFFFF or height > 0x7FFFFFFF:
        raise PngFormatError("invalid IHDR dimensions")
    return width, height


def strip(data: bytes) -> bytes:
    """Keep only the allowlisted chunks, verbatim; drop everything else and any trailing bytes."""
    out = [SIGNATURE]
    out += [data[start:end] for ctype, start, end in chunks(data) if ctype in KEEP]
    return b"".join(out)


def make_chunk(ctype: bytes, payload: bytes) -> bytes:
    """A complete chunk with its CRC (used by tests to build fixtures)."""
    crc = zlib.crc32(ctype + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", crc)
