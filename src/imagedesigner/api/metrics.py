"""``/metrics`` (Prometheus text format) and the middleware that times every request.

* :class:`MetricsMiddleware` — pure ASGI, outermost: one histogram observation per request by
  route template, method and status class, and one error count by our error code.
* ``GET /metrics`` on the service's port — only with ``IMAGEDESIGNER_METRICS_TOKEN`` set and sent
  as ``Authorization: Bearer <token>``; without a configured token it does not exist (404).
* :func:`serving` — with ``IMAGEDESIGNER_METRICS_PORT`` set, ``/metrics`` on its own port too
  (``IMAGEDESIGNER_METRICS_HOST``, 127.0.0.1 by default): a tiny HTTP/1.1 server on the app's
  event loop, the port shared by ``--workers`` processes (SO_REUSEPORT). The token, when set, is
  required there as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imagedesigner import errors
from imagedesigner.container import Container
from imagedesigner.generation import jobs
from imagedesigner.infra import metrics

log = logging.getLogger("imagedesigner.metrics")
PATH = "/metrics"
router = APIRouter()


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else metrics.UNMATCHED


class MetricsMiddleware:
    """Times every HTTP request (the scrape itself excepted) to the end of its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before any response is a 500 to the client

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        code = None
        try:
            await self.app(scope, receive, send_status)
        except Exception:
            code = "internal_error"  # answered by the error middleware outside this one
            raise
        finally:
            state = scope.get("state")
            if code is None and status >= 400 and state:
                code = state.get("error_code")
            metrics.observe_request(
                route_label(scope), scope["method"], status, time.perf_counter() - started, code
            )


def token_ok(c: Container, authorization: str | None) -> bool:
    token = c.settings.metrics_token
    if token is None:
        return False
    expected = f"Bearer {token.get_secret_value()}".encode()
    return hmac.compare_digest(expected, (authorization or "").encode("utf-8", "replace"))


async def scrape(c: Container) -> bytes:
    async with c.sessions() as session:
        counts = await jobs.counts_by_state(session)
    return metrics.render(counts)


@router.get(PATH, include_in_schema=False)
async def get_metrics(request: Request) -> Response:
    c: Container = request.app.state.container
    if c.settings.metrics_token is None:
        raise HTTPException(404)  # not configured: there is no such page
    if not token_ok(c, request.headers.get("authorization")):
        raise errors.AuthenticationFailed(
            "The metrics need 'Authorization: Bearer <IMAGEDESIGNER_METRICS_TOKEN>'.",
            code="invalid_metrics_token",
        )
    return Response(await scrape(c), media_type=metrics.CONTENT_TYPE_LATEST)


# --- the separate port --------------------------------------------------------------------------

_HEAD_LIMIT = 16 * 1024
_READ_TIMEOUT = 10.0


def _answer(status: str, body: bytes, ctype: str = "text/plain; charset=utf-8") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _respond(c: Container, head: bytes) -> bytes:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[0] not in ("GET", "HEAD") or parts[1].split("?")[0] != PATH:
        return _answer("404 Not Found", b"Not found.\n")
    if c.settings.metrics_token is not None:
        auth = next(
            (
                v.strip()
                for k, _, v in (x.partition(":") for x in lines[1:])
                if k.lower() == "authorization"
            ),
            None,
        )
        if not token_ok(c, auth):
            return _answer("401 Unauthorized", b"A valid metrics token is required.\n")
    body = await scrape(c)
    answer = _answer("200 OK", body, metrics.CONTENT_TYPE_LATEST)
    return answer[: len(answer) - len(body)] if parts[0] == "HEAD" else answer


def _handler(c: Container):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
            writer.write(await _respond(c, head[:_HEAD_LIMIT]))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        except Exception as exc:  # noqa: BLE001 - a scrape failing must not stop the server
            log.warning("metrics scrape failed: %s", type(exc).__name__)
            with contextlib.suppress(Exception):
                writer.write(_answer("503 Service Unavailable", b"Metrics unavailable.\n"))
                await writer.drain()
        finally:
            writer.close()

    return handle


@contextlib.asynccontextmanager
async def serving(c: Container) -> AsyncIterator[int | None]:
    """Serve ``/metrics`` on ``metrics_port`` while the app runs; yields the bound port."""
    port = c.settings.metrics_port
    if port is None:
        yield None
        return
    server = await asyncio.start_server(
        _handler(c), c.settings.metrics_host, port, reuse_port=True, limit=_HEAD_LIMIT
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
