"""The OpenAPI document (``/openapi.json``) describes what the API really sends.

Routes declare their request and response models; this module adds what follows from the
shape of every operation, so no route can forget it:

- FastAPI's 422 and its ``HTTPValidationError`` are removed: validation errors are 400s in
  OpenAI's error envelope (``api/errors.py``), and a 422 is never sent;
- every operation documents the errors it can answer, all as :class:`ErrorResponse`: 400 when it
  takes parameters or a body, 413 with a body (the request-size cap), 404 with path
  parameters, 401/403/429 when it needs an API key or a session (key, CSRF or role, rate
  limit), 500 everywhere; routes add their own (e.g. 409, or 502/503/504 from providers);
- the prompt's ``maxLength`` is the configured ``IMAGEDESIGNER_MAX_PROMPT_CHARS``.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel

from imagedesigner.api.deps import API_KEY_SCHEME, SESSION_SCHEME, current_user
from imagedesigner.api.schemas import ErrorResponse
from imagedesigner.config import Settings

DESCRIPTIONS = {
    400: "Invalid request: bad JSON or form, a missing, unknown or invalid field or value (text "
    "with a NUL or a lone surrogate included), an impossible request or a refused upload.",
    401: "Missing, malformed or wrong API key; expired session; closed account.",
    403: "Not allowed: processing restricted, role too low, or a missing CSRF token on a "
    "cookie-authenticated change.",
    404: "Unknown, foreign or expired resource.",
    409: "Conflict: the action needs confirmation.",
    413: "The request body or an upload is larger than the limit.",
    429: "Rate limited; `Retry-After` says when to try again.",
    500: "Internal server error.",
    502: "The model provider failed or answered badly.",
    503: "The model provider is unavailable.",
    504: "The model provider timed out.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these statuses, each with the error envelope."""
    return {s: {"model": ErrorResponse, "description": DESCRIPTIONS[s]} for s in statuses}


PROVIDER_ERRORS = errors(502, 503, 504)
_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
_BINARY = {"type": "string", "format": "binary"}


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A form field is left out rather than null: ``anyOf [X, null]`` becomes ``X``."""
    options = [o for o in prop.get("anyOf", ()) if o.get("type") != "null"]
    if len(options) == 1 and "anyOf" in prop:
        rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
        return {**options[0], **rest}
    return prop


def edit_form_body(params: type[BaseModel]) -> dict[str, Any]:
    """The multipart request body of ``POST /v1/images/edits``: the text fields of ``params``
    (the same model as the JSON body of generations) plus the files."""
    schema = params.model_json_schema()
    properties = {name: _not_null(prop) for name, prop in schema["properties"].items()}
    properties["image"] = {**_BINARY, "description": "The image to edit: PNG, JPEG or WebP."}
    properties["image[]"] = {
        "type": "array",
        "items": _BINARY,
        "description": "Several input images (instead of `image`).",
    }
    properties["mask"] = {**_BINARY, "description": "PNG whose transparent pixels are edited."}
    body = {
        "type": "object",
        "properties": properties,
        "required": schema.get("required", []),
        "additionalProperties": False,
        "anyOf": [{"required": ["image"]}, {"required": ["image[]"]}],
    }
    return {"required": True, "content": {"multipart/form-data": {"schema": body}}}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """A JSON schema with its local ``$defs`` references written out in place."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def edit_body(params: type[BaseModel], json_body: type[BaseModel]) -> dict[str, Any]:
    """The request body of ``POST /v1/images/edits``: multipart (:func:`edit_form_body`) or
    OpenAI's JSON edit body (``json_body``, its references inlined)."""
    body = edit_form_body(params)
    schema = json_body.model_json_schema()
    body["content"]["application/json"] = {"schema": _inline(schema, schema.get("$defs", {}))}
    return body


def _error_components() -> dict[str, Any]:
    schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {**defs, "ErrorResponse": schema}


def _requires(dependant: Any, call: Any) -> bool:
    return dependant.call is call or any(_requires(d, call) for d in dependant.dependencies)


def signed_in_operations(app: FastAPI) -> set[tuple[str, str]]:
    """``(path, method)`` of every operation whose dependencies include ``current_user``."""
    found = set()
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is not None and _requires(dependant, current_user):
            found.update((route.path_format, m.lower()) for m in route.methods or ())
    return found


def _security(schema: dict[str, Any], signed_in: set[tuple[str, str]]) -> None:
    """The sign-in schemes (``api/deps.py``) on the operations that need one; a route's own
    ``security`` (a signed link that needs none, say) is kept."""
    schemes = schema["components"].setdefault("securitySchemes", {})
    for scheme in (API_KEY_SCHEME, SESSION_SCHEME):
        schemes[scheme.scheme_name] = scheme.model.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if (path, method) in signed_in:
                operation.setdefault("security", [{"apiKey": []}, {"session": []}])


def document(
    schema: dict[str, Any], settings: Settings, signed_in: set[tuple[str, str]] = frozenset()
) -> dict[str, Any]:
    schema = copy.deepcopy(schema)  # parts of it are shared with the routes' declarations
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    _security(schema, set(signed_in))
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for name, value in _error_components().items():
        components.setdefault(name, value)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            parameters = operation.get("parameters", [])
            statuses = {500}
            if parameters or "requestBody" in operation:  # a path value too (deps.py)
                statuses.add(400)
            if "requestBody" in operation:
                statuses.add(413)
            if any(p.get("in") == "path" for p in parameters):
                statuses.add(404)
            if operation.get("security"):
                statuses |= {401, 403, 429}
            for status in sorted(statuses):
                responses.setdefault(
                    str(status),
                    {
                        "description": DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": copy.deepcopy(_ERROR_REF)}},
                    },
                )
            _prompt_limit(operation, settings.max_prompt_chars)
    if "ImageParams" in components:
        components["ImageParams"]["properties"]["prompt"]["maxLength"] = settings.max_prompt_chars
    return schema


def _prompt_limit(operation: dict[str, Any], limit: int) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    for kind in ("multipart/form-data", "application/json"):
        form = content.get(kind, {}).get("schema", {})
        if "prompt" in form.get("properties", {}):
            form["properties"]["prompt"]["maxLength"] = limit


def install(app: FastAPI, settings: Settings) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate(), settings, signed_in_operations(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
