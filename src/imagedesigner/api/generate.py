"""What generations and edits share once their parameters are validated: submit the job,
cancel it if the client leaves, and render OpenAI's ``ImagesResponse``.

``url`` results are signed, expiring links (``generation/links.py``) that open without a key.
Image URLs never follow an arbitrary ``Host`` header: the base is ``IMAGEDESIGNER_PUBLIC_URL``
when set; otherwise the request's host only when it is a loopback name or address, one of
``IMAGEDESIGNER_ALLOWED_HOSTS``, or the very address the connection arrived at; otherwise the
configured ``IMAGEDESIGNER_HOST``/``IMAGEDESIGNER_PORT``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import re
import secrets
from datetime import datetime

import pybase64
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from imagedesigner.api.schemas import ImageDatum, ImageParams, ImagesResponse, image_path
from imagedesigner.config import Settings
from imagedesigner.container import Container
from imagedesigner.db.models import User
from imagedesigner.generation import links, service
from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.infra.clientip import is_https
from imagedesigner.providers.base import ParamWarning

PROVIDER_HEADER = "X-ImageDesigner-Provider"
WARNINGS_HEADER = "X-ImageDesigner-Warnings"
WARNINGS_HEADER_MAX = 1024
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::([0-9]{1,5}))?")
# the stand-in for an image's base64 while the answer is serialised: a per-process random
# prefix and a fixed-width counter (unique, none a prefix of another, no random draw per
# image)
_PLACEHOLDER = f"b64-{secrets.token_hex(12)}-"
_placeholders = itertools.count()
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSPECIFIED = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - not a bind


def _split_host(header: str) -> tuple[str, int | None] | None:
    match = _HOST.fullmatch(header.strip())
    if match is None:
        return None
    port = int(match.group(2)) if match.group(2) else None
    if port is not None and not 0 < port < 65536:
        return None
    return match.group(1).lower(), port


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _arrived_at(request: Request, host: str, port: int | None, scheme: str) -> bool:
    """The Host names the address and port this connection was accepted on (the server's own
    socket address, which a client cannot choose)."""
    server = request.scope.get("server")
    if not server or server[0] is None:
        return False
    own_host, own_port = str(server[0]).lower().strip("[]"), server[1]
    wanted = port if port is not None else _DEFAULT_PORTS.get(scheme)
    return host.strip("[]") == own_host and (own_port is None or wanted == own_port)


def _url(scheme: str, host: str, port: int | None) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    default = _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def public_base_url(request: Request, settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    scheme = "https" if is_https(request.scope, settings.trusted_proxies) else "http"
    parsed = _split_host(request.headers.get("host", ""))
    if parsed is not None:
        host, port = parsed
        allowed = {h.strip().lower() for h in settings.allowed_hosts}
        if _is_loopback(host) or host in allowed or _arrived_at(request, host, port, scheme):
            return _url(scheme, host, port)
    host = _UNSPECIFIED.get(settings.host, settings.host)
    return _url("http", host, settings.port)


def image_url(request: Request, c: Container, image_id: str, content_expires: datetime | None):
    """A signed link to a stored image: opens with a plain GET until ``image_url_ttl`` from now
    (never after the content itself expires), while the image exists."""
    expires = links.expiry(c.clock.now(), c.settings.image_url_ttl, content_expires)
    signed = links.query(c.settings.resolved_secret(), image_id, expires)
    return f"{public_base_url(request, c.settings)}{image_path(image_id)}?{signed}"


def warnings_header(warnings: list[dict]) -> dict[str, str]:
    """The warnings as one compact header, ``param=type`` comma-separated (``size=approximated,
    style=ignored``): proxies that rebuild the JSON body (LiteLLM's) keep headers."""
    items = list(dict.fromkeys(f"{w['param']}={w['type']}" for w in warnings))
    value = ", ".join(items)
    if not value:
        return {}
    if len(value) > WARNINGS_HEADER_MAX:
        value = value[: WARNINGS_HEADER_MAX - 5].rsplit(",", 1)[0] + ", ..."
    return {WARNINGS_HEADER: value.encode("ascii", "replace").decode()}


def render(
    request: Request,
    c: Container,
    outcome: service.Outcome,
    response_format: str,
    extra_warnings: list[ParamWarning],
) -> JSONResponse:
    warnings = [w.as_dict() for w in [*extra_warnings, *outcome.warnings]]
    data = []
    images: list[tuple[bytes, bytes]] = []  # (placeholder, base64) spliced in after serialising
    for out in outcome.outputs:
        datum = ImageDatum(revised_prompt=out.image.revised_prompt)
        if response_format == "url":
            datum.url = image_url(request, c, out.image_id, outcome.expires_at)
        else:
            datum.b64_json = f"{_PLACEHOLDER}{next(_placeholders):016d}"  # fixed width
            # pybase64 (SIMD) encodes a 1 MB image in 0.1 ms: cheaper in memory than keeping the
            # provider's own base64 beside the decoded bytes from its answer until this point
            images.append((datum.b64_json.encode(), pybase64.b64encode(out.image.data)))
        data.append(datum)
    first = outcome.outputs[0].image
    body = ImagesResponse(
        created=int(outcome.created.timestamp()),
        data=data,
        usage=outcome.usage,
        output_format=first.media_type.split("/")[-1],
        size=f"{first.width}x{first.height}",
        quality=outcome.echo.get("quality"),
        background=outcome.echo.get("background"),
        id=outcome.generation_id,
        model=outcome.model.id,
        provider=outcome.model.provider,
        warnings=warnings,
        expires_at=int(outcome.expires_at.timestamp()) if outcome.expires_at else None,
    )
    payload = body.__pydantic_serializer__.to_json(body, exclude_none=True)  # no stdlib json
    headers = {
        PROVIDER_HEADER: outcome.model.provider,
        "Cache-Control": "no-store",
        **warnings_header(warnings),
    }
    # base64 needs no JSON escaping: it goes in where its placeholder is, never scanned
    if sum(len(b64) for _, b64 in images) >= SPLICE_MIN:
        return SplicedJSON(_spliced(payload, images), headers)
    for placeholder, b64 in images:
        payload = payload.replace(placeholder, b64, 1)
    return Response(payload, media_type="application/json", headers=headers)


SPLICE_MIN = 256 * 1024  # bytes of base64 from which the answer is sent in pieces


def _spliced(payload: bytes, images: list[tuple[bytes, bytes]]) -> list[bytes]:
    """The serialised answer cut at each placeholder, with the image's base64 in its place."""
    parts, pos = [], 0
    for placeholder, b64 in images:
        at = payload.index(placeholder, pos)
        parts += (payload[pos:at], b64)
        pos = at + len(placeholder)
    parts.append(payload[pos:])
    return parts


class SplicedJSON(Response):
    """A JSON answer sent as its pieces (the document around each image's base64), so a
    megabyte-sized image is not copied once more to join them; Content-Length is their sum."""

    media_type = "application/json"

    def __init__(self, parts: list[bytes], headers: dict[str, str]) -> None:
        self.parts = parts
        self.status_code = 200
        self.background = None
        self.body = b""
        self.init_headers({**headers, "Content-Length": str(sum(map(len, parts)))})

    async def __call__(self, scope, receive, send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        last = len(self.parts) - 1
        for i, part in enumerate(self.parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < last})


async def cancel_on_disconnect(request: Request, coro):
    """Run ``coro``, cancelling it if the client goes away (so a queued provider job is
    cancelled and nothing of the request is kept). A departed client raises
    ``ClientDisconnect``, which is recorded as such, not as a failure."""
    task = asyncio.ensure_future(coro)
    gone = False

    async def watch() -> None:
        nonlocal gone
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                gone = True
                task.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        return await task
    except asyncio.CancelledError:
        if gone:
            raise ClientDisconnect() from None
        raise
    finally:
        watcher.cancel()


async def run(
    request: Request,
    c: Container,
    session: AsyncSession | None,
    user: User,
    params: ImageParams,
    inp: GenerationInput,
    *,
    kind: str = "generation",
) -> Response:
    """Generate (or edit) with validated parameters, as a job (``api/jobs.py``): the OpenAI
    response when it is done, ``202`` with the job for ``Prefer: respond-async``, or OpenAI's
    event stream for ``stream: true``."""
    from imagedesigner.api import jobs

    return await jobs.submit(
        request,
        c,
        session,
        user,
        params.model,
        inp,
        params.response_format or "b64_json",
        params.ignored(),
        kind=kind,
        stream=bool(params.stream),
        partial_images=params.partial_images or 0,
        webhook_url=params.webhook_url,
    )
