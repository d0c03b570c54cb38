"""The aiohttp transport under httpx's API, against a real HTTP server on 127.0.0.1 (its own
thread and event loop, written at the byte level like ``tests/faults/upstream.py``): what goes
over the socket each way, connection reuse, and every failure turning into the httpx exception
(and through the provider path, the ProviderError) that the httpx transport gives."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import struct
import threading

import aiohttp.connector
import httpx
import pytest

from imagedesigner.providers import _http, _status
from imagedesigner.providers._aiohttp import AiohttpTransport
from imagedesigner.providers.base import (
    ImageRequest,
    ProviderBadResponse,
    ProviderTimeout,
    ProviderUnavailable,
)
from imagedesigner.providers.openai import MODELS, OpenAIProvider
from tests.faults.upstream import images_body

from .fakes._common import image_bytes

KEY = "sk-aiohttp-transport-ReallySecretKey0077"
BIG = 64 * 1024 * 1024  # what the "endless" answer promises; never sent in full


def NO_INFO(status: int, body: bytes) -> _status.ErrorInfo:
    return _status.ErrorInfo()


class Server:
    """Keep-alive HTTP/1.1 on 127.0.0.1; ``mode`` decides the answer. ``accepted`` counts TCP
    connections, ``requests`` holds (head lines, body) as received (a chunked body de-chunked),
    ``closed`` is set when the client went away in the middle of an answer."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.accepted = 0
        self.requests: list[tuple[list[str], bytes]] = []
        self.sent = 0
        self.closed = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._tasks: set[asyncio.Task] = set()

    def __enter__(self) -> Server:
        self._thread.start()
        start = asyncio.start_server(self._handle, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            self._server.close()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        self.accepted += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed an idle connection
                lines = head.decode("latin-1").split("\r\n")[:-2]
                fields = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (x.partition(":") for x in lines[1:])
                }
                if fields.get("transfer-encoding", "").lower() == "chunked":
                    body = b""
                    while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
                        body += (await reader.readexactly(size + 2))[:-2]
                    await reader.readuntil(b"\r\n")
                else:
                    body = await reader.readexactly(int(fields.get("content-length", 0)))
                self.requests.append((lines, body))
                if not await self._answer(writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            self.closed.set()
        except asyncio.CancelledError:
            pass  # the server is stopping
        finally:
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter) -> bool:
        """Write one answer; False when the connection is to be dropped afterwards."""
        mode = self.mode
        if mode == "ok":
            body = b'{"hello": "world"}'
            head = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Twice: 1\r\nX-Twice: 2\r\n"
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        elif mode == "images":
            body = images_body([image_bytes(64, 48)])
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        elif mode == "gzip":
            body = gzip.compress(b"squeezed " * 1000)
            head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        elif mode == "endless":  # chunked, no declared length: the cap has to stop the read
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"A" * 64 * 1024)
            while self.sent < BIG:
                writer.write(chunk)
                self.sent += 64 * 1024
                await writer.drain()
        elif mode == "reset":  # 200 kB promised, 1 kB sent, then a TCP reset
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + b"{" * 1000)
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        elif mode == "hang":
            await asyncio.sleep(30)
        elif mode == "garbage":
            writer.write(b"this is not HTTP\r\n\r\n")
            await writer.drain()
            return False
        elif mode == "close":  # the request read, the connection closed without an answer
            return False
        await writer.drain()
        return True


@pytest.fixture
def server():
    with Server() as s:
        yield s


@pytest.fixture
async def client():
    c = httpx.AsyncClient(transport=AiohttpTransport(max_connections=4), timeout=5.0)
    yield c
    await c.aclose()


def provider(base_url: str, **kwargs) -> OpenAIProvider:
    args = {"api_key": KEY, "timeout": 3.0, "connect_timeout": 1.0, **kwargs}
    return OpenAIProvider(base_url=base_url + "/v1", **args)


def sent_headers(server: Server, index: int = -1) -> list[tuple[str, str]]:
    lines = server.requests[index][0]
    return [(k.strip().lower(), v.strip()) for k, _, v in (x.partition(":") for x in lines[1:])]


async def test_status_headers_and_body_come_back_and_httpx_headers_go_out_once(server, client):
    r = await client.post(server.url + "/x?q=a%20b", json={"a": 1}, headers={"X-Key": "v"})
    assert r.status_code == 201 and r.reason_phrase == "Created"
    assert r.headers.get_list("x-twice") == ["1", "2"]
    assert r.json() == {"hello": "world"} and r.http_version == "HTTP/1.1"

    assert server.requests[0][0][0] == "POST /x?q=a%20b HTTP/1.1"
    assert server.requests[0][1] == b'{"a":1}'
    headers = sent_headers(server)
    names = [k for k, _ in headers]
    assert len(names) == len(set(names)), headers  # nothing twice
    sent = dict(headers)
    assert sent["host"] == server.url.removeprefix("http://")
    assert sent["user-agent"].startswith("python-httpx/")  # httpx's, not aiohttp's
    assert sent["content-length"] == "7" and sent["content-type"] == "application/json"
    assert sent["x-key"] == "v"


