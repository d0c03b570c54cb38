"""POST /v1/images/edits: OpenAI multipart, upload hygiene, nothing stored on refusal."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from imagedesigner.db.models import Generation
from tests.conftest import files_under

CANARY = b"canary-secret-location-comment"


def jpeg_with_gps_and_comment() -> bytes:
    im = Image.new("RGB", (320, 240), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CanaryCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 36.0)
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, comment=CANARY, quality=90)
    return buf.getvalue()


def png(size=(256, 256), color=(0, 0, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


async def generation_count(container) -> int:
    async with container.sessions() as s:
        return (await s.execute(select(func.count()).select_from(Generation))).scalar_one()


async def test_edit_with_local_sketch_blends_input(client, auth):
    r = await client.post(
        "/v1/images/edits",
        data={"prompt": "add a moon", "model": "local/sketch", "size": "256x256"},
        files={"image": ("in.png", png(color=(255, 0, 0)), "image/png")},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    out = Image.open(io.BytesIO(base64.b64decode(r.json()["data"][0]["b64_json"]))).convert("RGB")
    assert out.size == (256, 256)
    red = sum(p[0] - p[2] for p in out.resize((16, 16)).getdata())
    assert red > 0, "the red input shows through"


async def test_edit_repeated_image_array_and_mask(client, auth):
    mask = Image.new("RGBA", (256, 256), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 128, 256))
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    r = await client.post(
        "/v1/images/edits",
        data={"prompt": "a tree", "size": "256x256", "response_format": "url"},
        files=[
            ("image[]", ("a.png", png(), "image/png")),
            ("image[]", ("b.png", png(color=(0, 255, 0)), "image/png")),
            ("mask", ("m.png", buf.getvalue(), "image/png")),
        ],
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["url"].startswith("http://testserver/v1/images/")


def bomb_png() -> bytes:
    buf = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buf, "PNG")
    return buf.getvalue()


REFUSED = [
    ("bomb.png", bomb_png, "image_too_large"),
    (
        "x.svg",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
        "unsupported_image_type",
    ),
    ("trunc.png", lambda: png()[:200], "invalid_image"),
    ("notes.png", lambda: b"just some text, not an image at all", "unsupported_image_type"),
]


@pytest.mark.parametrize(("name", "make", "code"), REFUSED)
async def test_bad_uploads_refused_with_400_and_nothing_stored(
    client, auth, container, name, make, code
):
    r = await client.post(
        "/v1/images/edits",
        data={"prompt": "edit", "response_format": "url"},
        files={"image": (name, make(), "image/png")},
        headers=auth,
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code
    assert await generation_count(container) == 0
    assert [
        p for p in files_under(container.settings.resolved_blob_dir()) if not p.name.startswith(".")
    ] == []


async def test_edit_errors(client, auth):
    r = await client.post("/v1/images/edits", data={"prompt": "x"}, headers=auth)
    assert r.status_code == 400
    r = await client.post(
        "/v1/images/edits",
        data={"prompt": "x"},
        files={"image": ("a.png", png(), "image/png")},
        headers=auth,
    )
    assert r.status_code == 200
    r = await client.post(
        "/v1/images/edits",
        files={"image": ("a.png", png(), "image/png")},
        headers=auth,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
    r = await client.post(
        "/v1/images/edits",
        data={"prompt": "x", "n": "lots"},
        files={"image": ("a.png", png(), "image/png")},
        headers=auth,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "n"
    r = await client.post("/v1/images/edits", json={"prompt": "x"}, headers=auth)
    assert r.status_code == 400


async def test_upload_metadata_never_reaches_the_provider(client, auth, container, monkeypatch):
    from imagedesigner.providers.local import LocalProvider

    seen: list = []
    real = LocalProvider.generate

    async def spy(self, model, request, **kw):
        seen.extend(request.images)
        return await real(self, model, request, **kw)

    monkeypatch.setattr(LocalProvider, "generate", spy)
    r = await client.post(
        "/v1/images/edits",
        data={"prompt": "x", "response_format": "url"},
        files={"image": ("gps.jpg", jpeg_with_gps_and_comment(), "image/jpeg")},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    sent = seen[0].data
    assert b"Exif" not in sent and CANARY not in sent and b"CanaryCam" not in sent
    for p in files_under(container.settings.data_dir):
        assert CANARY not in p.read_bytes() and b"CanaryCam" not in p.read_bytes()
