"""Upload/output hygiene: sniffing, caps, bombs, decode checks, lossless metadata stripping."""

from __future__ import annotations

import functools
import io
import random
import struct

import pytest
from PIL import Image, ImageCms, ImageFile, ImageOps, PngImagePlugin

from imagedesigner import errors
from imagedesigner.imaging import _jpeg, _png, _webp, hygiene
from imagedesigner.imaging.errors import UnusableImage

MB = 1024 * 1024
CAPS = {"max_bytes": 25 * MB, "max_pixels": 40_000_000}
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
    b'dc:creator="Jane Doe SECRET-XMP"/></rdf:RDF></x:xmpmeta>'
)


# --- fixture builders -----------------------------------------------------------------------


def _noise(size=(64, 48), mode="RGB", seed=1) -> Image.Image:
    rnd = random.Random(seed)
    bands = len(mode)
    return Image.frombytes(
        mode, size, bytes(rnd.randrange(256) for _ in range(size[0] * size[1] * bands))
    )


def _gradient(size=(64, 48)) -> Image.Image:
    im = Image.new("RGB", size)
    im.putdata(
        [(x * 4 % 256, y * 5 % 256, (x + y) % 256) for y in range(size[1]) for x in range(size[0])]
    )
    return im


def _save(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **params)
    return buf.getvalue()


def _gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "SECRET-MODEL-X"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 26.0)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 39.0)
    gps[0x12] = "SECRET-GPS-DATUM"  # GPSMapDatum: a searchable marker for the GPS IFD
    return exif


