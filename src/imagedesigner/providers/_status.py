"""How a provider's failure is told: its error body (:class:`ErrorInfo`, each adapter's
``parse_error``), its status and ``Retry-After`` (:func:`error_for_status`, the one mapping onto
the :class:`~imagedesigner.providers.base.ProviderError` family), and :func:`redact`, which every
provider text passes through before it reaches an exception or a log, so no key is ever shown.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from imagedesigner.providers.base import (
    ProviderAuthError,
    ProviderContentRefused,
    ProviderError,
    ProviderInvalidRequest,
    ProviderOutOfCredits,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)

_MESSAGE_LIMIT = 500
_SECRETISH = re.compile(
    r"(?i)(bearer\s+|key\s+)[^\s\"',]+|\bsk-[A-Za-z0-9_\-*.]{4,}|\b[0-9a-f]{8}-[0-9a-f-]{27,}:[^\s\"',]+"
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
