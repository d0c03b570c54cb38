"""Shared HTTP plumbing for the provider adapters (OpenAI, OpenRouter, fal).

* :class:`HttpProvider` — the base of the adapters. It takes typed arguments, as an httpx client
  does (base URL, key, timeouts, pool size, response cap, pixel cap, transport), and never reads
  ``Settings``: ``providers/registry.py`` maps the settings onto these arguments.
* :func:`make_client` — one ``httpx.AsyncClient`` (one connection pool) per provider: connect timeout
  ``connect_timeout``, read/write/pool timeouts ``timeout``, no redirects, no event hooks,
  an injectable transport so tests can mount a local fake; without one, the requests go out
  through aiohttp's client (:class:`~imagedesigner.providers._aiohttp.AiohttpTransport`).
* :func:`deadline` — the overall per-call deadline (``timeout``) → :class:`ProviderTimeout`.
* :func:`send` — one request, body streamed through :func:`read_capped` (the response-size cap is
  enforced while reading; the rest of an oversized body is never read), transport failures and
  non-2xx statuses translated into the :class:`ProviderError` family by
  :func:`~imagedesigner.providers._status.error_for_status`.
  Adapters call it through :meth:`HttpProvider._send`, which adds their auth headers, cap and key.
* :func:`send_events` — the same for an answer that is a ``text/event-stream``: the bytes go
  through :class:`SSEParser` and each event to a callback as it arrives, with the size cap
  counted over the whole stream and the same error mapping, mid-stream too
  (:meth:`HttpProvider._send_events`).

No httpx exception leaves this module, and no message built here contains a key: provider texts
pass through :func:`~imagedesigner.providers._status.redact` before they reach an exception.
Beside it: ``_status.py`` (error bodies, statuses → ProviderError), ``_content.py`` (reading an
answer: JSON, base64, images, usage), ``_sse.py`` (the event-stream parser), ``_aiohttp.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx
import orjson

from imagedesigner.kit.httpclient import CookielessClient
from imagedesigner.providers._aiohttp import AiohttpTransport
from imagedesigner.providers._content import check_image
from imagedesigner.providers._sse import SSEEvent, SSEParser
from imagedesigner.providers._status import ErrorInfo, error_for_status, redact
from imagedesigner.providers.base import (
    ModelInfo,
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    SubprocessorInfo,
)

log = logging.getLogger("imagedesigner.providers")

ERROR_BODY_LIMIT = 64 * 1024  # error bodies are small; never read more than this of one

# Defaults of the HttpProvider arguments (the same as the Settings defaults).
DEFAULT_TIMEOUT = 180.0  # seconds: the whole call, and each read/write/pool wait
DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds
DEFAULT_MAX_CONNECTIONS = 1000  # per provider: generations in flight at once
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000


def make_client(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    connect = min(connect_timeout, timeout)
    size = max_connections
    if transport is None:  # aiohttp's pool and parser under httpx's API (see _aiohttp.py)
        transport = AiohttpTransport(max_connections=size)
    return CookielessClient(  # no provider's cookie comes back with another user's call
        # waiting for a free connection counts against the call's total time, not the connect one
        timeout=httpx.Timeout(connect=connect, read=timeout, write=timeout, pool=timeout),
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=min(size, 100)),
        follow_redirects=False,
        transport=transport,
        headers=headers or {},
        trust_env=False,  # no proxy / netrc credentials picked up from the environment
    )


@asynccontextmanager
async def deadline(seconds: float, label: str) -> AsyncIterator[None]:
    """Overall deadline for one provider call (the provider's ``timeout``)."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as exc:
        raise ProviderTimeout(f"{label} did not answer within {seconds:g} seconds.") from exc


async def read_capped(response: httpx.Response, limit: int, label: str = "the provider") -> bytes:
    """Read a streamed response body, aborting as soon as it exceeds ``limit`` bytes.

    The declared Content-Length is checked first; then the running total of decoded bytes.
    On overflow the rest of the body is never read (the caller's stream context closes the
    connection).
    """
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ProviderBadResponse(f"The response from {label} exceeded {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ProviderBadResponse(f"The response from {label} exceeded {limit} bytes.")
        chunks.append(chunk)
    # one copy at the end (a growing bytearray copied a 1.5 MB answer about three times)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes


@asynccontextmanager
async def _exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    label: str,
    parse_error: Callable[[int, bytes], ErrorInfo],
    secrets: tuple[str | None, ...],
    **kwargs: Any,
) -> AsyncIterator[httpx.Response]:
    """Open one streamed exchange and yield its 2xx response; a non-2xx status becomes a
    ProviderError, and so does any httpx failure while the caller reads the body."""
    if "json" in kwargs:  # orjson, not httpx's stdlib encoding: ~35 us less per call
        kwargs["content"] = orjson.dumps(kwargs.pop("json"))
        kwargs["headers"] = {"Content-Type": "application/json", **(kwargs.get("headers") or {})}
    try:
        async with client.stream(method, url, **kwargs) as response:
            if response.status_code >= 400 or response.status_code < 200:
                body = await _read_error_body(response)
                info = parse_error(response.status_code, body)
                err = error_for_status(label, response.status_code, response.headers, info, secrets)
                log.warning(
                    "provider call failed: provider=%s status=%s code=%s error=%s",
                    label,
                    response.status_code,
                    redact(info.code or "-", secrets),
                    err.code,
                )
                raise err
            if response.status_code >= 300:
                raise ProviderBadResponse(
                    f"{label} answered with a redirect (HTTP {response.status_code}), "
                    "which is not followed."
                )
            yield response
    except ProviderError:
        raise
    except httpx.TimeoutException as exc:
        if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            raise ProviderUnavailable(f"Could not connect to {label} (connect timeout).") from None
        raise ProviderTimeout(f"{label} did not answer in time.") from None
    except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
        # ConnectError; ReadError/WriteError/CloseError: the connection was reset mid-exchange
        kind = type(exc).__name__
        log.warning("provider connection failed: provider=%s error=%s", label, kind)
        if isinstance(exc, httpx.ConnectError):
            raise ProviderUnavailable(f"Could not connect to {label}.") from None
        raise ProviderBadResponse(f"The connection to {label} broke off ({kind}).") from None
    except httpx.HTTPError as exc:
        log.warning("provider call failed: provider=%s error=%s", label, type(exc).__name__)
        raise ProviderError(f"The call to {label} failed ({type(exc).__name__}).") from None


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    label: str,
    limit: int,
    parse_error: Callable[[int, bytes], ErrorInfo],
    secrets: Iterable[str | None] = (),
    **kwargs: Any,
) -> Reply:
    """Send one request; return the (capped) body of a 2xx reply, raise ProviderError otherwise."""
    async with _exchange(
        client, method, url, label=label, parse_error=parse_error, secrets=tuple(secrets), **kwargs
    ) as response:
        body = await read_capped(response, limit, label)
        return Reply(response.status_code, response.headers, body)


