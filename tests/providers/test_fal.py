"""fal.ai adapter against the fake queue API: headers, inputs, queue progress, cancel, results."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json

import httpx
import pytest

from imagedesigner.providers import fal
from imagedesigner.providers.base import (
    ImageInput,
    ImageRequest,
    ProviderBadResponse,
    ProviderContentRefused,
    ProviderError,
    running,
)
from imagedesigner.providers.registry import create_provider

from .conftest import FAL_KEY, make_settings
from .fakes import fake_fal
from .fakes._common import image_bytes


def _provider(state, clock, **settings):
    app = fake_fal.make_app(state, FAL_KEY)
    return create_provider(
        "fal",
        make_settings(**settings),
        transport=httpx.ASGITransport(app=app),
        poll_interval=0.001,
    )


def _model(model_id: str):
    return next(m for m in fal.MODELS if m.id == model_id)


def _queue_requests(state):
    return [r for r in state.requests if not r.path.startswith("/cdn/")]


async def test_flux_flow_headers_inputs_and_progress(state, clock):
    provider = _provider(state, clock)
    events = []

    async def progress(event):
        events.append(event)

    req = ImageRequest(prompt="a fox", n=2, size=(768, 512), seed=7, output_format="jpeg")
    result = await provider.generate(_model("fal/flux-dev"), req, progress=progress)
    submit = state.requests[0]
    assert submit.method == "POST" and submit.url == "http://fake-fal-queue/fal-ai/flux/dev"
    assert submit.json == {
        "prompt": "a fox",
        "num_images": 2,
        "image_size": {"width": 768, "height": 512},
        "seed": 7,
        "output_format": "jpeg",
        "sync_mode": True,
    }
    for r in _queue_requests(state):
        assert r.headers["authorization"] == f"Key {FAL_KEY}"
        assert r.headers["x-fal-store-io"] == "0"
        lifecycle = json.loads(r.headers["x-fal-object-lifecycle-preference"])
        assert lifecycle == {"expiration_duration_seconds": fal.CDN_EXPIRY_SECONDS}
    paths = [
        (r.method, r.path, r.url.split("?")[1] if "?" in r.url else "") for r in state.requests
    ]
    assert paths[1] == (
        "GET",
        "/fal-ai/flux/requests/req-" + paths[1][1].split("req-")[1],
        "logs=1",
    )
    assert paths[-1][0] == "GET" and paths[-1][1].endswith(paths[1][1].rsplit("/", 1)[0])
    assert events == [
        {"stage": "queued", "position": 3},
        {"stage": "queued", "position": 2},
        {"stage": "queued", "position": 1},
        running(),
    ]
    assert len(result.images) == 2
    img = result.images[0]
    assert (img.media_type, img.width, img.height, img.seed) == ("image/jpeg", 768, 512, 7)
    assert not any(r.method == "PUT" for r in state.requests)


async def test_edit_uses_data_uris_never_uploads(state, clock):
    provider = _provider(state, clock)
    data = image_bytes(32, 32, "png")
    one = ImageInput(data, "image/png", 32, 32)
    await provider.generate(
        _model("fal/nano-banana"), ImageRequest(prompt="hat", images=(one, one), aspect_ratio="3:2")
    )
    submit = state.requests[0]
    assert submit.url == "http://fake-fal-queue/fal-ai/nano-banana/edit"
    assert (
        submit.json["image_urls"]
        == [f"data:image/png;base64,{base64.b64encode(data).decode()}"] * 2
    )
    assert submit.json["aspect_ratio"] == "3:2" and submit.json["sync_mode"] is True
    assert all("storage" not in r.url and "upload" not in r.url for r in state.requests)
    # kontext: one image → image_url on the edit endpoint; several → the multi endpoint
    await provider.generate(_model("fal/flux-pro-kontext"), ImageRequest(prompt="x", images=(one,)))
    assert state.last("POST").url == "http://fake-fal-queue/fal-ai/flux-pro/kontext"
    assert state.last("POST").json["image_url"].startswith("data:image/png;base64,")
    await provider.generate(
        _model("fal/flux-pro-kontext"), ImageRequest(prompt="x", images=(one, one))
    )
    assert state.last("POST").url == "http://fake-fal-queue/fal-ai/flux-pro/kontext/multi"
    # and the status URLs drop the subpath
    assert any(r.path.startswith("/fal-ai/flux-pro/requests/") for r in state.requests)


async def test_size_mapped_to_ratio_with_warning(state, clock):
    provider = _provider(state, clock)
    result = await provider.generate(
        _model("fal/nano-banana"), ImageRequest(prompt="x", size=(1000, 600))
    )
    assert state.last("POST").json["aspect_ratio"] == "16:9"
    assert [(w.param, w.kind) for w in result.warnings] == [("size", "approximated")]


async def test_cdn_url_output_is_downloaded_without_the_key(state, clock):
    provider = _provider(state, clock)
    fm = fal.FAL_MODELS[0]
    provider._models[fm.info.id] = dataclasses.replace(fm, sync_mode=False)
    result = await provider.generate(fm.info, ImageRequest(prompt="x", size=(512, 512)))
    assert "sync_mode" not in state.requests[0].json
    cdn = [r for r in state.requests if r.path.startswith("/cdn/")]
    assert len(cdn) == 1
    assert "authorization" not in cdn[0].headers and "x-fal-store-io" not in cdn[0].headers
    assert result.images[0].width == 512


async def test_completed_with_error_is_a_failure(state, clock):
    provider = _provider(state, clock)
    for mode in ("completed_error", "completed_error_ok_result"):
        state.mode = mode
        with pytest.raises(ProviderError) as info:
            await provider.generate(_model("fal/flux-schnell"), ImageRequest(prompt="x"))
        assert info.value.status == 502
    state.mode = "completed_no_images"
    with pytest.raises(ProviderBadResponse):
        await provider.generate(_model("fal/flux-schnell"), ImageRequest(prompt="x"))


async def test_flagged_outputs_are_withheld(state, clock):
    provider = _provider(state, clock)
    state.extra["nsfw"] = [True, False]
    result = await provider.generate(_model("fal/flux-schnell"), ImageRequest(prompt="x", n=2))
    assert len(result.images) == 1 and result.warnings[0].param == "n"
    state.extra["nsfw"] = [True]
    with pytest.raises(ProviderContentRefused):
        await provider.generate(_model("fal/flux-schnell"), ImageRequest(prompt="x"))


async def test_client_disconnect_cancels_the_job(state, clock):
    provider = _provider(state, clock)
    state.mode = "queue_forever"
    task = asyncio.create_task(provider.generate(_model("fal/flux-dev"), ImageRequest(prompt="x")))
    for _ in range(200):
        await asyncio.sleep(0.005)
        if sum(r.path.endswith("/status") for r in state.requests) >= 2:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancels = [r for r in state.requests if r.method == "PUT"]
    assert len(cancels) == 1
    assert cancels[0].path.startswith("/fal-ai/flux/requests/") and cancels[0].path.endswith(
        "/cancel"
    )
    assert cancels[0].headers["authorization"] == f"Key {FAL_KEY}"


async def test_deadline_cancels_the_job_and_times_out(state, clock):
    from datetime import timedelta

    from imagedesigner.providers.base import ProviderTimeout

    provider = _provider(state, clock, provider_timeout=timedelta(seconds=0.2))
    state.mode = "queue_forever"
    with pytest.raises(ProviderTimeout):
        await provider.generate(_model("fal/flux-dev"), ImageRequest(prompt="x"))
    assert [r.method for r in state.requests].count("PUT") == 1


def test_catalog():
    ids = {m.id for m in fal.MODELS}
    assert {
        "fal/flux-schnell",
        "fal/flux-dev",
        "fal/flux-pro-v1.1",
        "fal/flux-pro-kontext",
        "fal/nano-banana",
    } <= ids
    for m in fal.MODELS:
        assert m.capabilities.seeds and m.provider == "fal"


async def test_exhausted_balance_is_out_of_credits(state, clock):
    from imagedesigner.providers.base import ProviderOutOfCredits

    provider = _provider(state, clock)
    state.mode = "locked"
    with pytest.raises(ProviderOutOfCredits, match="out of credits"):
        await provider.generate(_model("fal/flux-schnell"), ImageRequest(prompt="x"))


async def test_progress_sequence_from_queue_positions_and_logs(state, clock):
    provider = _provider(state, clock)
    state.mode = "progress"
    events = []

    async def progress(event):
        events.append(event)

    prompt = "a red fox in the snow, for Jane Doe"
    result = await provider.generate(
        _model("fal/flux-dev"), ImageRequest(prompt=prompt), progress=progress
    )
    assert len(result.images) == 1
    polls = [r for r in state.requests if r.path.endswith("/status")]
    assert polls and all(r.url.endswith("/status?logs=1") for r in polls)
    assert events == [
        {"stage": "queued", "position": 3},
        {"stage": "queued", "position": 2},
        {"stage": "queued", "position": 1},
        {"stage": "queued", "position": 0},
        running(),  # "Loading weights" / the prompt echoed: no figures, no text
        running(percent=25.0, step=7, steps=28, message="step 7/28"),
        running(percent=50.0, step=14, steps=28, message=fake_fal.TQDM_LINE.strip()),
        running(percent=71.4, step=20, steps=28),  # a line with the prompt in it: figures only
    ]
    assert all("fox" not in str(e) and "Jane" not in str(e) for e in events)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (None, running()),
        ([], running()),
        ([{"message": "Step 3/28"}], running(percent=10.7, step=3, steps=28, message="Step 3/28")),
        (["30%"], running(percent=30.0, message="30%")),
        (
            [{"message": "steps: 5 of 10"}],
            running(percent=50.0, step=5, steps=10, message="steps: 5 of 10"),
        ),
        ([{"message": "100% done for 'my secret prompt'"}], running(percent=100.0)),
        ([{"message": "step 30/28"}], running()),  # impossible figures are not progress
        ([{"message": "150%"}], running()),
        ([{"message": "step 9/10 " + "x" * 300}], running()),  # too long to be a progress line
        (
            [{"message": "step 1/4"}, {"message": "warming up"}],
            running(percent=25.0, step=1, steps=4, message="step 1/4"),
        ),
        ([{"level": "INFO"}, 42, {"message": 7}], running()),
    ],
)
def test_progress_from_logs(lines, expected):
    assert fal.progress_from_logs(lines) == expected
