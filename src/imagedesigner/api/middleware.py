"""Pure ASGI middleware: the request-body cap (413 before a too-large body is read), the
request log (bytes counted on the way through, one row written when the request is done, and
a random ``x-request-id`` on every response, the same id on its row) and HSTS on every
response served over https."""

from __future__ import annotations

import json
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imagedesigner.infra.clientip import client_ip, is_https

SKIP_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED = "(unmatched)"
GPC_RESPONSE_HEADER = b"x-gpc-honoured"
REQUEST_ID_HEADER = b"x-request-id"
HSTS_HEADER = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


def _body(limit: int) -> bytes:
    mb = limit / (1024 * 1024)
    return json.dumps(
        {
            "error": {
                "message": f"The request body is larger than the {mb:g} MB limit.",
                "type": "invalid_request_error",
                "param": None,
                "code": "payload_too_large",
            }
        }
    ).encode()


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        exceeded = False
        replaced = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # stop feeding the app; whatever it answers is replaced by a 413
                    exceeded = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replaced
            if exceeded:
                if not replaced:
                    replaced = True
                    await self._reject(send)
                return
            await send(message)

        await self.app(scope, counted, guarded_send)

    async def _reject(self, send: Send) -> None:
        body = _body(self.max_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) or getattr(route, "path_format", None)
    return str(path)[:200] if path else UNMATCHED


def gpc_requested(scope: Scope) -> bool:
    for key, value in scope.get("headers") or ():
        if key == b"sec-gpc":
            return value.strip() == b"1"
    return False


def _clip(value: object, size: int) -> str | None:
    return None if value is None else str(value)[:size]


def new_request_id() -> str:
    """Random (never derived from the request), as OpenAI's ``req_...`` ids look."""
    return "req_" + secrets.token_hex(16)


class RequestId:
    """Outside everything (a 500 from Starlette's error middleware included): a random
    ``x-request-id`` on every response, kept in the request's state for its log row."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        value = request_id.encode()

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER
                ]
                message = {**message, "headers": [*headers, (REQUEST_ID_HEADER, value)]}
            await send(message)

        await self.app(scope, receive, tagged)


class RequestLogMiddleware:
    """Pure ASGI: counts bytes on the way through and writes one row when the request is done
    (with the request's ``x-request-id``, set by :class:`RequestId`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in SKIP_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = state.get("request_id")
        started = time.perf_counter()
        container = getattr(scope["app"].state, "container", None)
        at = container.clock.now() if container is not None else None
        gpc = gpc_requested(scope)
        state["gpc"] = gpc
        counts = {"in": 0, "out": 0, "status": 0}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                counts["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                counts["status"] = message["status"]
                if gpc:
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), (GPC_RESPONSE_HEADER, b"1")],
                    }
            elif message["type"] == "http.response.body":
                counts["out"] += len(message.get("body", b""))
            await send(message)

        failed = False
        try:
            await self.app(scope, counting_receive, counting_send)
        except Exception:
            failed = True
            raise
        finally:
            if container is not None and at is not None:
                row = {
                    "time": at,
                    "ip": _clip(client_ip(scope, container.settings.trusted_proxies), 45),
                    "ip_truncated": False,
                    "method": _clip(scope.get("method", "?"), 10),
                    "route": route_template(scope),
                    "status": counts["status"] if not failed or counts["status"] else 500,
                    "request_bytes": counts["in"] or _declared_length(scope),
                    "response_bytes": counts["out"],
                    "model": _clip(state.get("model"), 100),
                    "error_code": _clip(
                        "internal_error"
                        if failed and not counts["status"]
                        else state.get("error_code"),
                        60,
                    ),
                    "latency_ms": int((time.perf_counter() - started) * 1000),
                    "gpc": gpc,
                    "user_id": _clip(state.get("user_id"), 40),
                    "request_id": _clip(request_id, 40),
                }
                await container.request_log.submit(row)


def _declared_length(scope: Scope) -> int:
    """A body refused before it was read (413) still has a declared size worth recording."""
    for key, value in scope.get("headers") or ():
        if key == b"content-length" and value.isdigit():
            return int(value)
    return 0


class Hsts:
    """``Strict-Transport-Security`` on every response to a request that came over https (the
    connection's own scheme, or ``X-Forwarded-Proto: https`` from a trusted proxy); never over
    plain http, where the header means nothing and must not be sent (RFC 6797, 7.2)."""

    def __init__(self, app: ASGIApp, trusted_proxies: list[str] | tuple[str, ...]) -> None:
        self.app = app
        self.trusted = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_https(scope, self.trusted):
            await self.app(scope, receive, send)
            return

        async def with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != HSTS_HEADER[0]
                ]
                message = {**message, "headers": [*headers, HSTS_HEADER]}
            await send(message)

        await self.app(scope, receive, with_hsts)