async def send_events(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    label: str,
    limit: int,
    parse_error: Callable[[int, bytes], ErrorInfo],
    on_event: Callable[[SSEEvent], Awaitable[None]],
    secrets: Iterable[str | None] = (),
    **kwargs: Any,
) -> Reply | None:
    """Send one request whose 2xx answer is a ``text/event-stream``; await ``on_event`` for each
    event as it arrives. Returns None once the stream ends.

    The response-size cap ``limit`` counts every byte of the stream (not each event): past it the
    call fails with :class:`ProviderBadResponse` and the rest is never read. Status errors and
    transport failures, also mid-stream, map as in :func:`send`; a ProviderError raised by
    ``on_event`` (e.g. for an ``error`` event) ends the call. A 2xx answer that is not an event
    stream is read like :func:`send` reads it and returned as a :class:`Reply`.
    """
    async with _exchange(
        client, method, url, label=label, parse_error=parse_error, secrets=tuple(secrets), **kwargs
    ) as response:
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "text/event-stream":
            body = await read_capped(response, limit, label)
            return Reply(response.status_code, response.headers, body)
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise ProviderBadResponse(f"The response from {label} exceeded {limit} bytes.")
        parser, total = SSEParser(), 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > limit:
                raise ProviderBadResponse(f"The response from {label} exceeded {limit} bytes.")
            for event in parser.feed(chunk):
                await on_event(event)
    return None


async def _read_error_body(response: httpx.Response) -> bytes:
    try:
        return await read_capped(response, ERROR_BODY_LIMIT)
    except ProviderBadResponse:
        return b""


class HttpArgs(TypedDict, total=False):
    """The constructor arguments every HTTP adapter takes (see :class:`HttpProvider`)."""

    api_key: str | None
    base_url: str | None
    timeout: float
    connect_timeout: float
    max_connections: int
    max_response_bytes: int
    max_image_pixels: int
    transport: httpx.AsyncBaseTransport | None


