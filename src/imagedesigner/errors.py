"""Domain errors, typed once. ``api/errors.py`` is the only place that maps them to HTTP.

Every error carries the OpenAI error-envelope fields: ``message``, ``type``, ``param``, ``code``.
"""

from __future__ import annotations


class DomainError(Exception):
    status: int = 400
    type: str = "invalid_request_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}


class InvalidRequest(DomainError):
    status = 400
    code = "invalid_request"


class ContentPolicyViolation(DomainError):
    status = 400
    code = "content_policy_violation"


class AuthenticationFailed(DomainError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(DomainError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    type = "not_found_error"
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class RateLimited(DomainError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        headers = kw.pop("headers", None) or {}
        if retry_after is not None:
            headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        super().__init__(message, headers=headers, **kw)
        self.retry_after = retry_after


class UpstreamError(DomainError):
    status = 502
    type = "api_error"
    code = "upstream_error"


class UpstreamTimeout(DomainError):
    status = 504
    type = "api_error"
    code = "upstream_timeout"


class ServiceUnavailable(DomainError):
    status = 503
    type = "api_error"
    code = "service_unavailable"


class DatabaseBusy(ServiceUnavailable):
    """The database stayed locked past its busy timeout: nothing was written; try again."""

    code = "database_busy"


class InsufficientStorage(DomainError):
    """The blob store is full (ENOSPC): the image was not stored, and nothing of it is left."""

    status = 507
    type = "api_error"
    code = "insufficient_storage"
