"""OpenAI compatibility, round two, as the official Python SDK (the pinned ``openai``) meets it
over real HTTP: keys checked on /v1/models, url results that open with a plain GET, n=2,
JPEG/WebP compression, edits (multipart and JSON, one image, several, a mask), variations
refused clearly, validation as OpenAI's, and ``x-request-id`` found in the request log."""

from __future__ import annotations

import base64

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types import ImagesResponse

from tests.api.compat_helpers import (
    data_url,
    image_of,
    live_account,
    logged_request_ids,
    mask_png,
    png,
)

SKETCH = "local/sketch"


@pytest.fixture
def live(tmp_path):
    with live_account(tmp_path / "data") as (server, key, settings):
        client = OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
        ids: list[str] = []
        yield server, key, client, ids
    assert ids and set(ids) <= logged_request_ids(settings), "every x-request-id is in the log"


def test_generate_b64_and_url_and_open_the_url_without_a_key(live):
    server, key, client, ids = live
    result = client.images.generate(model=SKETCH, prompt="a sun over hills", size="512x512")
    ids.append(result._request_id)
    assert result._request_id.startswith("req_")
    assert image_of(base64.b64decode(result.data[0].b64_json)).size == (512, 512)
    assert (result.output_format, result.size) == ("png", "512x512")

    result = client.images.generate(
        model=SKETCH, prompt="a cat under the moon", size="256x256", response_format="url", n=2
    )
    ids.append(result._request_id)
    assert len(result.data) == 2 and len({d.url for d in result.data}) == 2
    for datum in result.data:
        plain = httpx.get(datum.url)  # no key, no cookie
        assert plain.status_code == 200, plain.text
        assert plain.headers["cache-control"] == "private, no-store"
        assert plain.headers["referrer-policy"] == "no-referrer"
        assert image_of(plain.content).size == (256, 256)
        ids.append(plain.headers["x-request-id"])
    # the owner's authenticated path keeps working; without the key it does not
    owner = result.data[0].url.split("?")[0]
    assert httpx.get(owner, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert httpx.get(owner).status_code == 401
    # a changed signature or expiry is refused
    tampered = result.data[0].url.replace("expires=", "expires=9")
    assert httpx.get(tampered).status_code == 403


def test_jpeg_and_webp_at_two_compressions_differ(live):
    _, _, client, ids = live
    for fmt in ("jpeg", "webp"):
        made = {}
        for level in (20, 95):
            result = client.images.generate(
                model=SKETCH,
                prompt="a red house under stars",
                size="256x256",
                output_format=fmt,
                output_compression=level,
            )
            ids.append(result._request_id)
            assert result.output_format == fmt
            data = base64.b64decode(result.data[0].b64_json)
            assert image_of(data).format == {"jpeg": "JPEG", "webp": "WEBP"}[fmt]
            made[level] = data
        assert made[20] != made[95], fmt
        assert len(made[20]) < len(made[95]), "more compression, fewer bytes"


def test_edits_multipart_and_json(live):
    server, _, client, ids = live
    one = client.images.edit(model=SKETCH, image=("a.png", png(), "image/png"), prompt="a hat")
    ids.append(one._request_id)
    assert len(one.data) == 1 and image_of(base64.b64decode(one.data[0].b64_json))
    several = client.images.edit(
        model=SKETCH,
        image=[("a.png", png(), "image/png"), ("b.png", png(colour=(0, 0, 255, 255)), "image/png")],
        mask=("m.png", mask_png(), "image/png"),
        prompt="a blue sky",
        response_format="url",
    )
    ids.append(several._request_id)
    assert httpx.get(several.data[0].url).status_code == 200

    # OpenAI's JSON edit body, sent through the SDK's own client
    body = {
        "model": SKETCH,
        "prompt": "a hat",
        "images": [{"image_url": data_url(png())}, {"image_url": data_url(png())}],
        "mask": {"image_url": data_url(mask_png())},
    }
    as_json = client.post("/images/edits", body=body, cast_to=ImagesResponse)
    ids.append(as_json._request_id)
    assert image_of(base64.b64decode(as_json.data[0].b64_json)).format == "PNG"
    single = client.post(
        "/images/edits",
        body={"model": SKETCH, "prompt": "x", "images": [{"image_url": data_url(png())}]},
        cast_to=ImagesResponse,
    )
    assert len(single.data) == 1
    with pytest.raises(openai.BadRequestError) as remote:
        client.post(
            "/images/edits",
            body={"prompt": "x", "images": [{"image_url": "https://example.com/a.png"}]},
            cast_to=ImagesResponse,
        )
    assert "remote URLs are not fetched" in remote.value.body["message"]
    assert remote.value.body["param"] == "images"
    with pytest.raises(openai.BadRequestError) as junk:
        client.post(
            "/images/edits",
            body={"prompt": "x", "images": [{"image_url": data_url(b"not an image")}]},
            cast_to=ImagesResponse,
        )
    assert junk.value.body["code"] == "unsupported_image_type"


def test_models_with_a_good_and_a_bad_key(live):
    server, _, client, ids = live
    models = client.models.list()
    assert "local/sketch" in [m.id for m in models.data]
    assert client.models.retrieve("local/sketch").id == "local/sketch"
    for bad in ("idk_nope", "sk-not-a-key-of-ours"):
        wrong = OpenAI(base_url=f"{server.url}/v1", api_key=bad, max_retries=0)
        with pytest.raises(openai.AuthenticationError) as info:
            wrong.models.list()
        assert info.value.status_code == 401 and info.value.request_id.startswith("req_")
        ids.append(info.value.request_id)
    with pytest.raises(openai.NotFoundError) as retired:
        client.models.retrieve("dall-e-3")
    assert retired.value.body["code"] == "model_not_found"


def test_variation_gets_a_clear_error(live):
    _, _, client, ids = live
    with pytest.raises(openai.BadRequestError) as info:
        client.images.create_variation(image=("a.png", png(), "image/png"), n=1)
    assert info.value.status_code == 400
    assert "variations are not supported" in info.value.body["message"].lower()
    assert info.value.body["code"] == "variations_not_supported"
    ids.append(info.value.request_id)


def test_parameters_validated_as_openai_does(live):
    _, _, client, ids = live
    for field, value in (
        ("background", "sparkly"),
        ("quality", "ultra"),
        ("moderation", "none"),
        ("output_compression", 150),
        ("output_compression", -1),
        ("style", "gritty"),
        ("input_fidelity", "medium"),
    ):
        # input_fidelity is an edit parameter in the SDK: sent as extra_body to generations
        kw = {"extra_body": {field: value}} if field == "input_fidelity" else {field: value}
        with pytest.raises(openai.BadRequestError) as info:
            client.images.generate(model=SKETCH, prompt="x", **kw)
        assert info.value.body["param"] == field, (field, value)
        ids.append(info.value.request_id)
    # both end-user ids are accepted, and reported as not forwarded
    result = client.images.generate(
        model=SKETCH,
        prompt="a dog",
        size="256x256",
        safety_identifier="end-user-1",
        user="end-user-1",
        moderation="low",
        extra_body={"input_fidelity": "high"},
    )
    ids.append(result._request_id)
    warned = {w["param"]: w["type"] for w in result.model_extra["warnings"]}
    assert warned["safety_identifier"] == warned["user"] == "approximated"
    assert warned["moderation"] == warned["input_fidelity"] == "ignored"
    raw = client.images.with_raw_response.generate(model=SKETCH, prompt="a dog", style="vivid")
    assert "style=ignored" in raw.headers["x-imagedesigner-warnings"]
    ids.append(raw.request_id)


def test_usage_echo_and_passed_parameters_with_openai(tmp_path):
    """Through the SDK to our server to a fake OpenAI: OpenAI's usage and its echo fields come
    back; output_compression, moderation and input_fidelity reach it; no end-user id does,
    only the account's HMAC."""
    from tests.api.test_openai_sdk import LiveServer, create_key
    from tests.conftest import make_settings
    from tests.providers.conftest import OPENAI_KEY
    from tests.providers.fakes import fake_openai
    from tests.providers.fakes._common import FakeState, LoopbackServer

    state = FakeState()
    with LoopbackServer(fake_openai.make_app(state, OPENAI_KEY)) as fake:
        settings = make_settings(
            tmp_path / "data", openai_api_key=OPENAI_KEY, openai_base_url=f"{fake.url}/v1"
        )
        key = create_key(settings)
        with LiveServer(settings) as server:
            client = OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
            made = client.images.generate(
                model="openai/gpt-image-1.5",
                prompt="a lighthouse",
                n=2,
                size="1536x1024",
                quality="high",
                background="opaque",
                output_format="jpeg",
                output_compression=55,
                moderation="low",
                safety_identifier="alice@example.com",
            )
            sent = state.last("POST").json
            edited = client.images.edit(
                model="openai/gpt-image-1.5",
                image=("a.png", png(), "image/png"),
                prompt="a hat",
                input_fidelity="high",
                user="alice@example.com",
            )
            form = state.last("POST").form
    assert made.usage.total_tokens == 4172 and made.usage.input_tokens_details.text_tokens == 12
    assert (made.quality, made.background, made.output_format, made.size) == (
        "high",
        "opaque",
        "jpeg",
        "1536x1024",
    )
    assert (sent["output_compression"], sent["moderation"]) == (55, "low")
    assert sent["safety_identifier"] != "alice@example.com" and "user" not in sent
    assert form["input_fidelity"] == ["high"] and "user" not in form
    assert form["safety_identifier"] == [sent["safety_identifier"]], "one HMAC per account"
    assert "alice@example.com" not in str(sent) + str(form)
    assert edited.usage.total_tokens == 4172