class HttpProvider:
    """What every HTTP adapter shares: typed arguments, one lazily built pool, the send block.

    Arguments (all keyword-only, all optional):

    * ``api_key`` — the operator's key; without one the provider is listed but unavailable.
    * ``base_url`` — the API's base URL (default: the provider's public one, ``default_base_url``).
    * ``timeout`` — seconds for the whole call (the deadline) and for each read, write or wait
      for a pooled connection; ``connect_timeout`` — seconds to connect (at most ``timeout``).
    * ``max_connections`` — the connection pool size.
    * ``max_response_bytes`` — the cap on any response body (and on an output image).
    * ``max_image_pixels`` — the cap on an output image's pixels.
    * ``transport`` — an httpx transport to use instead of the network (tests mount fakes here).

    Subclasses set ``name``, ``label``, ``default_base_url``, ``catalog``, ``subprocessor`` and
    ``parse_error``; they may override :meth:`_headers` (the headers of every authorized call).
    """

    name: str
    label: str  # how error messages name the provider, e.g. "OpenAI"
    default_base_url: str
    catalog: tuple[ModelInfo, ...] = ()
    subprocessor: SubprocessorInfo | None = None
    parse_error: Callable[[int, bytes], ErrorInfo]  # the provider's error body → ErrorInfo

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.max_connections = int(max_connections)
        self.max_response_bytes = int(max_response_bytes)
        self.max_image_pixels = int(max_image_pixels)
        self._api_key = api_key or None
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._endpoints: dict[tuple[str, str], httpx.URL] = {}

    def endpoint(self, path: str) -> httpx.URL:
        """One of this provider's fixed endpoints, ``base_url`` + a constant ``path``, parsed
        once (httpx's parse was ~80 us of a call). Only constant paths: a URL that names a
        request or an image (fal's) stays a string, parsed per call and gone with it."""
        key = (self.base_url, path)
        found = self._endpoints.get(key)
        if found is None:
            found = self._endpoints[key] = httpx.URL(f"{self.base_url}{path}")
        return found

    @property
    def available(self) -> bool:
        return bool(self._api_key)

    def _require_key(self) -> str:
        key = self._api_key
        if not key:
            raise ProviderAuthError(f"The operator has not configured a key for {self.label}.")
        return key

    def models(self) -> list[ModelInfo]:
        return list(self.catalog)

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client(
                timeout=self.timeout,
                connect_timeout=self.connect_timeout,
                max_connections=self.max_connections,
                transport=self._transport,
            )
        return self._client

    def _headers(self, key: str) -> dict[str, str]:
        """Headers of every call that carries the key."""
        return {"Authorization": f"Bearer {key}"}

    def _deadline(self) -> AbstractAsyncContextManager[None]:
        """The overall deadline of one call (``timeout``)."""
        return deadline(self.timeout, self.label)

    async def _send(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        authorized: bool = True,
        label: str | None = None,
        parse_error: Callable[[int, bytes], ErrorInfo] | None = None,
        **kwargs: Any,
    ) -> Reply:
        """The one send block of the adapters: :func:`send` with this provider's pool, response
        cap, error parser and (``authorized``) key headers; the key is redacted from any error.
        """
        if authorized:
            kwargs["headers"] = {**self._headers(self._require_key()), **kwargs.get("headers", {})}
        return await send(
            self._get_client(),
            method,
            url,
            label=label or self.label,
            limit=self.max_response_bytes,
            parse_error=parse_error or self.parse_error,
            secrets=(self._api_key,),
            **kwargs,
        )

    async def _send_events(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        on_event: Callable[[SSEEvent], Awaitable[None]],
        **kwargs: Any,
    ) -> Reply | None:
        """:func:`send_events` with this provider's pool, cap, error parser and key headers."""
        kwargs["headers"] = {**self._headers(self._require_key()), **kwargs.get("headers", {})}
        return await send_events(
            self._get_client(),
            method,
            url,
            label=self.label,
            limit=self.max_response_bytes,
            parse_error=self.parse_error,
            on_event=on_event,
            secrets=(self._api_key,),
            **kwargs,
        )

    def _check_image(self, data: bytes, declared: str | None) -> tuple[str, int, int]:
        """:func:`check_image` with this provider's caps."""
        return check_image(
            data,
            declared,
            self.label,
            max_bytes=self.max_response_bytes,
            max_pixels=self.max_image_pixels,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
