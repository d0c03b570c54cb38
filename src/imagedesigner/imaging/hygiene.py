"""Upload and output hygiene: sniff, bound, decode-check, and strip metadata from images.

Uploads (:func:`clean_upload`) are accepted only as PNG, JPEG or WebP, judged by magic bytes.
Their size is checked before anything is parsed and their pixel count is read from the header
and checked *before* any decoding (our own limit, independent of Pillow's global
``MAX_IMAGE_PIXELS``). Only then are they fully decoded, with Pillow restricted to the sniffed
format, to prove they are not truncated or corrupt. Metadata is removed by rewriting the
container, losslessly: the compressed pixel data is copied byte for byte. The one exception is
an EXIF/XMP orientation other than 1: dropping it would show the image sideways, so those
images are rotated upright and re-encoded (JPEG quality 95, PNG/lossless WebP losslessly).

Provider outputs (:func:`validate_output`) are checked the same way but never modified: they
keep their C2PA provenance (PNG ``caBX``, JPEG APP11 JUMBF). :func:`transcode` converts an
output to another format, writing no metadata (which also drops any C2PA manifest).
"""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageCms, ImageOps, JpegImagePlugin, UnidentifiedImageError

from imagedesigner import errors
from imagedesigner.imaging import _jpeg, _png, _webp
from imagedesigner.imaging.errors import UnusableImage
from imagedesigner.imaging.media import MEDIA_TYPES, ImageInput

_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_FORMAT_ERRORS = (ValueError, struct.error)  # includes the walkers' *FormatError
_ORIENTATION = 0x0112
_SUPPORTED = "send a PNG, JPEG or WebP image"


# --- sniffing and header dimensions ---------------------------------------------------------


def _describe(data: bytes) -> str:
    """A human name for common unsupported types (for the error message only)."""
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF images are not supported"
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in data[:1024].lower():
        return "SVG images are not supported"
    if head.startswith((b"<!doctype", b"<html", b"<")):
        return "HTML/XML is not an image"
    if data[:2] == b"BM":
        return "BMP images are not supported"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF images are not supported"
    if data[4:8] == b"ftyp":
        return "HEIC/AVIF images are not supported"
    if data[:5] == b"%PDF-":
        return "PDF files are not supported"
    return "the data is not a supported image"


