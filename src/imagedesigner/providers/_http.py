"""Shared HTTP plumbing for the provider adapters (OpenAI, OpenRouter, fal).

* :func:`make_client` — one ``httpx.AsyncClient`` (one connection pool) per provider: connect timeout
  ``provider_connect_timeout``, read/write timeouts ``provider_timeout``, no redirects, no event hooks,
  an injectable transport so tests can mount a local fake.
* :func:`deadline` — the overall per-call deadline (``provider_timeout``) → :class:`ProviderTimeout`.
* :func:`send` — one request, body streamed through :func:`read_capped` (the response-size cap is
  enforced while reading; the rest of an oversized body is never read), transport failures and
  non-2xx statuses translated into the :class:`ProviderError` family by :func:`error_for_status`.

No httpx exception leaves this module, and no message built here contains a key: provider texts
pass through :func:`redact` before they reach an exception.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from imagedesigner.config import Settings
from imagedesigner.imaging.hygiene import validate_output
from imagedesigner.kit.clock import Clock
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
)

log = logging.getLogger("imagedesigner.providers")

ERROR_BODY_LIMIT = 64 * 1024  # error bodies are small; never read more than this of one
_MESSAGE_LIMIT = 500
_SECRETISH = re.compile(
    r"(?i)(bearer\s+|key\s+)[^\s\"',]+|\bsk-[A-Za-z0-9_\-*.]{4,}|\b[0-9a-f]{8}-[0-9a-f-]{27,}:[^\s\"',]+"
)


def make_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    total = settings.provider_timeout.total_seconds()
    connect = min(settings.provider_connect_timeout.total_seconds(), total)
    size = settings.provider_max_connections
    return httpx.AsyncClient(
        # waiting for a free connection counts against the call's total time, not the connect one
        timeout=httpx.Timeout(connect=connect, read=total, write=total, pool=total),
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
async def deadline(settings: Settings, label: str) -> AsyncIterator[None]:
    """Overall deadline for one provider call (``provider_timeout``)."""
    seconds = settings.provider_timeout.total_seconds()
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
    buf = bytearray()
    async for chunk in response.aiter_bytes():
        buf += chunk
        if len(buf) > limit:
            raise ProviderBadResponse(f"The response from {label} exceeded {limit} bytes.")
    return bytes(buf)


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
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderBadResponse(f"{label} returned a response that is not valid JSON.") from exc


def json_object(data: bytes, label: str) -> dict:
    body = json_body(data, label)
    if not isinstance(body, dict):
        raise ProviderBadResponse(f"{label} returned an unexpected JSON response.")
    return body


def safe_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    label: str,
    limit: int,
    parse_error: Callable[[int, bytes], ErrorInfo],
    secrets: Iterable[str | None] = (),
    **kwargs: Any,
) -> Reply:
    """Send one request; return the (capped) body of a 2xx reply, raise ProviderError otherwise."""
    secrets = tuple(secrets)
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
            body = await read_capped(response, limit, label)
            return Reply(response.status_code, response.headers, body)
    except ProviderError:
        raise
    except httpx.TimeoutException as exc:
        if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            raise ProviderUnavailable(f"Could not connect to {label} (connect timeout).") from None
        raise ProviderTimeout(f"{label} did not answer in time.") from None
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
        kind = type(exc).__name__
        log.warning("provider connection failed: provider=%s error=%s", label, kind)
        if isinstance(exc, httpx.ConnectError):
            raise ProviderUnavailable(f"Could not connect to {label}.") from None
        raise ProviderBadResponse(f"The connection to {label} broke off ({kind}).") from None
    except httpx.HTTPError as exc:
        log.warning("provider call failed: provider=%s error=%s", label, type(exc).__name__)
        raise ProviderError(f"The call to {label} failed ({type(exc).__name__}).") from None


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


def data_uri(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def decode_b64(text: Any, label: str) -> bytes:
    if not isinstance(text, str) or not text:
        raise ProviderBadResponse(f"{label} returned an image without data.")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderBadResponse(f"{label} returned image data that is not valid base64.") from exc


def decode_data_uri(uri: str, label: str) -> tuple[str | None, bytes]:
    """``data:<type>;base64,<data>`` → (media type, bytes)."""
    head, sep, payload = uri.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise ProviderBadResponse(f"{label} returned an image that is not a base64 data URL.")
    media_type = head[5:-7].split(";")[0].strip().lower() or None
    return media_type, decode_b64(payload, label)


def check_image(
    data: bytes, declared: str | None, settings: Settings, label: str
) -> tuple[str, int, int]:
    """Validate provider output bytes (real image of the declared type, within the caps)."""

    try:
        return validate_output(
            data,
            declared_media_type=declared,
            max_bytes=settings.provider_max_response_bytes,
            max_pixels=settings.max_image_pixels,
        )
    except ProviderBadResponse as exc:
        log.warning("provider output rejected: provider=%s reason=%s", label, exc.message)
        raise ProviderBadResponse(f"{label}: {exc.message}.") from None
    except Exception as exc:  # anything else the decoder throws is still a bad response
        log.warning("provider output rejected: provider=%s error=%s", label, type(exc).__name__)
        raise ProviderBadResponse(f"{label} returned data that is not a valid image.") from None


class HttpProvider:
    """What every HTTP adapter shares: settings, one lazily built connection pool, the key.

    Subclasses set ``name``, ``key_setting`` (the Settings field holding the key) and ``catalog``.
    """

    name: str
    label: str  # how error messages name the provider, e.g. "OpenAI"
    key_setting: str
    base_url_setting: str  # the Settings field holding the API's base URL
    catalog: tuple[ModelInfo, ...] = ()

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._base = getattr(settings, self.base_url_setting).rstrip("/")

    @property
    def _key(self) -> str | None:
        key = getattr(self.settings, self.key_setting)
        return key.get_secret_value() if key is not None else None

    @property
    def available(self) -> bool:
        return bool(self._key)

    def _require_key(self) -> str:
        key = self._key
        if not key:
            raise ProviderAuthError(f"The operator has not configured a key for {self.label}.")
        return key

    def models(self) -> list[ModelInfo]:
        return list(self.catalog)

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client(self.settings, transport=self._transport)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
