"""Rendering server-side pages: Jinja2 with autoescape, strict security headers, no external
assets and nothing inline (scripts and styles are static files, ``asset("studio.js")``, so the
CSP needs no nonce: ``script-src 'self'``), the CSRF token for forms and scripts, and the
once-per-version policy notice for signed-in users."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from imagedesigner.api import websession
from imagedesigner.db import uow
from imagedesigner.privacy import notice
from imagedesigner.web.assets import asset

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals["asset"] = asset
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "img-src 'self' data: blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
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
    probe = HTMLResponse("")  # collects a CSRF cookie if one has to be issued
    csrf = await websession.csrf_token(request, probe, session)
    show_notice = active is not None and await notice.take_notice(
        session, active.user.id, c.settings.policy_version, c.clock.now()
    )
    await uow.commit(session)  # the notice seen, the session's last-seen time
    values = {
        "user": active.user if active else None,
        "csrf_token": csrf,
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
        headers={**security_headers(), **(headers or {})},
    )
    for key, value in probe.raw_headers:
        if key == b"set-cookie":
            response.raw_headers.append((key, value))
    return response