def sniff(data: bytes, *, param: str = "image") -> str:
    """``"png"``, ``"jpeg"`` or ``"webp"`` from magic bytes alone; anything else is refused."""
    if data.startswith(_png.SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    reason = "the image is empty" if not data else _describe(data)
    raise errors.InvalidRequest(
        f"unsupported image type: {reason}; {_SUPPORTED}",
        param=param,
        code="unsupported_image_type",
    )


def _dimensions(fmt: str, data: bytes) -> tuple[int, int]:
    if fmt == "png":
        return _png.dimensions(data)
    if fmt == "jpeg":
        return _jpeg.dimensions(data)
    return _webp.dimensions(data)


def image_dimensions(data: bytes) -> tuple[int, int]:
    """(width, height) as stored in the header, without decoding (EXIF orientation ignored).

    Raises ``errors.InvalidRequest`` (``unsupported_image_type`` / ``invalid_image``).
    """
    fmt = sniff(data)
    try:
        return _dimensions(fmt, data)
    except _FORMAT_ERRORS:
        raise errors.InvalidRequest(
            "the image header could not be read", param="image", code="invalid_image"
        ) from None


def _strip(fmt: str, data: bytes) -> bytes:
    if fmt == "png":
        return _png.strip(data)
    if fmt == "jpeg":
        return _jpeg.strip(data)
    return _webp.strip(data)


# --- decoding -------------------------------------------------------------------------------


class _Bad(Exception):
    """Internal: a check failed; ``code`` and ``message`` say why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise _Bad(
            "image_too_large",
            f"the image is {width}x{height} ({width * height:,} pixels), over the "
            f"{max_pixels:,}-pixel limit",
        )


def _open_checked(data: bytes, fmt: str, max_pixels: int) -> Image.Image:
    """Header dims → pixel cap → open (one decoder only) → frames → full decode.

    The pixel cap is checked on our own header parse before Pillow sees the bytes, so neither
    Pillow's global ``MAX_IMAGE_PIXELS`` nor its warning filter can let a bomb through.
    """
    try:
        width, height = _dimensions(fmt, data)
    except _FORMAT_ERRORS:
        raise _Bad("invalid_image", "the image header could not be read") from None
    _check_pixels(width, height, max_pixels)
    try:
        if fmt == "webp" and _webp.is_animated(data):
            raise _Bad("animated_image_not_supported", "animated images are not supported")
    except _FORMAT_ERRORS:
        raise _Bad("invalid_image", "the image could not be read") from None
    try:
        im = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _Bad("image_too_large", "the image has too many pixels") from None
    except (UnidentifiedImageError, *_FORMAT_ERRORS, OSError, SyntaxError, EOFError):
        raise _Bad("invalid_image", "the image could not be read") from None
    try:
        if im.size != (width, height):
            raise _Bad("invalid_image", "the image header is inconsistent")
        _check_pixels(*im.size, max_pixels)
        # A JPEG with several frames is an MPO (phone photos: depth/gain maps, previews), not an
        # animation: only the primary image is decoded and kept, the rest is dropped with the
        # bytes after its EOI.
        if fmt != "jpeg" and getattr(im, "n_frames", 1) > 1:
            raise _Bad("animated_image_not_supported", "animated images are not supported")
        try:
            im.load()  # full decode; ImageFile.LOAD_TRUNCATED_IMAGES is never set
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _Bad("image_too_large", "the image has too many pixels") from None
        except Exception:  # any decoder failure means a corrupt image
            raise _Bad("invalid_image", "the image is truncated or corrupt") from None
    except BaseException:
        im.close()
        raise
    return im


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # malformed EXIF: upright; it is dropped anyway
        return 1
    return value if isinstance(value, int) and 2 <= value <= 8 else 1


def _reencode_upright(im: Image.Image, fmt: str, data: bytes) -> bytes:
    """Apply the EXIF orientation and re-encode with no metadata but the ICC profile."""
    upright = ImageOps.exif_transpose(im)
    icc = im.info.get("icc_profile")
    transparency = im.info.get("transparency")
    upright.info = {}  # Pillow falls back to im.info for comment/ICC/transparency: clear it
    params: dict = {"icc_profile": icc} if icc else {}
    if fmt == "jpeg":
        params["quality"] = 95
        if JpegImagePlugin.get_sampling(im) == 0:
            params["subsampling"] = 0
    elif fmt == "png":
        if transparency is not None:
            params["transparency"] = transparency
    else:
        lossless = any(c == b"VP8L" for c, _, _ in _webp.chunks(data))
        params.update({"lossless": True, "exact": True} if lossless else {"quality": 95})
    buf = io.BytesIO()
    upright.save(buf, format=_PIL_FORMATS[fmt], **params)
    return buf.getvalue()


# --- public API -----------------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}".removesuffix(".0")


def clean_upload(
    data: bytes, *, max_bytes: int, max_pixels: int, param: str = "image"
) -> ImageInput:
    """Validate an uploaded image and return it stripped of metadata.

    Raises ``errors.PayloadTooLarge`` over ``max_bytes``, else ``errors.InvalidRequest`` with code
    ``unsupported_image_type``, ``image_too_large``, ``animated_image_not_supported`` or
    ``invalid_image``. Width/height in the result are as displayed (after EXIF orientation).
    """
    if len(data) > max_bytes:
        raise errors.PayloadTooLarge(
            f"the {param} is {_mb(len(data))} MB, over the {_mb(max_bytes)} MB upload limit",
            param=param,
        )
    fmt = sniff(data, param=param)
    try:
        with _open_checked(data, fmt, max_pixels) as im:
            if _orientation(im) != 1:
                cleaned = _strip(fmt, _reencode_upright(im, fmt, data))
            else:
                cleaned = _strip(fmt, data)
            mode = im.mode
        # Cheap re-check of what we produce: same format, header, mode, and no frames lost.
        width, height = _dimensions(fmt, cleaned)
        with Image.open(io.BytesIO(cleaned), formats=[_PIL_FORMATS[fmt]]) as check:
            if check.size != (width, height) or check.mode != mode:
                raise _Bad("invalid_image", "the image could not be cleaned")
    except _Bad as exc:
        raise errors.InvalidRequest(exc.message, param=param, code=exc.code) from None
    except (UnidentifiedImageError, *_FORMAT_ERRORS, OSError, SyntaxError, EOFError):
        raise errors.InvalidRequest(
            "the image is malformed", param=param, code="invalid_image"
        ) from None
    return ImageInput(data=cleaned, media_type=MEDIA_TYPES[fmt], width=width, height=height)


def _normalise_media_type(declared: str) -> str | None:
    value = declared.split(";", 1)[0].strip().lower()
    value = value.removeprefix("image/")
    value = {"jpg": "jpeg", "pjpeg": "jpeg", "x-png": "png"}.get(value, value)
    return value if value in MEDIA_TYPES else None


def validate_output(
    data: bytes, *, declared_media_type: str | None, max_bytes: int, max_pixels: int
) -> tuple[str, int, int]:
    """Check a provider's image without modifying it; returns ``(media_type, width, height)``.

    The bytes are not re-encoded or stripped, so C2PA provenance survives. Every failure is a
    :class:`~imagedesigner.imaging.errors.UnusableImage` whose message never echoes the bytes.
    """
    if len(data) > max_bytes:
        raise UnusableImage(f"the provider returned an image over the {_mb(max_bytes)} MB limit")
    try:
        fmt = sniff(data)
    except errors.InvalidRequest:
        raise UnusableImage("the provider returned data that is not a PNG, JPEG or WebP") from None
    if declared_media_type is not None and _normalise_media_type(declared_media_type) != fmt:
        raise UnusableImage(
            f"the provider returned {fmt.upper()} data but declared a different media type"
        )
    try:
        width, height = _dimensions(fmt, data)
        _check_pixels(width, height, max_pixels)
        _check_structure(fmt, data)
    except _FORMAT_ERRORS:
        raise UnusableImage(
            "the provider returned an unusable image: its structure is broken"
        ) from None
    except _Bad as exc:
        raise UnusableImage(f"the provider returned an unusable image: {exc.message}") from None
    return MEDIA_TYPES[fmt], width, height


def _check_structure(fmt: str, data: bytes) -> None:
    """A provider's image passes through untouched, so its pixels need not be decoded (tens of
    milliseconds for a 1024² PNG): the container must be whole (PNG chunks to IEND, a RIFF
    size that fits, a JPEG ending in EOI) and not animated. Uploads are fully decoded."""
    if fmt == "png":
        types = {ctype for ctype, _, _ in _png.chunks(data)}
        if b"IDAT" not in types:
            raise _Bad("invalid_image", "it has no image data")
        if b"acTL" in types:
            raise _Bad("animated_image_not_supported", "animated images are not supported")
    elif fmt == "webp":
        if _webp.is_animated(data):
            raise _Bad("animated_image_not_supported", "animated images are not supported")
    elif not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise _Bad("invalid_image", "it is truncated")


def _to_srgb(im: Image.Image) -> Image.Image:
    """Convert pixels to sRGB if an ICC profile says otherwise, so the profile can be dropped."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA"):
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im
    return converted if converted is not None else im