async def test_a_multipart_body_is_streamed_with_its_length(server, client):
    picture = image_bytes(16, 16)
    r = await client.post(
        server.url + "/edits", data={"prompt": "a hat"}, files={"image": ("a.png", picture)}
    )
    assert r.status_code == 201
    sent = dict(sent_headers(server))
    body = server.requests[0][1]
    boundary = sent["content-type"].split("boundary=")[1]
    assert int(sent["content-length"]) == len(body) and "transfer-encoding" not in sent
    assert body.startswith(b"--" + boundary.encode()) and picture in body and b"a hat" in body


async def test_a_body_of_unknown_length_is_sent_chunked(server, client):
    async def parts():
        for part in (b"one,", b"two,", b"three"):
            yield part

    r = await client.post(server.url + "/stream", content=parts())
    assert r.status_code == 201
    sent = sent_headers(server)
    assert ("transfer-encoding", "chunked") in sent and "content-length" not in dict(sent)
    assert server.requests[0][1] == b"one,two,three"


async def test_gzip_content_encoding_is_decoded_by_httpx(server, client):
    server.mode = "gzip"
    r = await client.get(server.url + "/z")
    assert r.content == b"squeezed " * 1000


async def test_sequential_requests_share_one_connection(server, client):
    for _ in range(3):
        assert (await client.get(server.url + "/again")).status_code == 201
    assert server.accepted == 1 and len(server.requests) == 3


async def test_connection_refused_is_provider_unavailable():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    p = provider(url)
    try:
        with pytest.raises(ProviderUnavailable, match="Could not connect to OpenAI"):
            await p.generate(MODELS[1], ImageRequest(prompt="x"))
    finally:
        await p.aclose()


async def test_the_provider_path_works_and_reuses_its_connection(server):
    server.mode = "images"
    p = provider(server.url)
    try:
        for _ in range(2):
            result = await p.generate(MODELS[1], ImageRequest(prompt="x"))
            assert [(i.width, i.height) for i in result.images] == [(64, 48)]
    finally:
        await p.aclose()
    assert server.accepted == 1
    assert dict(sent_headers(server))["authorization"] == f"Bearer {KEY}"


async def test_a_reset_mid_body_is_a_connection_that_broke_off(server):
    server.mode = "reset"
    p = provider(server.url)
    try:
        with pytest.raises(ProviderBadResponse, match="broke off"):
            await p.generate(MODELS[1], ImageRequest(prompt="x"))
    finally:
        await p.aclose()


@pytest.mark.parametrize("mode", ["garbage", "close"])
async def test_no_http_answer_is_a_protocol_error(server, client, mode):
    server.mode = mode
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(server.url + "/x", content=b"hi")


async def test_no_bytes_in_time_is_a_read_timeout(server):
    server.mode = "hang"
    # only the read is short: a connect or pool wait slowed by a busy machine must not race it
    c = httpx.AsyncClient(
        transport=AiohttpTransport(max_connections=10),
        timeout=httpx.Timeout(0.3, connect=10.0, pool=10.0),
    )
    try:
        with pytest.raises(httpx.ReadTimeout):
            await c.get(server.url + "/slow")
        with pytest.raises(ProviderTimeout, match="did not answer in time"):
            await _http.send(
                c, "GET", server.url + "/slow", label="Up", limit=100, parse_error=NO_INFO
            )
    finally:
        await c.aclose()


async def test_waiting_too_long_for_a_free_connection_is_a_pool_timeout(server):
    server.mode = "hang"
    transport = AiohttpTransport(max_connections=1)
    c = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0, pool=0.2))
    try:
        first = asyncio.create_task(c.get(server.url + "/hold"))
        while not server.requests:
            await asyncio.sleep(0.01)
        with pytest.raises(httpx.PoolTimeout):
            await c.get(server.url + "/wait")
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
    finally:
        await c.aclose()


async def test_the_body_cap_stops_the_read_and_closes_the_connection(server, client):
    server.mode = "endless"
    with pytest.raises(ProviderBadResponse, match="exceeded 100000 bytes"):
        await _http.send(
            client, "GET", server.url + "/big", label="Up", limit=100_000, parse_error=NO_INFO
        )
    assert await asyncio.to_thread(server.closed.wait, 5), "the server saw the connection closed"
    assert server.sent < 16 * 1024 * 1024  # far from the 64 MB the answer would have been
    server.mode = "ok"
    assert (await client.get(server.url + "/next")).status_code == 201
    assert server.accepted == 2  # the cut-off connection was not reused


async def test_a_connect_that_takes_too_long_is_a_connect_timeout(server, monkeypatch):
    async def never_connects(*args, **kwargs):
        await asyncio.sleep(30)  # a SYN that is never answered

    monkeypatch.setattr(aiohttp.connector.aiohappyeyeballs, "start_connection", never_connects)
    c = httpx.AsyncClient(transport=AiohttpTransport(), timeout=httpx.Timeout(5.0, connect=0.2))
    try:
        with pytest.raises(httpx.ConnectTimeout):
            await c.get(server.url + "/x")
    finally:
        await c.aclose()
    p = provider(server.url, connect_timeout=0.2)
    try:
        with pytest.raises(ProviderUnavailable, match="connect timeout"):
            await p.generate(MODELS[1], ImageRequest(prompt="x"))
    finally:
        await p.aclose()
    assert server.accepted == 0
