"""The only place where errors become HTTP responses.

Under ``/v1`` (and for every JSON client) errors use OpenAI's envelope
``{"error": {"message", "type", "param", "code"}}``, including framework validation errors,
which never leak as FastAPI's 422 body. Messages never contain request bodies or keys.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from imagedesigner import errors
from imagedesigner.db.engine import is_lock_timeout

log = logging.getLogger("imagedesigner.errors")
CLIENT_CLOSED = 499  # nginx's "client closed request": recorded, never sent to anyone
DEFAULT_RETRY_AFTER = 5  # seconds, for a 429 whose cause (e.g. a provider) named no time

_HTTP_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "payload_too_large"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def _text(value: str | None) -> str | None:
    """Error text is always encodable: a lone surrogate (say, in an unknown field's name) is
    shown as its escape instead of failing the error response itself."""
    if value is None:
        return None
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict:
    return {
        "error": {"message": _text(message), "type": type_, "param": _text(param), "code": code}
    }


def error_response(
    request: Request | None,
    status: int,
    message: str,
    type_: str,
    code: str | None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    if request is not None:
        request.state.error_code = code
    return JSONResponse(
        error_body(message, type_, code, param), status_code=status, headers=headers
    )


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0] if exc.errors() else {}
    kind = first.get("type", "")
    loc = [str(p) for p in first.get("loc", ())]
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]  # where it came from; a field may be called 'body' too (tickets)
    param = loc[-1] if loc else None
    if kind == "json_invalid":
        return "We could not parse the JSON body of your request: send valid JSON.", None
    if kind == "missing" and param is None:
        return "The request body is missing: send a JSON object.", None
    if kind == "missing":
        return f"Missing required parameter: '{param}'.", param
    if kind == "extra_forbidden":
        return f"Unrecognized request argument supplied: {param}", param
    if kind == "string_unicode":  # e.g. a lone surrogate in a field's name
        where = f" in '{param}'" if param else ""
        return f"The request has text{where} that is not valid Unicode (a lone surrogate).", param
    if kind in ("model_attributes_type", "dict_type") and not loc:
        return "The request body must be a JSON object.", None
    msg = first.get("msg", "Invalid request.")
    return (f"Invalid value for '{param}': {msg}." if param else f"{msg}."), param


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def _domain(request: Request, exc: errors.DomainError) -> JSONResponse:
        headers = dict(exc.headers)
        if exc.status == 429:
            headers.setdefault("Retry-After", str(DEFAULT_RETRY_AFTER))
        return error_response(
            request, exc.status, exc.message, exc.type, exc.code, exc.param, headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return error_response(
            request, 400, message, "invalid_request_error", "invalid_request", param
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_, code = _HTTP_TYPES.get(exc.status_code, ("invalid_request_error", None))
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404:
            message = "Not found."
        return error_response(
            request, exc.status_code, message, type_, code, None, getattr(exc, "headers", None)
        )

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        # the client left mid-upload or mid-generation: nothing failed here, nothing to log
        request.state.error_code = "client_disconnected"
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> JSONResponse:
        if is_lock_timeout(exc):
            return await _domain(request, database_busy())
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # type name only: a traceback could carry a prompt through a local variable's repr
        log.error("unhandled error %s on %s", type(exc).__name__, _route(request))
        return error_response(
            request, 500, "Internal server error.", "api_error", "internal_error", None
        )


def database_busy() -> errors.DatabaseBusy:
    return errors.DatabaseBusy(
        "The database is busy and nothing was saved; try again in a few seconds.",
        headers={"Retry-After": str(DEFAULT_RETRY_AFTER)},
    )


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "?")
