"""Rendering server-side pages: Jinja2 with autoescape, strict security headers, no external
assets (inline CSS; the only script is inline with a per-response CSP nonce), the CSRF token for
forms, and the once-per-version policy notice for signed-in users."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from imagedesigner.api import websession
from imagedesigner.db import uow
from imagedesigner.privacy import notice

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=str(TEMPLATES))


def asset(name: str) -> str:
    """The URL of a static script or style (``web/static/``); an unknown name is an error."""
    if not (STATIC / name).is_file():
        raise LookupError(f"no static file {name!r}")
    return f"/static/{name}"


templates.env.globals["asset"] = asset


def security_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self' 'unsafe-inline'; "
            f"script-src 'self' 'nonce-{nonce}'; connect-src 'self'; img-src 'self' data: blob:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


async def render(
    request: Request,
    session: AsyncSession,
    template: str,
    context: dict | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    c = request.app.state.container
    active = await websession.load(request, session)
    nonce = secrets.token_urlsafe(16)
    probe = HTMLResponse("")  # collects a CSRF cookie if one has to be issued
    csrf = await websession.csrf_token(request, probe, session)
    show_notice = active is not None and await notice.take_notice(
        session, active.user.id, c.settings.policy_version, c.clock.now()
    )
    await uow.commit(session)  # the notice seen, the session's last-seen time
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
