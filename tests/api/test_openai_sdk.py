"""The official ``openai`` SDK against the app served over real HTTP on loopback."""

from __future__ import annotations

import base64
import io
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from openai import OpenAI
from PIL import Image

from imagedesigner.app import create_app
from imagedesigner.container import Container
from tests.conftest import make_settings, make_user, run_in_thread


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, settings) -> None:
        self.settings = settings
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def create_key(settings) -> str:
    async def go():
        c = await Container.build(settings)
        try:
            return (await make_user(c))[1]
        finally:
            await c.aclose()

    return run_in_thread(go())


@pytest.fixture
def live(tmp_path):
    settings = make_settings(tmp_path / "data")
    key = create_key(settings)
    with LiveServer(settings) as server:
        yield server, key


def test_openai_sdk_generate_both_response_formats(live):
    server, key = live
    client = OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)

    result = client.images.generate(
        model="local/sketch", prompt="a yellow sun over green hills", size="1024x1024"
    )
    img = Image.open(io.BytesIO(base64.b64decode(result.data[0].b64_json)))
    assert img.format == "PNG" and img.size == (1024, 1024)

    result = client.images.generate(
        model="local/sketch",
        prompt="a cat under the moon at night",
        size="512x512",
        response_format="url",
        n=2,
    )
    assert len(result.data) == 2
    fetched = httpx.get(result.data[1].url, headers={"Authorization": f"Bearer {key}"})
    assert fetched.status_code == 200
    img = Image.open(io.BytesIO(fetched.content))
    assert img.format == "PNG" and img.size == (512, 512)
    # the url is a signed link: it opens without the key too; the bare path needs the key
    assert httpx.get(result.data[1].url).content == fetched.content
    assert httpx.get(result.data[1].url.split("?")[0]).status_code == 401


def test_openai_sdk_sees_openai_errors(live):
    import openai

    server, key = live
    client = OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="local/sketch", prompt="x", size="99x99")
    assert info.value.status_code == 400
    assert info.value.body["param"] == "size"
    bad = OpenAI(base_url=f"{server.url}/v1", api_key="idk_nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.images.generate(model="local/sketch", prompt="x")
    models = client.models.list()
    assert "local/sketch" in [m.id for m in models.data]
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
