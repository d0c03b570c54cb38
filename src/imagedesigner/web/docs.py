"""``GET /docs`` (only with ``IMAGEDESIGNER_API_DOCS=true``): the OpenAPI document as one plain
HTML page, rendered here from ``/openapi.json``. No script, no inline style and no third-party
asset (FastAPI's Swagger UI loads both from a public CDN), and the same security headers as every other page."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from imagedesigner.web.assets import asset
from imagedesigner.web.templating import security_headers

router = APIRouter(include_in_schema=False)
METHODS = ("get", "post", "put", "patch", "delete")


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type(s) for s in schema[key])
    if schema.get("type") == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


def _limits(schema: dict[str, Any]) -> str:
    names = ("minimum", "maximum", "minLength", "maxLength", "default")
    return ", ".join(f"{n} {json.dumps(schema[n])}" for n in names if n in schema)


def _table(rows: list[tuple[str, ...]], head: tuple[str, ...]) -> str:
    if not rows:
        return ""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    parts = [f"<section><p><span class=m>{method}</span> <code>{escape(path)}</code></p>"]
    if op.get("summary"):
        parts.append(f"<p><b>{escape(op['summary'])}</b></p>")
    if op.get("description"):
        parts.append(f"<pre>{escape(op['description'])}</pre>")
    params = [
        (
            f"<code>{escape(p['name'])}</code>",
            escape(p.get("in", "")),
            escape(_type(p.get("schema", {}))),
            escape(_limits(p.get("schema", {}))),
        )
        for p in op.get("parameters", [])
    ]
    parts.append(_table(params, ("parameter", "in", "type", "limits")))
    for media, body in op.get("requestBody", {}).get("content", {}).items():
        parts.append(f"<p>Body <code>{escape(media)}</code>: {escape(_type(body['schema']))}</p>")
    responses = [
        (
            escape(status),
            escape(r.get("description", "")),
            escape(
                ", ".join(
                    f"{m}: {_type(c.get('schema', {}))}" for m, c in r.get("content", {}).items()
                )
            ),
        )
        for status, r in op.get("responses", {}).items()
    ]
    parts.append(_table(responses, ("status", "meaning", "body")))
    return "".join(parts) + "</section>"


def _schema(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", ()))
    rows = [
        (
            f"<code>{escape(prop)}</code>{' *' if prop in required else ''}",
            escape(_type(value)),
            escape(_limits(value)),
        )
        for prop, value in schema.get("properties", {}).items()
    ]
    return (
        f"<section><p><b id={escape(name)}>{escape(name)}</b></p>"
        + _table(rows, ("field (* required)", "type", "limits"))
        + "</section>"
    )


def render(spec: dict[str, Any]) -> str:
    info = spec.get("info", {})
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')}".strip())
    ops = [
        _operation(path, method, item[method])
        for path, item in spec.get("paths", {}).items()
        for method in METHODS
        if method in item
    ]
    schemas = [
        _schema(n, s) for n, s in sorted(spec.get("components", {}).get("schemas", {}).items())
    ]
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
        f'<link rel="stylesheet" href="{asset("docs.css")}"></head><body><h1>{title}</h1>'
        "<p>The machine-readable document: <a href=/openapi.json>/openapi.json</a>. "
        "Every error has the shape <code>ErrorResponse</code>.</p>"
        f"<h2>Operations</h2>{''.join(ops)}<h2>Schemas</h2>{''.join(schemas)}</body></html>"
    )


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    page = render(request.app.openapi())
    return HTMLResponse(page, headers=security_headers())
