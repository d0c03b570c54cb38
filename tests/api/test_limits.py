"""413 for oversized bodies and 429 with Retry-After from the per-key rate limit."""

from __future__ import annotations

import httpx
import pytest

from imagedesigner.app import create_app


@pytest.fixture
def settings_overrides():
    return {"max_request_bytes": 2000, "rate_limit": "3/minute"}


async def test_body_over_cap_is_413_in_openai_shape(client, auth):
    r = await client.post("/v1/images/generations", json={"prompt": "x" * 5000}, headers=auth)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


async def test_streamed_body_over_cap_is_413(container, auth):
    app = create_app(container=container, run_sweeper=False)

    async def chunks():
        for _ in range(10):
            yield b"x" * 500

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post(
            "/v1/images/generations",
            content=chunks(),
            headers={**auth, "content-type": "application/json"},
        )
    assert r.status_code == 413


async def test_rate_limit_is_429_with_retry_after(client, auth):
    codes = []
    for _ in range(4):
        r = await client.post(
            "/v1/images/generations", json={"prompt": "a cat", "size": "256x256"}, headers=auth
        )
        codes.append(r.status_code)
    assert codes == [200, 200, 200, 429]
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["type"] == "rate_limit_error"
