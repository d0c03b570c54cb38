"""The official Python SDK iterates a ``stream: true`` generation with ``partial_images`` that
our server relays from (a fake of) OpenAI: two partial images, then the completed image."""

from __future__ import annotations

from openai import OpenAI

from tests.api.test_openai_sdk import LiveServer, create_key
from tests.conftest import make_settings
from tests.jobs.test_jobs_instances import Thread
from tests.providers.conftest import OPENAI_KEY
from tests.providers.fakes import fake_openai
from tests.providers.fakes._common import FakeState


def test_python_sdk_streams_partial_images_from_openai(tmp_path):
    with Thread(fake_openai.make_app(FakeState(), OPENAI_KEY)) as fake:
        settings = make_settings(
            tmp_path / "data",
            openai_api_key=OPENAI_KEY,
            openai_base_url=f"http://127.0.0.1:{fake.port}/v1",
        )
        key = create_key(settings)
        with LiveServer(settings) as server:
            client = OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
            stream = client.images.generate(
                model="openai/gpt-image-1.5",
                prompt="a cat on a roof",
                size="256x256",
                stream=True,
                partial_images=2,
            )
            events = [
                (e.type, bool(e.b64_json), getattr(e, "partial_image_index", None)) for e in stream
            ]
    assert events == [
        ("image_generation.partial_image", True, 0),
        ("image_generation.partial_image", True, 1),
        ("image_generation.completed", True, None),
    ]
