"""JPEG marker-segment walker: header dimensions and lossless metadata stripping.

The walker never touches the compressed image data. It copies the segments the decoder needs
(SOFn, DHT, DQT, DRI, SOS, ...) and the entropy-coded scans verbatim, and drops metadata:

* APP1..APP15 (EXIF with GPS and thumbnails, XMP, MPF, IPTC/Photoshop APP13, maker data, ...)
  except an APP2 ``ICC_PROFILE`` segment (colour management, not personal data) and an APP14
  ``Adobe`` segment (the decoder needs its colour-transform flag);
* APP0 other than JFIF (JFXX carries thumbnails); a JFIF thumbnail is cut out of the segment;
* COM comments;
* anything after EOI (MPF secondary images, vendor trailers, appended payloads).
"""

from __future__ import annotations

import struct

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
_SOS = 0xDA
_APP0, _APP2, _APP14, _APP15 = 0xE0, 0xE2, 0xEE, 0xEF
_COM = 0xFE
# SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn and TEM have no length field


class JpegFormatError(ValueError):
    """The bytes are not a well-formed JPEG marker stream."""


def _segments(data: bytes):
    """Yield ``(marker, start, end)`` for each marker segment; ``None`` marker = scan data.

    ``start:end`` spans the whole segment including the ``FF xx`` marker. Stops after EOI. If the
    stream ends inside the entropy-coded data of the last scan (no EOI) the scan data runs to the
    end of the buffer and a synthetic EOI is yielded as ``(0xD9, -1, -1)``.
    """
    if not data.startswith(SOI):
        raise JpegFormatError("missing SOI")
    n = len(data)
    pos = 2
    while True:
        if pos >= n:
            raise JpegFormatError("ended before EOI")
        if data[pos] != 0xFF:
            raise JpegFormatError("expected a marker")
        start = pos
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            raise JpegFormatError("ended inside a marker")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            yield marker, start, pos
            return
        if marker in _STANDALONE:
            yield marker, start, pos
            continue
        if marker in (0x00, 0xD8):
            raise JpegFormatError("unexpected marker")
        if pos + 2 > n:
            raise JpegFormatError("truncated segment length")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2 or pos + length > n:
            raise JpegFormatError("truncated segment")
        pos += length
        yield marker, start, pos
        if marker != _SOS:
            continue
        # Entropy-coded data: runs until a marker other than stuffing (FF00), RSTn or fill.
        scan_start = pos
        while True:
            i = data.find(b"\xff", pos)
            if i < 0 or i + 1 >= n:
                yield None, scan_start, n
                yield 0xD9, -1, -1
                return
            nxt = data[i + 1]
            if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                pos = i + 2
            elif nxt == 0xFF:
                pos = i + 1
            else:
                break
        yield None, scan_start, i
        pos = i


def dimensions(data: bytes) -> tuple[int, int]:
    """(width, height) from the first SOFn segment, as stored (before any EXIF orientation)."""
    for marker, start, end in _segments(data):
        if marker in _SOF:
            if end - start < 9:
                raise JpegFormatError("short SOF segment")
            height, width = struct.unpack(">HH", data[start + 5 : start + 9])
            if not width or not height:
                raise JpegFormatError("zero dimension in SOF")
            return width, height
        if marker == _SOS or marker is None:
            break
    raise JpegFormatError("no SOF segment before the first scan")


def _keep_app(marker: int, payload: bytes) -> bytes | None:
    """The payload to keep for an APPn/COM segment, or None to drop it."""
    if marker == _APP0 and payload.startswith(b"JFIF\x00") and len(payload) >= 14:
        return payload[:12] + b"\x00\x00"  # JFIF header with its thumbnail cut out
    if marker == _APP2 and payload.startswith(b"ICC_PROFILE\x00"):
        return payload
    if marker == _APP14 and payload.startswith(b"Adobe"):
        return payload
    return None


def strip(data: bytes) -> bytes:
    """Drop metadata segments and trailing bytes; compressed data is copied verbatim."""
    out = [SOI]
    for marker, start, end in _segments(data):
        if start < 0:
            out.append(EOI)
        elif _APP0 <= (marker or 0) <= _APP15 or marker == _COM:
            payload = _keep_app(marker, data[start + 4 : end])
            if payload is not None:
                out.append(bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload)
        else:
            out.append(data[start:end])
    return b"".join(out)


def segment_markers(data: bytes) -> list[tuple[int, bytes]]:
    """``(marker, payload)`` of every header segment (not scan data); for checks and tests."""
    found = []
    for marker, start, end in _segments(data):
        if marker is None or start < 0:
            continue
        payload = b"" if marker in _STANDALONE or marker == 0xD9 else data[start + 4 : end]
        found.append((marker, payload))
    return found
