"""Generations and edits share one parameter model (``ImageParams``): the JSON body and the
multipart form's text fields obey the same rules, written once. JSON is strict; form fields
are text, so digit strings and true/false are read as numbers and booleans first."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from imagedesigner.api import edits, images
from imagedesigner.api.schemas import ImageParams


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 0, 255)).save(buf, "PNG")
    return buf.getvalue()


async def edit(client, auth, **fields):
    return await client.post(
        "/v1/images/edits",
        data={"prompt": "x", "size": "256x256", **fields},
        files={"image": ("a.png", png(), "image/png")},
        headers=auth,
    )


async def generation(client, auth, **fields):
    body = {"prompt": "x", "size": "256x256", **fields}
    return await client.post("/v1/images/generations", json=body, headers=auth)


# the same refusal, with the same param, from the JSON body and from the form
SAME_RULE = [
    ("seed", 2**32, str(2**32)),
    ("seed", -1, "-1"),
    ("n", 0, "0"),
    ("n", 11, "11"),
    ("response_format", "gif", "gif"),
    ("output_format", "gif", "gif"),
    ("size", "9" * 201, "9" * 201),
    ("model", "m" * 201, "m" * 201),
    ("stream", 0.0, "maybe"),
    ("partial_images", 4, "4"),
    ("output_compression", 101, "101"),
    ("bogus", 1, "1"),
]


@pytest.mark.parametrize(("name", "json_value", "form_value"), SAME_RULE)
async def test_json_and_form_refuse_alike(client, auth, name, json_value, form_value):
    a = await generation(client, auth, **{name: json_value})
    b = await edit(client, auth, **{name: form_value})
    assert a.status_code == b.status_code == 400, (a.text, b.text)
    assert a.json()["error"]["param"] == b.json()["error"]["param"] == name
    assert a.json()["error"]["message"] == b.json()["error"]["message"]


async def test_form_numbers_and_booleans_are_read_from_text(client, auth):
    r = await edit(client, auth, n="2", seed="7", stream="false", output_format="webp")
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 2 and r.json()["output_format"] == "webp"
    r = await edit(client, auth, n="two")
    assert r.status_code == 400 and r.json()["error"]["param"] == "n"


@pytest.mark.parametrize("value", [0, 0.0, 1, "false", "true", []])
async def test_json_stream_is_a_strict_boolean(client, auth, value):
    r = await generation(client, auth, stream=value)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "stream"


async def test_json_stream_false_is_fine(client, auth):
    assert (await generation(client, auth, stream=False)).status_code == 200


async def test_edits_form_is_parsed_into_the_same_model():
    """One model: edits no longer re-implements the fields or imports helpers from images."""
    assert images.ImageParams is edits.ImageParams is ImageParams
    assert not hasattr(edits, "TEXT_FIELDS") and not hasattr(edits, "_int")
    params = ImageParams.from_form({"prompt": "x", "n": "3", "seed": "", "stream": "False"})
    assert (params.n, params.seed, params.stream) == (3, None, False)
    with pytest.raises(ValueError, match="valid integer"):
        ImageParams.model_validate({"prompt": "x", "n": "3"})  # JSON stays strict
