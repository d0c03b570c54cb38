"""A client that goes away is not a server failure: mid-generation or mid-upload, the request
ends quietly (nothing raised to the server, no ERROR log), nothing is stored, and the request
log records ``499 client_disconnected`` instead of ``500 internal_error``."""

from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy import func, select

from imagedesigner.db.models import Generation
from imagedesigner.db.models_logs import RequestLog
from imagedesigner.providers.local import LocalProvider


def _scope(path: str, auth: dict, content_type: bytes) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", content_type),
            (b"authorization", auth["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }


async def _call(app, scope: dict, chunks: list[bytes], hang_up: asyncio.Event) -> list[dict]:
    """Feed ``chunks`` (more to come after each), then wait for ``hang_up`` and disconnect."""
    queue = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    sent: list[dict] = []

    async def receive():
        if queue:
            message = queue.pop(0)
            if not queue and scope["path"].endswith("generations"):
                message["more_body"] = False
            return message
        await hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=20)  # raises nothing
    return sent


async def _log_row(container) -> RequestLog:
    async with container.sessions() as s:
        return (
            (await s.execute(select(RequestLog).order_by(RequestLog.id.desc()))).scalars().first()
        )


async def _generations(container) -> int:
    async with container.sessions() as s:
        return (await s.execute(select(func.count()).select_from(Generation))).scalar_one()


async def test_disconnect_mid_generation(app, container, auth, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    started = asyncio.Event()
    real = LocalProvider.generate

    async def slow(self, model, request, *, progress=None):
        started.set()
        await asyncio.sleep(30)
        return await real(self, model, request, progress=progress)

    monkeypatch.setattr(LocalProvider, "generate", slow)
    body = json.dumps({"prompt": "canary-left-early", "size": "256x256"}).encode()
    scope = _scope("/v1/images/generations", auth, b"application/json")
    await _call(app, scope, [body], started)
    row = await _log_row(container)
    assert (row.status, row.error_code) == (499, "client_disconnected")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await _generations(container) == 0


async def test_disconnect_mid_upload(app, container, auth, caplog):
    caplog.set_level(logging.INFO)
    boundary = b"----canaryboundary"
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nedit me\r\n'
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="image"; filename="a.png"'
        b"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n" + b"\0" * 4096
    )
    scope = _scope("/v1/images/edits", auth, b"multipart/form-data; boundary=" + boundary)
    gone = asyncio.Event()
    gone.set()
    await _call(app, scope, [head], gone)
    row = await _log_row(container)
    assert (row.status, row.error_code) == (499, "client_disconnected")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await _generations(container) == 0
