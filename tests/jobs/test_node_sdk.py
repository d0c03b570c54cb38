"""The official Node SDK (npm ``openai``, pinned in tests/node) iterates a ``stream: true``
image generation against the app served over real HTTP on loopback. Skipped without ``node``
or ``npm ci`` in tests/node, unless ``IMAGEDESIGNER_REQUIRE_NODE=1`` (CI) makes that a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.test_openai_sdk import LiveServer, create_key
from tests.conftest import make_settings
from tests.jobs.test_jobs_instances import Thread
from tests.providers.conftest import OPENAI_KEY
from tests.providers.fakes import fake_openai
from tests.providers.fakes._common import FakeState

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "stream.mjs"
NODE = shutil.which("node")
HAVE_SDK = (NODE_DIR / "node_modules" / "openai").is_dir()


@pytest.fixture
def node() -> str:
    if NODE and HAVE_SDK:
        return NODE
    why = "node is not on PATH" if not NODE else "tests/node/node_modules/openai is missing"
    if os.environ.get("IMAGEDESIGNER_REQUIRE_NODE") == "1":
        pytest.fail(f"IMAGEDESIGNER_REQUIRE_NODE=1 but {why} (run npm ci in tests/node)")
    pytest.skip(why)


def run_stream(node: str, base_url: str, key: str, model: str, partials: int = 0) -> list[dict]:
    env = {
        **os.environ,
        "BASE_URL": base_url,
        "API_KEY": key,
        "MODEL": model,
        "PARTIALS": str(partials),
    }
    proc = subprocess.run(  # noqa: S603 - our own script
        [node, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_node_sdk_streams_local_sketch(node, tmp_path):
    settings = make_settings(tmp_path / "data")
    key = create_key(settings)
    with LiveServer(settings) as server:
        events = run_stream(node, f"{server.url}/v1", key, "local/sketch")
    assert [(e["type"], e["has_b64"]) for e in events] == [("image_generation.completed", True)]


def test_node_sdk_streams_partial_images_from_openai(node, tmp_path):
    with Thread(fake_openai.make_app(FakeState(), OPENAI_KEY)) as fake:
        settings = make_settings(
            tmp_path / "data",
            openai_api_key=OPENAI_KEY,
            openai_base_url=f"http://127.0.0.1:{fake.port}/v1",
        )
        key = create_key(settings)
        with LiveServer(settings) as server:
            events = run_stream(node, f"{server.url}/v1", key, "openai/gpt-image-1.5", 2)
    assert [(e["type"], e["has_b64"], e.get("partial_image_index")) for e in events] == [
        ("image_generation.partial_image", True, 0),
        ("image_generation.partial_image", True, 1),
        ("image_generation.completed", True, None),
    ]
