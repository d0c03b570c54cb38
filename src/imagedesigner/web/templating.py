"""Rendering server-side pages: Jinja2 with autoescape, strict security headers, no external
assets (inline CSS; the only script is inline with a per-response CSP nonce), the CSRF token for
forms, and the once-per-version policy notice for signed-in users."""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from imagedesigner.accounts import sessions
from imagedesigner.privacy import notice

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))


def security_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'unsafe-inline'; "
            f"script-src 'nonce-{nonce}'; connect-src 'self'; img-src 'self' data: blob:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


async def render(
    request: Request,
    template: str,
    context: dict | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    c = request.app.state.container
    active = await sessions.load(request, c)
    nonce = secrets.token_urlsafe(16)
    probe = HTMLResponse("")  # collects a CSRF cookie if one has to be issued
    csrf = await sessions.csrf_token(request, probe, c)
    show_notice = active is not None and await notice.take_notice(c, active.user.id)
    values = {
        "user": active.user if active else None,
        "csrf_token": csrf,
        "nonce": nonce,
        "policy_notice": show_notice,
        "policy_version": c.settings.policy_version,
        "gpc": bool(request.scope.get("state", {}).get("gpc")),
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request,
        template,
        values,
        status_code=status_code,
        headers={**security_headers(nonce), **(headers or {})},
    )
    for key, value in probe.raw_headers:
        if key == b"set-cookie":
            response.raw_headers.append((key, value))
    return response
