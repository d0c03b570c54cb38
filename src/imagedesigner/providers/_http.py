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
  non-2xx statuses translated into the :class:`ProviderError` family by :func:`error_for_status`.
  Adapters call it through :meth:`HttpProvider._send`, which adds their auth headers, cap and key.
* :func:`send_events` — the same for an answer that is a ``text/event-stream``: the bytes go
  through :class:`SSEParser` and each event to a callback as it arrives, with the size cap
  counted over the whole stream and the same error mapping, mid-stream too
  (:meth:`HttpProvider._send_events`).

No httpx exception leaves this module, and no message built here contains a key: provider texts
pass through :func:`redact` before they reach an exception.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypedDict

import httpx
import orjson
import pybase64

from imagedesigner import errors
from imagedesigner.imaging.errors import ImagingError
from imagedesigner.imaging.hygiene import image_dimensions, sniff, validate_output
from imagedesigner.kit.httpclient import CookielessClient
from imagedesigner.providers._aiohttp import AiohttpTransport
from imagedesigner.providers._lift import json_lifting
from imagedesigner.providers.base import (
    ModelInfo,
    ProviderAuthError,
    ProviderBadResponse,
    ProviderContentRefused,
    ProviderError,
    ProviderInvalidRequest,
    ProviderOutOfCredits,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    SubprocessorInfo,
)

log = logging.getLogger("imagedesigner.providers")

ERROR_BODY_LIMIT = 64 * 1024  # error bodies are small; never read more than this of one
_MESSAGE_LIMIT = 500
_SECRETISH = re.compile(
    r"(?i)(bearer\s+|key\s+)[^\s\"',]+|\bsk-[A-Za-z0-9_\-*.]{4,}|\b[0-9a-f]{8}-[0-9a-f-]{27,}:[^\s\"',]+"
)


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


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove keys (the configured ones, and anything that looks like a bearer/API key)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = _SECRETISH.sub("[redacted]", text)
    if len(text) > _MESSAGE_LIMIT:
        text = text[: _MESSAGE_LIMIT - 1] + "…"
    return text


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


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds or an HTTP date → seconds (None if absent/unparseable)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class ErrorInfo:
    """What an adapter extracted from a provider's error body."""

    message: str | None = None  # the provider's own message
    code: str | None = None  # the provider's error code / type, for logs
    refusal: str | None = None  # set when this is a content-policy refusal: the provider's reason
    out_of_credits: bool = False  # e.g. OpenAI 429 insufficient_quota


def error_for_status(
    label: str,
    status: int,
    headers: httpx.Headers | dict[str, str],
    info: ErrorInfo,
    secrets: Iterable[str | None] = (),
) -> ProviderError:
    """The one status → ProviderError mapping, shared by all adapters."""
    secrets = tuple(secrets)
    msg = redact(info.message, secrets) if info.message else None
    if info.refusal is not None:
        reason = redact(info.refusal, secrets) or "no reason given"
        return ProviderContentRefused(
            f"{label} refused the request under its content policy: {reason}"
        )
    if info.out_of_credits or status == 402:
        return ProviderOutOfCredits(f"{label} reports the operator's account is out of credits.")
    if status in (401, 403):
        return ProviderAuthError(f"The operator's key for {label} was rejected.")
    if status == 429:
        retry_after = parse_retry_after(headers.get("retry-after"))
        return ProviderRateLimited(f"{label} is rate limiting requests.", retry_after=retry_after)
    if status == 503:
        err = ProviderUnavailable(f"{label} is temporarily unavailable (HTTP 503).")
        err.retry_after = parse_retry_after(headers.get("retry-after"))  # type: ignore[attr-defined]
        return err
    if status in (408, 504, 524):
        return ProviderTimeout(f"{label} timed out (HTTP {status}).")
    if status in (400, 413, 422):
        return ProviderInvalidRequest(f"{label} rejected the request: {msg or f'HTTP {status}'}")
    detail = f": {msg}" if msg else ""
    return ProviderError(f"{label} returned an error (HTTP {status}){detail}")


def json_body(data: bytes, label: str) -> Any:
    try:
        return orjson.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderBadResponse(f"{label} returned a response that is not valid JSON.") from exc