def transcode(data: bytes, fmt: str, *, quality: int = 90) -> bytes:
    """Re-encode an image as ``"png"``, ``"jpeg"`` or ``"webp"`` with no metadata at all.

    For when a model cannot produce the requested format. JPEG has no alpha, so transparent
    images are composited onto white. ``data`` should already have passed
    :func:`validate_output`; the result carries no C2PA manifest (re-encoding cannot keep one).
    """
    if fmt not in _PIL_FORMATS:
        raise ValueError(f"unsupported target format {fmt!r}")
    try:
        with Image.open(io.BytesIO(data), formats=list(_PIL_FORMATS.values())) as src:
            src.load()
            im = _to_srgb(src)
            im = im.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise UnusableImage("the provider returned an image that could not be converted") from None
    has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    if fmt == "jpeg":
        if has_alpha:
            rgba = im.convert("RGBA")
            im = Image.new("RGB", im.size, (255, 255, 255))
            im.paste(rgba, mask=rgba.getchannel("A"))
        elif im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
    elif fmt == "webp" or im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I"):
        im = im.convert("RGBA" if has_alpha else "RGB")
    params: dict = {}
    if fmt == "png" and im.mode == "P" and "transparency" in im.info:
        params["transparency"] = im.info["transparency"]
    im.info = {}  # nothing from the source (comment, ICC, EXIF, XMP, text) is carried over
    if fmt in ("jpeg", "webp"):
        params["quality"] = quality
    buf = io.BytesIO()
    im.save(buf, format=_PIL_FORMATS[fmt], **params)
    return buf.getvalue()
