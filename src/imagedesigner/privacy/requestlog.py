"""The request log: the policy's "Technical and usage data (minimal)".

One row per request with only: time, client IP, method, route *template* (``/v1/images/{image_id}``,
never the raw path, query string or path parameters), status, request and response byte counts,
model, error code, latency, the Global Privacy Control flag and the account it belongs to (so
export and erasure find it). Bodies are never read here, only counted as they stream past.

The row is written after the last byte of the response has been handed to the server (one pooled
connection, one INSERT), so the client never waits for it. ``/healthz`` and ``/readyz`` are not
logged. Sweep steps truncate IPs after ``ip_retention`` and delete rows after ``log_retention``.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imagedesigner.db.models_logs import RequestLog
from imagedesigner.privacy.clientip import client_ip, truncate_ip
from imagedesigner.privacy.holds import held_user_ids

log = logging.getLogger("imagedesigner.requestlog")

SKIP_PATHS = frozenset({"/healthz", "/readyz"})
UNMATCHED = "(unmatched)"
GPC_RESPONSE_HEADER = b"x-gpc-honoured"
BATCH = 500


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


class RequestLogMiddleware:
    """Pure ASGI: counts bytes on the way through and writes one row when the request is done."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in SKIP_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        container = getattr(scope["app"].state, "container", None)
        at = container.clock.now() if container is not None else None
        gpc = gpc_requested(scope)
        state = scope.setdefault("state", {})
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
                }
                await write(container, row)


def _declared_length(scope: Scope) -> int:
    """A body refused before it was read (413) still has a declared size worth recording."""
    for key, value in scope.get("headers") or ():
        if key == b"content-length" and value.isdigit():
            return int(value)
    return 0


async def write(container, row: dict) -> None:
    try:
        async with container.engine.begin() as conn:
            await conn.execute(insert(RequestLog.__table__), [row])
    except Exception as first:  # noqa: BLE001 - the response is already sent; never log the row
        exc: Exception = first
        if row.get("user_id"):
            # the account may have been erased while the request ran: keep no link to it
            try:
                async with container.engine.begin() as conn:
                    await conn.execute(insert(RequestLog.__table__), [{**row, "user_id": None}])
                return
            except Exception as again:  # noqa: BLE001
                exc = again
        log.warning("request log write failed: %s", type(exc).__name__)


# --- retention -------------------------------------------------------------------------------


async def sweep_truncate_ips(c, now: datetime) -> dict[str, int]:
    """After ``ip_retention``: keep only the /24 (IPv4) or /48 (IPv6) network of each address."""
    cutoff = now - c.settings.ip_retention
    held = await held_user_ids(c)
    v4, v6 = c.settings.ipv4_truncate_prefix, c.settings.ipv6_truncate_prefix
    done = 0
    while True:
        async with c.sessions() as session, session.begin():
            query = select(RequestLog.id, RequestLog.ip).where(
                RequestLog.ip_truncated.is_(False), RequestLog.time <= cutoff
            )
            if held:
                query = query.where(RequestLog.user_id.is_(None) | RequestLog.user_id.not_in(held))
            rows = (await session.execute(query.limit(BATCH))).all()
            if not rows:
                break
            groups: dict[str | None, list[int]] = defaultdict(list)
            for row_id, ip in rows:
                groups[truncate_ip(ip, v4, v6) or None if ip else None].append(row_id)
            for value, ids in groups.items():
                await session.execute(
                    update(RequestLog)
                    .where(RequestLog.id.in_(ids))
                    .values(ip=value, ip_truncated=True)
                )
        done += len(rows)
    return {"log_ips_truncated": done}


async def sweep_old_logs(c, now: datetime) -> dict[str, int]:
    """After ``log_retention``: the row is deleted."""
    cutoff = now - c.settings.log_retention
    held = await held_user_ids(c)
    query = delete(RequestLog).where(RequestLog.time <= cutoff)
    if held:
        query = query.where(RequestLog.user_id.is_(None) | RequestLog.user_id.not_in(held))
    async with c.sessions() as session, session.begin():
        result = await session.execute(query)
    return {"logs_deleted": result.rowcount or 0}