def json_object_lifting(data: bytes, label: str, key: str) -> tuple[dict, dict[str, memoryview]]:
    """:func:`json_object`, with the long base64 values of ``key`` left as bytes
    (:func:`imagedesigner.providers._lift.json_lifting`)."""
    try:
        body, lifted = json_lifting(data, key)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderBadResponse(f"{label} returned a response that is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise ProviderBadResponse(f"{label} returned an unexpected JSON response.")
    return body, lifted


def json_object(data: bytes, label: str) -> dict:
    body = json_body(data, label)
    if not isinstance(body, dict):
        raise ProviderBadResponse(f"{label} returned an unexpected JSON response.")
    return body


def safe_json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


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


# --- Server-Sent Events ---------------------------------------------------------------------


@dataclass(frozen=True)
class SSEEvent:
    event: str  # the ``event:`` field, "message" when the server sent none
    data: str  # the ``data:`` lines joined with "\n"
    id: str | None = None


_EOL = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


class SSEParser:
    """An incremental ``text/event-stream`` parser (the WHATWG rules, minus ``retry``).

    :meth:`feed` takes raw bytes as they arrive and returns the events completed by them. Lines
    end with CRLF, LF or CR (a CR at the end of a chunk waits for the next one, in case an LF
    follows); ``:`` lines are comments; an event is dispatched at a blank line if it had data;
    an event left unfinished at the end of the stream is dropped, as the standard says. The
    parser keeps only the unfinished line and event, and scans each byte once, so a long line
    costs linear time; the caller bounds the total (see :func:`send_events`).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scan = 0  # bytes of _buf already searched for a line end
        self._bom_checked = False
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buf += chunk
        if not self._bom_checked:  # one UTF-8 BOM may open the stream
            if len(self._buf) < 3 and _BOM.startswith(bytes(self._buf)):
                return []
            if self._buf.startswith(_BOM):
                del self._buf[:3]
            self._bom_checked = True
        out: list[SSEEvent] = []
        start, scan = 0, self._scan
        while True:
            match = _EOL.search(self._buf, scan)
            if match is None:
                scan = len(self._buf)
                break
            if match.group() == b"\r" and match.end() == len(self._buf):
                scan = match.start()  # maybe the first half of a CRLF
                break
            self._line(bytes(self._buf[start : match.start()]), out)
            start = scan = match.end()
        del self._buf[:start]
        self._scan = scan - start
        return out

    def _line(self, line: bytes, out: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                out.append(SSEEvent(self._event or "message", "\n".join(self._data), self._id))
            self._event, self._data = "", []
            return
        text = line.decode("utf-8", "replace")
        if text.startswith(":"):
            return
        name, sep, value = text.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value


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


# --- small helpers shared by the adapters ---------------------------------------------------


def ratio_value(ratio: str) -> float:
    w, _, h = ratio.partition(":")
    return float(w) / float(h)


def nearest_ratio(width: int, height: int, ratios: Iterable[str]) -> str:
    """The listed aspect ratio closest to width:height (compared on a log scale)."""
    target = math.log(width / height)
    return min(ratios, key=lambda r: abs(math.log(ratio_value(r)) - target))


_USAGE_ALIASES = {"prompt_tokens": "input_tokens", "completion_tokens": "output_tokens"}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def usage_of(raw: Any) -> dict | None:
    """A provider's ``usage`` in OpenAI's image shape: ``input_tokens``, ``output_tokens``,
    ``total_tokens`` and their ``*_details`` (numbers only), plus ``cost`` where the provider
    reports one (OpenRouter). Chat-style names (``prompt_tokens``) are renamed; anything else
    (text, unknown nesting) is dropped."""
    if not isinstance(raw, dict):
        return None
    out: dict = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        name = _USAGE_ALIASES.get(key, key)
        if _number(value) and (name.endswith("_tokens") or name == "cost"):
            out.setdefault(name, value)
        elif isinstance(value, dict) and name.endswith("_details"):
            details = {k: v for k, v in value.items() if isinstance(k, str) and _number(v)}
            if details:
                out[name.replace("prompt_", "input_").replace("completion_", "output_")] = details
    return out or None


def data_uri(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{pybase64.b64encode_as_string(data)}"


def decode_b64(text: Any, label: str) -> bytes:
    """Strict base64 (a ``str``, or the raw bytes :func:`json_object_lifting` cut out)."""
    if not isinstance(text, str | memoryview) or not text:
        raise ProviderBadResponse(f"{label} returned an image without data.")
    try:
        # pybase64: SIMD, 0.1 ms for a 1.5 MB image where the stdlib's validating decode takes
        # 7 ms; validate: the alphabet only, padding only at the end
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderBadResponse(f"{label} returned image data that is not valid base64.") from exc


def check_count(items: list, asked: int, label: str) -> None:
    """More images than were asked for is a broken answer: refused before any is decoded."""
    if len(items) > asked:
        raise ProviderBadResponse(f"{label} returned {len(items)} images for a request of {asked}.")


def decode_data_uri(uri: str, label: str) -> tuple[str | None, bytes]:
    """``data:<type>;base64,<data>`` → (media type, bytes)."""
    head, sep, payload = uri.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise ProviderBadResponse(f"{label} returned an image that is not a base64 data URL.")
    media_type = head[5:-7].split(";")[0].strip().lower() or None
    return media_type, decode_b64(payload, label)


def check_image(
    data: bytes, declared: str | None, label: str, *, max_bytes: int, max_pixels: int
) -> tuple[str, int, int]:
    """Validate provider output bytes (real image of the declared type, within the caps).

    Imaging reports an unusable image as an ``ImagingError``; here it becomes this provider's
    :class:`ProviderBadResponse`, with the provider named in the message.
    """

    try:
        return validate_output(
            data, declared_media_type=declared, max_bytes=max_bytes, max_pixels=max_pixels
        )
    except ImagingError as exc:
        log.warning("provider output rejected: provider=%s reason=%s", label, exc.message)
        raise ProviderBadResponse(f"{label}: {exc.message}.") from None
    except Exception as exc:  # anything else the decoder throws is still a bad response
        log.warning("provider output rejected: provider=%s error=%s", label, type(exc).__name__)
        raise ProviderBadResponse(f"{label} returned data that is not a valid image.") from None


def image_header(data: bytes, *, max_pixels: int) -> tuple[str, int, int] | None:
    """A cheap look at image bytes: ``(format, width, height)`` from the magic bytes and header
    alone (no decoding), or None when they are not a PNG, JPEG or WebP within ``max_pixels``.
    For previews (partial images); final outputs go through :func:`check_image`."""
    try:
        fmt = sniff(data)
        width, height = image_dimensions(data)
    except errors.DomainError:
        return None
    if width <= 0 or height <= 0 or width * height > max_pixels:
        return None
    return fmt, width, height


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
