"""An httpx transport that sends through aiohttp's client.

The adapters keep httpx's API (``httpx.AsyncClient``: timeouts, headers, content decoding,
streaming); only the bottom layer changes. httpcore's pool scans every pooled connection on
each request (a ``poll`` per connection to see whether it is still alive), which costs a
fifth to a third of the CPU under load; aiohttp keeps idle connections in per-host deques (the
event loop already notices a peer that closes one) and parses HTTP in C.

:class:`AiohttpTransport` holds one ``aiohttp.ClientSession``, made lazily inside the running
loop: a connection limit of ``max_connections``, idle connections closed after
``keepalive_timeout``, the CA bundle of :func:`httpx.create_ssl_context` (``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` honoured), no proxies or netrc from the environment, no cookies kept, no
redirects followed, no decompression (httpx decodes ``Content-Encoding`` itself). The request's
headers go out as httpx made them (aiohttp adds none of its own); its body is streamed.

Timeouts come from the request's ``timeout`` extension: ``connect`` bounds resolving and
connecting a new connection, ``read`` each wait for bytes from the server (``sock_read``),
``pool`` the wait for a free connection (aiohttp's ``ClientTimeout.connect`` would bound the
wait and the connecting together, so :class:`_Connector` bounds each); aiohttp has no write timeout (the caller's overall deadline bounds a
stalled upload). aiohttp's errors become the httpx exception of the same meaning (see
:func:`_mapped`), so :func:`imagedesigner.providers._http._exchange` maps them as before.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import aiohttp
import httpx
from aiohttp.connector import NEEDS_CLEANUP_CLOSED
from yarl import URL

KEEPALIVE_TIMEOUT = 30.0  # seconds an idle connection is kept for reuse
# aiohttp adds these unless told not to; httpx's request carries its own (or means none)
_SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class _ConnectTimeout(asyncio.TimeoutError):
    """Resolving and connecting a new connection ran out of time."""


class _PoolTimeout(asyncio.TimeoutError):
    """Waiting for a free connection ran out of time."""


# the pool timeout of the request being sent (aiohttp's connector is not given it)
_pool_timeout: ContextVar[float | None] = ContextVar("pool_timeout", default=None)


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector with httpx's two timeouts: the wait for a free connection, and
    resolving + connecting (aiohttp's ``ClientTimeout.connect`` would bound both together).
    Either running out becomes a ``ConnectionTimeoutError`` caused by the marker above."""

    async def _wait_for_available_connection(self, key: Any, traces: Any) -> None:
        try:
            async with asyncio.timeout(_pool_timeout.get()):
                await super()._wait_for_available_connection(key, traces)
        except TimeoutError as exc:
            raise _PoolTimeout("timed out waiting for a connection") from exc

    async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout.sock_connect):
                return await super()._create_connection(req, traces, timeout)
        except TimeoutError as exc:
            raise _ConnectTimeout("timed out connecting") from exc


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (one pool of at most ``max_connections``) behind an httpx client."""

    def __init__(
        self,
        *,
        max_connections: int = 100,
        keepalive_timeout: float = KEEPALIVE_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_connections = max_connections
        self.keepalive_timeout = keepalive_timeout
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timeouts: dict[tuple, aiohttp.ClientTimeout] = {}

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            # a session belongs to one loop; a transport reused from another loop starts afresh
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            connector = _Connector(
                limit=self.max_connections,
                limit_per_host=0,  # one host per provider: the total limit is the host's
                keepalive_timeout=self.keepalive_timeout,
                enable_cleanup_closed=NEEDS_CLEANUP_CLOSED,  # aborted TLS transports (old Pythons)
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # none kept (kit/httpclient.py)
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                auto_decompress=False,
                trust_env=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
            self._loop = loop
        return self._session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        t = request.extensions.get("timeout") or {}
        key = (t.get("connect"), t.get("read"))
        found = self._timeouts.get(key)
        if found is None:  # the pool wait is the connector's (see _Connector)
            found = aiohttp.ClientTimeout(sock_connect=key[0], sock_read=key[1])
            self._timeouts[key] = found
        return found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._get_session()
        headers = request.headers.multi_items()
        chunked = None
        try:
            data: Any = request.content or None  # a body given as bytes (or none)
        except httpx.RequestNotRead:  # a streamed body (e.g. multipart): sent as it is made
            data = _RequestBody(request.stream)
            if "chunked" in request.headers.get("transfer-encoding", "").lower():
                # aiohttp frames the chunks itself only when asked to (and not with the header)
                headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
                chunked = True
        pool = _pool_timeout.set((request.extensions.get("timeout") or {}).get("pool"))
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=data,
                chunked=chunked,
                allow_redirects=False,
                timeout=self._timeout(request),
            )
        except (aiohttp.ClientError, OSError) as exc:
            raise _mapped(exc, request, reading=False) from exc
        finally:
            _pool_timeout.reset(pool)
        version = response.version
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_ResponseBody(response, request),
            extensions={
                "http_version": f"HTTP/{version.major}.{version.minor}".encode()
                if version
                else b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
            request=request,
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


class _RequestBody:
    """httpx's request stream as the async iterable aiohttp sends chunk by chunk."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk


class _ResponseBody(httpx.AsyncByteStream):
    """The aiohttp payload as httpx's response stream. Closing it releases the connection for
    reuse when the body was read to its end, and closes it otherwise (an oversized or aborted
    body is never read further)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except (aiohttp.ClientError, OSError) as exc:
            raise _mapped(exc, self._request, reading=True) from exc

    async def aclose(self) -> None:
        response = self._response
        if response.content.at_eof() and response.content.exception() is None:
            response.release()
        else:
            response.close()


def _mapped(exc: BaseException, request: httpx.Request, *, reading: bool) -> httpx.HTTPError:
    """The httpx exception that means what ``exc`` means (``reading``: while reading the body)."""
    message = str(exc) or type(exc).__name__
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        waiting = isinstance(exc.__cause__, _PoolTimeout)
        kind = httpx.PoolTimeout if waiting else httpx.ConnectTimeout
    elif isinstance(exc, aiohttp.ServerTimeoutError):  # sock_read: no bytes in time
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake
        kind = httpx.ConnectError
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        kind = httpx.RemoteProtocolError  # closed early, truncated or malformed body
    elif isinstance(exc, aiohttp.ClientResponseError):  # a status line / header not HTTP
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.ClientConnectionResetError) or (
        isinstance(exc, aiohttp.ClientOSError) and "write request body" in message
    ):
        kind = httpx.WriteError
    elif isinstance(exc, TimeoutError):
        kind = httpx.ReadTimeout if reading else httpx.ConnectTimeout
    elif isinstance(exc, aiohttp.ClientConnectionError | OSError):
        kind = httpx.ReadError  # reset or lost while waiting for or reading the answer
    else:
        kind = httpx.TransportError
    return kind(message, request=request)
