"""OpenAI compatibility, round two, as the official Node SDK (npm ``openai``, pinned in
tests/node) meets it: ``tests/node/compat.mjs`` runs every case against the live server and
prints what it saw. Skipped without node or ``npm ci`` in tests/node, unless
``IMAGEDESIGNER_REQUIRE_NODE=1`` (CI)."""

from __future__ import annotations

import json
import os
import subprocess

from tests.api.compat_helpers import live_account, logged_request_ids, mask_png, png
from tests.jobs.test_node_sdk import NODE_DIR, node  # noqa: F401 - the fixture

SCRIPT = NODE_DIR / "compat.mjs"


def test_node_sdk_compatibility(node, tmp_path):  # noqa: F811 - the fixture
    files = {"IMAGE": png(), "IMAGE2": png(colour=(0, 0, 255, 255)), "MASK": mask_png()}
    for name, data in files.items():
        (tmp_path / f"{name}.png").write_bytes(data)
    with live_account(tmp_path / "data") as (server, key, settings):
        env = {
            **os.environ,
            "BASE_URL": f"{server.url}/v1",
            "API_KEY": key,
            **{name: str(tmp_path / f"{name}.png") for name in files},
        }
        proc = subprocess.run(  # noqa: S603 - our own script
            [node, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120, check=False
        )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)

    assert seen["b64"]["has_b64"] and seen["b64"]["request_id"].startswith("req_")
    assert (seen["b64"]["output_format"], seen["b64"]["size"]) == ("png", "256x256")
    assert len(seen["url"]) == 2, "n=2"
    for got in seen["url"]:
        assert got["status"] == 200 and got["png"]
        assert got["cache"] == "private, no-store" and got["referrer"] == "no-referrer"
    for fmt in ("jpeg", "webp"):
        assert seen["compression"][fmt] == {"formats": [fmt, fmt], "differ": True, "smaller": True}
    edits = seen["edits"]
    assert edits["one"] and edits["json"] and edits["json_one"] == 1
    assert edits["several_url_status"] == 200
    assert edits["remote"]["status"] == 400 and "not fetched" in edits["remote"]["message"]
    assert "local/sketch" in seen["models"]["ids"]
    assert seen["models"]["bad_key"]["status"] == 401
    assert seen["models"]["bad_key"]["code"] == "invalid_api_key"
    variation = seen["variation"]
    assert variation["status"] == 400 and variation["code"] == "variations_not_supported"
    assert "variations are not supported" in variation["message"].lower()
    ids = seen["request_ids"]
    assert len(ids) == 14 and all(i.startswith("req_") for i in ids)
    assert set(ids) <= logged_request_ids(settings), "the SDK's request ids are in the log"
