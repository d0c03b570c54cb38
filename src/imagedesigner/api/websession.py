"""Browser sessions over HTTP: the only two cookies the service sets, and CSRF checks.

- ``imagedesigner_session``: the session token (``accounts/sessions.py``). HttpOnly,
  SameSite=Lax, Path=/, Secure when the request came over https.
- ``imagedesigner_csrf``: the signed double-submit token, sent back in a form field
  (``csrf_token``) or the ``X-CSRF-Token`` header. Required on every state-changing request
  authenticated by the cookie; Bearer-key API calls need none.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from imagedesigner import errors
from imagedesigner.accounts import sessions
from imagedesigner.accounts.sessions import Active
from imagedesigner.container import Container
from imagedesigner.db.models import User
from imagedesigner.infra.clientip import is_https

SESSION_COOKIE = "imagedesigner_session"
CSRF_COOKIE = "imagedesigner_csrf"
COOKIE_NAMES = frozenset({SESSION_COOKIE, CSRF_COOKIE})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_MAX_AGE = int(timedelta(days=1).total_seconds())


def _container(request: Request) -> Container:
    return request.app.state.container


def _secret(request: Request) -> bytes:
    return _container(request).settings.resolved_secret()


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    assert name in COOKIE_NAMES, "only the session and CSRF cookies are ever set"
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request.scope, _container(request).settings.trusted_proxies),
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    set_cookie(request, response, name, "", 0)


async def load(request: Request, session: AsyncSession) -> Active | None:
    """The live session behind the cookie, if any (cached on the request)."""
    if "web_session" in request.scope.get("state", {}):
        return request.state.web_session
    now = _container(request).clock.now()
    active = await sessions.find(session, now, request.cookies.get(SESSION_COOKIE))
    request.state.web_session = active
    if active is not None:
        request.state.user_id = active.user.id
    return active


async def start(request: Request, response: Response, session: AsyncSession, user: User) -> str:
    """Log in: a fresh session (the browser's old one is deleted), both cookies set. Returns
    the new CSRF token. The caller commits."""
    c = _container(request)
    ttl = c.settings.session_ttl
    token = await sessions.create(
        session, c.clock.now(), ttl, user.id, request.cookies.get(SESSION_COOKIE)
    )
    set_cookie(request, response, SESSION_COOKIE, token, int(ttl.total_seconds()))
    request.state.user_id = user.id
    csrf = sessions.new_csrf(_secret(request), sessions.token_hash(token))
    set_cookie(request, response, CSRF_COOKIE, csrf, CSRF_MAX_AGE)
    return csrf


async def end(request: Request, response: Response, session: AsyncSession) -> None:
    """Log out: the row goes (when the caller commits); cookies cleared; a fresh anonymous
    CSRF token."""
    await sessions.destroy(session, request.cookies.get(SESSION_COOKIE))
    clear_cookie(request, response, SESSION_COOKIE)
    set_cookie(
        request, response, CSRF_COOKIE, sessions.new_csrf(_secret(request), ""), CSRF_MAX_AGE
    )
    request.state.web_session = None


def _binding(request: Request) -> str:
    active = request.scope.get("state", {}).get("web_session")
    return active.session.id if active is not None else ""


async def csrf_token(request: Request, response: Response, session: AsyncSession) -> str:
    """The token for the next form or JSON call; (re)issues the cookie when needed."""
    await load(request, session)
    binding = _binding(request)
    current = request.cookies.get(CSRF_COOKIE)
    if sessions.csrf_valid_for(_secret(request), current, binding):
        return current  # type: ignore[return-value]
    fresh = sessions.new_csrf(_secret(request), binding)
    set_cookie(request, response, CSRF_COOKIE, fresh, CSRF_MAX_AGE)
    return fresh


def check_csrf(request: Request, submitted: str | None) -> None:
    """Double submit: the submitted token equals the cookie and is signed for this session."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if (
        not submitted
        or not cookie
        or not hmac.compare_digest(submitted.encode(), cookie.encode())
        or not sessions.csrf_valid_for(_secret(request), cookie, _binding(request))
    ):
        raise errors.PermissionDenied(
            "Missing or invalid CSRF token: send the 'csrf_token' form field or the "
            "'X-CSRF-Token' header with the value from GET /v1/auth/session. "
            "API clients should use 'Authorization: Bearer <key>' instead of the cookie.",
            code="csrf_failed",
        )


async def authenticator(request: Request, c: Container, session: AsyncSession) -> User | None:
    """``app.state.authenticators`` hook: the signed-in browser can use the whole /v1 API."""
    active = await load(request, session)
    if active is None:
        return None
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return active.user