@functools.cache
def _srgb_icc() -> bytes:
    """Built once: a profile records the second it was made, so two builds can differ."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _insert_after_soi(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    seg = bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + seg + jpeg[2:]


def _decoded(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.mode, im.size, im.tobytes()


def _png_chunk_types(data: bytes) -> list[bytes]:
    return [ctype for ctype, _, _ in _png.chunks(data)]


def _riff_chunks(data: bytes) -> list[bytes]:
    return [fourcc for fourcc, _, _ in _webp.chunks(data)]


def _png_with_ihdr(width: int, height: int) -> bytes:
    """A tiny valid 1x1 PNG whose IHDR claims another size (a cheap bomb header)."""
    small = _save(Image.new("1", (1, 1)), "PNG")
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return small[:8] + _png.make_chunk(b"IHDR", ihdr) + small[33:]


@pytest.fixture(scope="module")
def private_jpeg() -> bytes:
    jpeg = _save(
        _noise(),
        "JPEG",
        quality=90,
        exif=_gps_exif().tobytes(),
        comment=b"SECRET-COMMENT shot at home",
        xmp=XMP,
        icc_profile=_srgb_icc(),
    )
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10\x1c\x02\x50\x00\x0cSECRET-IPTC!"
    jpeg = _insert_after_soi(jpeg, 0xED, iptc)  # APP13 IPTC
    return jpeg + b"SECRET-TRAILER appended after EOI"


# --- sniffing -------------------------------------------------------------------------------


def test_sniff_accepts_the_three_formats_by_magic_bytes():
    im = _noise((8, 8))
    assert hygiene.sniff(_save(im, "PNG")) == "png"
    assert hygiene.sniff(_save(im, "JPEG")) == "jpeg"
    assert hygiene.sniff(_save(im, "WEBP")) == "webp"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"<!DOCTYPE html><html><body>hi</body></html>",
        b"just some text, not an image\n",
        b'{"error": "oops"}',
        b"%PDF-1.7\n",
        pytest.param(_save(Image.new("RGB", (4, 4)), "GIF"), id="gif"),
        pytest.param(_save(Image.new("RGB", (4, 4)), "BMP"), id="bmp"),
        pytest.param(_save(Image.new("RGB", (4, 4)), "TIFF"), id="tiff"),
    ],
)
def test_unsupported_types_are_refused(data):
    with pytest.raises(errors.InvalidRequest) as exc:
        hygiene.sniff(data, param="mask")
    assert exc.value.code == "unsupported_image_type"
    assert exc.value.param == "mask"
    with pytest.raises(errors.InvalidRequest) as exc:
        hygiene.clean_upload(data, **CAPS, param="image[]")
    assert exc.value.code == "unsupported_image_type"
    assert exc.value.param == "image[]"
    assert exc.value.status == 400


def test_gif_message_is_clear_and_does_not_echo_bytes():
    with pytest.raises(errors.InvalidRequest) as exc:
        hygiene.sniff(_save(Image.new("RGB", (4, 4)), "GIF"))
    assert "GIF" in exc.value.message and "PNG, JPEG or WebP" in exc.value.message


def test_svg_renamed_png_content_is_judged_by_bytes():
    svg = b"<svg onload=alert(1)>"  # whatever name or Content-Type it came with
    with pytest.raises(errors.InvalidRequest) as exc:
        hygiene.clean_upload(svg, **CAPS)
    assert exc.value.code == "unsupported_image_type"


# --- size and pixel caps ----------------------------------------------------------------------


def test_oversize_upload_is_413_with_cap_in_mb():
    data = _save(_noise((8, 8)), "PNG")
    with pytest.raises(errors.PayloadTooLarge) as exc:
        hygiene.clean_upload(data + b"\0" * MB, max_bytes=MB, max_pixels=10**6)
    assert exc.value.status == 413
    assert "1 MB" in exc.value.message


def test_oversize_is_checked_before_sniffing():
    with pytest.raises(errors.PayloadTooLarge):
        hygiene.clean_upload(b"x" * 100, max_bytes=10, max_pixels=10)


def test_crafted_bomb_header_refused_before_decoding(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("decoder must not run")

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    bomb = _png_with_ihdr(20000, 20000)
    assert len(bomb) < 200
    with pytest.raises(errors.InvalidRequest) as exc:
        hygiene.clean_upload(bomb, **CAPS)
    assert exc.value.code == "image_too_large"


def test_real_small_file_bomb_refused(monkeypatch):
    bomb = _save(Image.new("1", (20000, 20000)), "PNG")
    assert len(bomb) < 1 * MB
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # our limit does not rely on Pillow's
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded a bomb"))
    with pytest.raises(errors.InvalidRequest) as exc:
        hygiene.clean_upload(bomb, **CAPS)
    assert exc.value.code == "image_too_large"
    with pytest.raises(UnusableImage):
        hygiene.validate_output(bomb, declared_media_type=None, **CAPS)


def test_pillow_bomb_error_is_mapped_not_a_500():
    # With a huge app cap Pillow's own DecompressionBombError fires on open: still a 400.
    with pytest.raises(errors.InvalidRequest) as exc:
        hygiene.clean_upload(_png_with_ihdr(20000, 20000), max_bytes=MB, max_pixels=10**12)
    assert exc.value.code == "image_too_large"


def test_pixel_cap_applies_to_jpeg_and_webp_headers():
    for fmt in ("JPEG", "WEBP"):
        data = _save(_noise((100, 100)), fmt)
        with pytest.raises(errors.InvalidRequest) as exc:
            hygiene.clean_upload(data, max_bytes=MB, max_pixels=9_999)
        assert exc.value.code == "image_too_large"
        assert hygiene.clean_upload(data, max_bytes=MB, max_pixels=10_000).width == 100


# --- decode checks ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_images_are_invalid(fmt):
    data = _save(_noise((128, 96)), fmt)
    with pytest.raises(errors.InvalidRequest) as exc:
        hygiene.clean_upload(data[: len(data) // 2], **CAPS)
    assert exc.value.code == "invalid_image"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_magic_bytes_only_is_invalid():
    for data in (b"\xff\xd8\xff\xe0", _png.SIGNATURE, b"RIFF\x04\x00\x00\x00WEBP"):
        with pytest.raises(errors.InvalidRequest) as exc:
            hygiene.clean_upload(data, **CAPS)
        assert exc.value.code == "invalid_image"


def test_animated_webp_and_apng_refused():
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "green", "blue")]
    for fmt in ("WEBP", "PNG"):
        data = _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
        with pytest.raises(errors.InvalidRequest) as exc:
            hygiene.clean_upload(data, **CAPS)
        assert exc.value.code == "animated_image_not_supported", fmt


# --- JPEG ------------------------------------------------------------------------------------


def test_jpeg_metadata_stripped_losslessly(private_jpeg):
    with Image.open(io.BytesIO(private_jpeg)) as im:  # the fixture really carries it all
        assert im.getexif().get_ifd(0x8825)
        assert "comment" in im.info and "xmp" in im.info
    result = hygiene.clean_upload(private_jpeg, **CAPS)
    out = result.data
    assert (result.media_type, result.width, result.height) == ("image/jpeg", 64, 48)
    for needle in (b"Exif", b"SECRET", b"PhoneMaker", b"http://ns.adobe.com/xap", b"xmpmeta"):
        assert needle not in out, needle
    assert b"Photoshop 3.0" not in out and b"8BIM" not in out
    markers = [m for m, _ in _jpeg.segment_markers(out)]
    assert 0xFE not in markers
    assert all(m in (0xE0, 0xE2) for m in markers if 0xE0 <= m <= 0xEF)
    assert out.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(out)) as im:
        assert len(im.getexif()) == 0
        assert not {"exif", "xmp", "comment", "photoshop"} & set(im.info)
        assert im.info.get("icc_profile") == _srgb_icc()  # ICC kept for colour fidelity
    assert _decoded(out) == _decoded(private_jpeg)  # pixels identical: nothing re-encoded
    sos = private_jpeg.index(b"\xff\xda")
    assert (
        out[out.index(b"\xff\xda") :] == private_jpeg[sos : private_jpeg.index(b"SECRET-TRAILER")]
    )


def test_jpeg_keeps_adobe_app14_and_drops_jfxx_thumbnail():
    cmyk = _save(_noise((16, 16), mode="CMYK"), "JPEG")
    assert b"Adobe" in cmyk
    jfxx = _insert_after_soi(cmyk, 0xE0, b"JFXX\x00\x10thumbnail-bytes")
    out = hygiene.clean_upload(jfxx, **CAPS).data
    assert b"Adobe" in out and b"JFXX" not in out
    assert _decoded(out) == _decoded(cmyk)


def test_jpeg_orientation_applied_and_exif_removed():
    im = Image.new("RGB", (40, 20), "red")
    im.paste((0, 0, 255), (20, 0, 40, 20))  # left red, right blue
    data = _save(im, "JPEG", quality=95, exif=_gps_exif(orientation=6).tobytes())
    result = hygiene.clean_upload(data, **CAPS)
    assert (result.width, result.height) == (20, 40)
    assert b"Exif" not in result.data and b"SECRET" not in result.data
    with Image.open(io.BytesIO(result.data)) as out:
        assert out.size == (20, 40)
        assert len(out.getexif()) == 0
        top, bottom = out.getpixel((10, 5)), out.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60  # orientation 6: left edge becomes the top
    assert bottom[2] > 200 and bottom[0] < 60
    with Image.open(io.BytesIO(data)) as src:
        expected = ImageOps.exif_transpose(src)
    assert expected.size == (20, 40)


def test_jpeg_orientation_in_xmp_only_is_applied():
    xmp = b'<x:xmpmeta><rdf:Description tiff:Orientation="8"/></x:xmpmeta>'
    data = _save(Image.new("RGB", (30, 10), "white"), "JPEG", xmp=xmp)
    result = hygiene.clean_upload(data, **CAPS)
    assert (result.width, result.height) == (10, 30)
    assert b"xmpmeta" not in result.data


@pytest.mark.parametrize(
    "params", [{"progressive": True}, {"restart_marker_blocks": 2}, {"subsampling": 0}]
)
def test_jpeg_progressive_and_restart_markers_stay_lossless(params):
    src = _save(_noise((96, 64)), "JPEG", quality=85, comment=b"SECRET", **params)
    out = hygiene.clean_upload(src, **CAPS).data
    assert b"SECRET" not in out
    assert _decoded(out) == _decoded(src)
    if params.get("progressive"):
        assert [m for m, _ in _jpeg.segment_markers(out)].count(0xDA) > 1


def test_jpeg_mpo_keeps_only_the_primary_image():
    primary, secondary = _noise((32, 24), seed=2), _noise((32, 24), seed=3)
    mpo = _save(primary, "MPO", save_all=True, append_images=[secondary])
    with Image.open(io.BytesIO(mpo)) as im:
        assert im.n_frames == 2
    result = hygiene.clean_upload(mpo, **CAPS)
    assert (result.media_type, result.width, result.height) == ("image/jpeg", 32, 24)
    assert result.data.count(b"\xff\xd8") == 1 and b"MPF" not in result.data
    with Image.open(io.BytesIO(result.data)) as im:
        assert getattr(im, "n_frames", 1) == 1
    with Image.open(io.BytesIO(mpo)) as im:
        im.load()
        assert _decoded(result.data)[2] == im.tobytes()


# --- PNG --------------------------------------------------------------------------------------


def test_png_text_and_exif_chunks_stripped_losslessly():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane")
    info.add_text("Location", "GPS 51.5074 N, 0.1278 W", zip=True)  # zTXt
    info.add_itxt("Description", "SECRET-ITXT at home", lang="en", tkey="Beschreibung")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    src = _save(_noise(), "PNG", pnginfo=info, exif=_gps_exif().tobytes(), icc_profile=_srgb_icc())
    # add tIME, C2PA caBX and an unknown private chunk by hand, after IHDR, plus a trailer
    extra = (
        _png.make_chunk(b"tIME", struct.pack(">HBBBBB", 2025, 1, 2, 3, 4, 5))
        + _png.make_chunk(b"caBX", b"jumbf-claim-by Jane Doe")
        + _png.make_chunk(b"prVt", b"SECRET-PRIVATE")
    )
    src = src[:33] + extra + src[33:] + b"SECRET-TRAILER"
    types = set(_png_chunk_types(src))
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"caBX", b"iCCP"} <= types

    result = hygiene.clean_upload(src, **CAPS)
    out = result.data
    assert (result.media_type, result.width, result.height) == ("image/png", 64, 48)
    assert set(_png_chunk_types(out)) <= _png.KEEP
    assert set(_png_chunk_types(out)) == {b"IHDR", b"iCCP", b"IDAT", b"IEND"}
    for needle in (b"Jane", b"SECRET", b"GPS", b"Exif", b"xmpmeta", b"caBX"):
        assert needle not in out, needle
    assert out.endswith(_png.make_chunk(b"IEND", b""))
    idat = [src[s:e] for t, s, e in _png.chunks(src) if t == b"IDAT"]
    assert idat == [out[s:e] for t, s, e in _png.chunks(out) if t == b"IDAT"]
    assert _decoded(out) == _decoded(src)
    with Image.open(io.BytesIO(out)) as im:
        assert len(im.getexif()) == 0
        assert not {"Author", "Location", "Description", "exif", "xmp"} & set(im.info)


def test_png_palette_transparency_kept():
    im = Image.new("P", (8, 8))
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (0, 0, 4, 8))
    src = _save(im, "PNG", transparency=0)
    out = hygiene.clean_upload(src, **CAPS).data
    assert {b"PLTE", b"tRNS"} <= set(_png_chunk_types(out))
    assert _decoded(out) == _decoded(src)


def test_png_exif_orientation_applied_losslessly():
    im = _noise((10, 6))
    src = _save(im, "PNG", exif=_gps_exif(orientation=3).tobytes())
    result = hygiene.clean_upload(src, **CAPS)
    assert b"eXIf" not in result.data and b"SECRET" not in result.data
    assert _decoded(result.data)[2] == im.transpose(Image.Transpose.ROTATE_180).tobytes()


# --- WebP -------------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"lossless": True}, {"quality": 80}])
def test_webp_exif_and_xmp_stripped(params):
    src = _save(_noise(), "WEBP", exif=_gps_exif().tobytes(), xmp=XMP, **params)
    assert {b"EXIF", b"XMP "} <= set(_riff_chunks(src))
    result = hygiene.clean_upload(src, **CAPS)
    out = result.data
    assert (result.media_type, result.width, result.height) == ("image/webp", 64, 48)
    assert not {b"EXIF", b"XMP "} & set(_riff_chunks(out))
    for needle in (b"SECRET", b"Exif", b"xmpmeta"):
        assert needle not in out
    assert struct.unpack("<I", out[4:8])[0] == len(out) - 8
    chunks = _webp.chunks(out)
    if chunks[0][0] == b"VP8X":
        assert out[chunks[0][1]] & 0x0C == 0
    assert _decoded(out) == _decoded(src)
    with Image.open(io.BytesIO(out)) as im:
        assert len(im.getexif()) == 0 and "xmp" not in im.info


def test_webp_with_alpha_keeps_alpha():
    src = _save(_noise(mode="RGBA"), "WEBP", quality=80, exif=_gps_exif().tobytes())
    out = hygiene.clean_upload(src, **CAPS).data
    assert b"ALPH" in out or b"VP8L" in out
    assert _decoded(out) == _decoded(src)


# --- outputs ----------------------------------------------------------------------------------


def _png_with_c2pa() -> bytes:
    png = _save(_gradient(), "PNG")
    return png[:33] + _png.make_chunk(b"caBX", b"\x00\x00\x00\x10jumbc2pa-manifest") + png[33:]


def test_validate_output_keeps_c2pa_png_untouched():
    data = _png_with_c2pa()
    before = bytes(data)
    assert hygiene.validate_output(
        data, declared_media_type="image/png", max_bytes=MB, max_pixels=10**6
    ) == ("image/png", 64, 48)
    assert data == before and b"caBX" in data


def test_validate_output_accepts_jpeg_with_app11_jumbf():
    jpeg = _insert_after_soi(_save(_gradient(), "JPEG"), 0xEB, b"JP\x00\x01jumbc2pa")
    assert hygiene.validate_output(
        jpeg, declared_media_type="image/jpg", max_bytes=MB, max_pixels=10**6
    ) == ("image/jpeg", 64, 48)


def test_validate_output_rejects_declared_mismatch():
    with pytest.raises(UnusableImage) as exc:
        hygiene.validate_output(
            _png_with_c2pa(), declared_media_type="image/jpeg", max_bytes=MB, max_pixels=10**6
        )
    assert exc.value.message.startswith("the provider returned")


@pytest.mark.parametrize(
    "data",
    [b"<html><body>502 Bad Gateway</body></html>", b'{"error":{"message":"x"}}', b""],
)
def test_validate_output_rejects_non_images_without_echo(data):
    with pytest.raises(UnusableImage) as exc:
        hygiene.validate_output(data, declared_media_type=None, max_bytes=MB, max_pixels=10**6)
    assert exc.value.status == 502
    assert exc.value.code == "bad_upstream_response"
    if data:
        assert data.decode()[:12] not in exc.value.message


def test_validate_output_rejects_oversize_truncated_and_too_many_pixels():
    png = _save(_noise((128, 96)), "PNG")
    for kwargs in (
        {"data": png, "max_bytes": 100, "max_pixels": 10**6},
        {"data": png[: len(png) // 2], "max_bytes": MB, "max_pixels": 10**6},
        {"data": png, "max_bytes": MB, "max_pixels": 1000},
    ):
        with pytest.raises(UnusableImage):
            hygiene.validate_output(declared_media_type=None, **kwargs)


# --- transcode / dimensions -------------------------------------------------------------------


@pytest.mark.parametrize("src_fmt", ["PNG", "JPEG", "WEBP"])
@pytest.mark.parametrize("dst", ["png", "jpeg", "webp"])
def test_transcode_round_trips(src_fmt, dst):
    src = _save(_gradient(), src_fmt, quality=95) if src_fmt != "PNG" else _png_with_c2pa()
    out = hygiene.transcode(src, dst, quality=92)
    assert hygiene.sniff(out) == dst
    assert hygiene.image_dimensions(out) == (64, 48)
    hygiene.validate_output(out, declared_media_type=dst, max_bytes=MB, max_pixels=10**6)
    with Image.open(io.BytesIO(out)) as im:
        assert len(im.getexif()) == 0
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(im.info)
        r, g, b = im.convert("RGB").getpixel((10, 10))
    assert abs(r - 40) < 12 and abs(g - 50) < 12 and abs(b - 20) < 12
    assert b"caBX" not in out


def test_transcode_rgba_to_jpeg_composites_onto_white():
    im = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (0, 0, 4, 8))
    out = hygiene.transcode(_save(im, "PNG"), "jpeg")
    with Image.open(io.BytesIO(out)) as j:
        assert j.mode == "RGB"
        assert all(c > 240 for c in j.getpixel((7, 4)))
        assert j.getpixel((1, 4))[0] > 200 and j.getpixel((1, 4))[1] < 40


def test_transcode_strips_source_metadata_and_rejects_bad_format():
    src = _save(_noise(), "JPEG", exif=_gps_exif().tobytes(), comment=b"SECRET", xmp=XMP)
    for fmt in ("png", "jpeg", "webp"):
        out = hygiene.transcode(src, fmt)
        assert b"SECRET" not in out and b"Exif" not in out
    with pytest.raises(ValueError):
        hygiene.transcode(src, "gif")


def test_image_dimensions_from_headers():
    assert hygiene.image_dimensions(_png_with_ihdr(30000, 20000)) == (30000, 20000)
    for fmt, params in (("JPEG", {}), ("WEBP", {}), ("WEBP", {"lossless": True})):
        assert hygiene.image_dimensions(_save(_noise((33, 17)), fmt, **params)) == (33, 17)
    vp8x = _save(_noise((33, 17), mode="RGBA"), "WEBP", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00")
    assert _riff_chunks(vp8x)[0] == b"VP8X"
    assert hygiene.image_dimensions(vp8x) == (33, 17)
    with pytest.raises(errors.InvalidRequest):
        hygiene.image_dimensions(b"GIF89a")


def test_zlib_bomb_idat_does_not_exhaust_memory():
    # 4000x4000 RGB of zeros compresses to a few KB; under the cap it decodes fine.
    data = _save(Image.new("RGB", (4000, 4000)), "PNG")
    assert len(data) < 200_000
    result = hygiene.clean_upload(data, max_bytes=MB, max_pixels=16_000_000)
    assert (result.width, result.height) == (4000, 4000)


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda png, jpeg, webp: png[: len(png) // 2], id="png cut in half"),
        pytest.param(
            lambda png, jpeg, webp: png[:33] + _png.make_chunk(b"acTL", bytes(8)) + png[33:],
            id="apng",
        ),
        pytest.param(lambda png, jpeg, webp: png[:33] + png[-12:], id="png without IDAT"),
        pytest.param(lambda png, jpeg, webp: jpeg[:-2], id="jpeg without EOI"),
        pytest.param(lambda png, jpeg, webp: webp[: len(webp) - 7], id="webp cut short"),
    ],
)
def test_validate_output_checks_the_container_without_decoding_pixels(broken):
    png, jpeg = _save(_gradient(), "PNG"), _save(_gradient(), "JPEG")
    webp = _save(_gradient(), "WEBP")
    for whole in (png, jpeg, webp):
        assert hygiene.validate_output(whole, declared_media_type=None, **CAPS)[1:] == (64, 48)
    with pytest.raises(UnusableImage):
        hygiene.validate_output(broken(png, jpeg, webp), declared_media_type=None, **CAPS)
