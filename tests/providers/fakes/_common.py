"""Shared bits of the provider fakes: image bytes, a request recorder, a loopback server."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from PIL import Image
from starlette.requests import Request
from starlette.responses import StreamingResponse

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MEDIA = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def image_bytes(width: int = 64, height: int = 48, fmt: str = "png", color=(200, 40, 90)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, FORMATS[fmt])
    return buf.getvalue()


@dataclass
class Recorded:
    method: str
    url: str
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[tuple[str, str, bytes]]] = field(default_factory=dict)
    raw: bytes = b""


@dataclass
class FakeState:
    """Mutable state shared by a fake app and the test that drives it."""

    mode: str = "ok"
    requests: list[Recorded] = field(default_factory=list)
    sent_bytes: int = 0  # bytes pushed by the endless ("huge") stream
    released: bool = False  # hang modes wait until this is set (or 30 s)
    extra: dict[str, Any] = field(default_factory=dict)

    def reset(self) -> None:
        self.mode = "ok"
        self.requests.clear()
        self.sent_bytes = 0
        self.released = False
        self.extra.clear()

    def last(self, method: str | None = None) -> Recorded:
        reqs = [r for r in self.requests if method is None or r.method == method]
        return reqs[-1]


async def record(state: FakeState, request: Request) -> Recorded:
    raw = await request.body()
    rec = Recorded(
        method=request.method,
        url=str(request.url),
        path=request.url.path,
        headers={k.lower(): v for k, v in request.headers.items()},
        raw=raw,
    )
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        import json

        rec.json = json.loads(raw)
    elif ctype.startswith("multipart/form-data"):
        form = await request.form()
        for key, value in form.multi_items():
            if hasattr(value, "read"):
                data = await value.read()
                rec.files.setdefault(key, []).append((value.filename, value.content_type, data))
            else:
                rec.form.setdefault(key, []).append(value)
    state.requests.append(rec)
    return rec


async def hang(state: FakeState) -> None:
    deadline = time.monotonic() + 30
    while not state.released and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


def endless(
    state: FakeState, request: Request, media_type: str = "application/json"
) -> StreamingResponse:
    """An endless body: counts what it manages to send, stops once the client goes away.

    The server's flow control blocks the generator while the client is not reading, so
    ``state.sent_bytes`` is what the client pulled (plus socket buffers).
    """

    async def gen():
        chunk = b"A" * 65536
        yield b'{"data": [{"b64_json": "'
        while not state.released and state.sent_bytes < 2 * 1024**3:
            if await request.is_disconnected():
                state.extra["client_gone"] = True
                return
            state.sent_bytes += len(chunk)
            yield chunk

    return StreamingResponse(gen(), media_type=media_type)


class LoopbackServer:
    """Serve an ASGI app on 127.0.0.1:<free port> in a background thread (real sockets)."""

    def __init__(self, app) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: self.server.run(sockets=[sock]), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("loopback server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self._sock.close()
