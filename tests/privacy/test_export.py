"""Policy, Your Rights ("Access a copy", "Data portability"): GET /v1/me/export streams a ZIP
with one JSON file per mapped table tied to the user (found through the data map), the image
files, and nothing of anyone else; secrets (password and key hashes) are left out."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

from PIL import Image
from sqlalchemy import select

from imagedesigner.db.models_privacy import RightsRequest
from imagedesigner.privacy.export import exportable, file_name
from tests.privacy.conftest import generate

PROMPT = "canary-export-prompt-silver-lynx-3"
OTHER = "canary-export-other-user-crimson-owl"


async def asgi_get(app, path: str, headers: dict) -> tuple[int, dict, list[bytes]]:
    """Call the ASGI app directly and keep each body message (httpx's ASGI transport joins
    them, which would hide whether the response streams)."""
    messages: list[dict] = []
    done = asyncio.Event()
    sent_request = False

    async def receive():
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "app": app,
    }
    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    hdrs = {k.decode(): v.decode() for k, v in start["headers"]}
    chunks = [m["body"] for m in messages if m["type"] == "http.response.body" and m["body"]]
    return start["status"], hdrs, chunks


async def test_export_contains_every_mapped_table(
    app, client, auth, user_and_key, container, other
):
    await client.post("/v1/me/consents/gallery", headers=auth)
    gen = await generate(client, auth, PROMPT, n=2)
    await client.post(f"/v1/generations/{gen['id']}/save", headers=auth)
    await client.post("/v1/support/tickets", json={"subject": "s", "body": "b"}, headers=auth)
    await generate(client, other[1], OTHER)

    status, headers, chunks = await asgi_get(app, "/v1/me/export", auth)
    assert status == 200
    assert headers["content-type"] == "application/zip"
    assert "attachment" in headers["content-disposition"]
    assert len(chunks) > len(exportable()), "the ZIP is streamed in pieces, not built whole"
    zf = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert zf.testzip() is None
    names = set(zf.namelist())

    expected = {f"{file_name(e)}.json" for e in exportable()}
    assert expected <= names
    assert {"account.json", "consents.json", "generations.json", "tickets.json"} <= expected
    assert "requests.json" in expected  # the request log, picked up from the map
    assert "manifest.json" in names

    account = json.loads(zf.read("account.json"))
    assert account["email"] == user_and_key[0].email
    assert "password_hash" not in account
    keys = json.loads(zf.read("api_keys.json"))
    assert keys and all("key_hash" not in k for k in keys)
    gens = json.loads(zf.read("generations.json"))
    assert [g["prompt"] for g in gens] == [PROMPT]
    assert gens[0]["params"]["n"] == 2 and gens[0]["saved_at"]
    assert [c["purpose"] for c in json.loads(zf.read("consents.json"))] == ["gallery"]
    assert json.loads(zf.read("tickets.json"))[0]["body"] == "b"

    pictures = sorted(n for n in names if n.startswith("images/"))
    assert len(pictures) == 2 and all(n.endswith(".png") for n in pictures)
    assert Image.open(io.BytesIO(zf.read(pictures[0]))).size == (256, 256)

    everything = b"".join(zf.read(n) for n in names)
    assert OTHER.encode() not in everything and b"grace@example.com" not in everything
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["counts"]["generations"] == 1
    assert "password_hash" in manifest["withheld_columns"]["users"]

    async with container.sessions() as s:
        rr = (await s.execute(select(RightsRequest))).scalars().all()
    assert [(x.type, x.channel) for x in rr if x.type == "access"] == [("access", "self-service")]
