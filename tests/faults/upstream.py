"""A misbehaving OpenAI Images API, written at the byte level on 127.0.0.1 (its own thread and
event loop), so that a fault is exactly what goes over the socket: a hang, a reset mid-body,
bytes dripped slowly, invalid JSON, a non-image, 10,000 tiny images, a 1 GB body streamed from a
generator (never allocated)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import struct
import threading
import time

from tests.providers.fakes._common import image_bytes

GIGABYTE = 1024**3
CHUNK = 64 * 1024


def _head(status: str = "200 OK", length: int | None = None, chunked: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def images_body(payloads: list[bytes]) -> bytes:
    data = [{"b64_json": base64.b64encode(p).decode()} for p in payloads]
    return json.dumps({"created": 1, "data": data, "output_format": "png"}).encode()


class FaultyUpstream:
    """``mode`` decides the next answers; ``calls`` counts requests, ``sent`` the body bytes
    pushed by the streaming modes, ``arrived`` is set when a request has been read."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.calls = 0
        self.sent = 0
        self.arrived = threading.Event()
        self.release = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0
        self._handlers: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FaultyUpstream:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        )
        self._server = started.result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()

        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            for task in self._handlers:
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            self.calls += 1
            self.arrived.set()
            await self._answer(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: that is what some modes wait for
        finally:
            writer.close()
            self._handlers.discard(task)

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        if mode == "ok":
            body = images_body([image_bytes(64, 48)])
            writer.write(_head(length=len(body)) + body)
        elif mode == "slow_ok":  # a good answer once released
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            body = images_body([image_bytes(64, 48)])
            writer.write(_head(length=len(body)) + body)
        elif mode == "hang":
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        elif mode == "reset":  # a promise of 200 kB, 1 kB of it, then a TCP reset
            body = images_body([image_bytes(64, 48)])
            writer.write(_head(length=200_000) + body[:1000])
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode == "drip":  # a valid answer, one byte every 50 ms: each read is in time
            body = images_body([image_bytes(64, 48)])
            writer.write(_head(length=len(body)))
            for i in range(len(body)):
                writer.write(body[i : i + 1])
                await writer.drain()
                await asyncio.sleep(0.05)
        elif mode == "invalid_json":
            body = b'{"created": 1, "data": [{"b64_json": "iVBORw0KGgo' + b"<html>oops</html>"
            writer.write(_head(length=len(body)) + body)
        elif mode == "not_image":
            body = images_body([b"<html><body>This is not an image.</body></html>"])
            writer.write(_head(length=len(body)) + body)
        elif mode == "many":
            body = images_body([image_bytes(1, 1)] * 10_000)
            writer.write(_head(length=len(body)) + body)
        elif mode == "gigabyte_declared":  # says 1 GB up front, and starts sending it
            writer.write(_head(length=GIGABYTE))
            await self._stream(writer, chunked=False)
        elif mode == "gigabyte_chunked":  # no length: 1 GB in chunks, made as it goes
            writer.write(_head(chunked=True))
            await self._stream(writer, chunked=True)
        await writer.drain()

    async def _stream(self, writer: asyncio.StreamWriter, *, chunked: bool) -> None:
        def frame(data: bytes) -> bytes:
            return f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data

        framed = frame(b"A" * CHUNK)
        writer.write(frame(b'{"data": [{"b64_json": "'))
        deadline = time.monotonic() + 60
        while self.sent < GIGABYTE and time.monotonic() < deadline:
            writer.write(framed)
            await writer.drain()  # blocks while the client is not reading; raises once it left
            self.sent += CHUNK
