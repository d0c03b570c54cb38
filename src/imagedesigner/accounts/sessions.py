"""Server-side browser sessions and CSRF tokens: the only two cookies the service sets.

- ``imagedesigner_session``: a random 256-bit token; the ``web_sessions`` table holds only its
  SHA-256, the account, and created/expires/last-seen times. HttpOnly, SameSite=Lax, Path=/,
  Secure when the request came over https. A new token at every login (the old session row is
  deleted); the row is deleted at logout and by the sweeper once expired.
- ``imagedesigner_csrf``: a signed double-submit token ``nonce.HMAC(secret, session|nonce)``,
  bound to the current session, sent back in a form field (``csrf_token``) or the
  ``X-CSRF-Token`` header. Required on every state-changing request authenticated by the cookie;
  Bearer-key API calls need none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from starlette.requests import Request
from starlette.responses import Response

from imagedesigner import errors
from imagedesigner.container import Container
from imagedesigner.db.models import User
from imagedesigner.db.models_logs import WebSession
from imagedesigner.kit.clock import as_utc
from imagedesigner.privacy.clientip import is_https

SESSION_COOKIE = "imagedesigner_session"
CSRF_COOKIE = "imagedesigner_csrf"
COOKIE_NAMES = frozenset({SESSION_COOKIE, CSRF_COOKIE})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
LAST_SEEN_RESOLUTION = timedelta(minutes=5)  # fewer writes for busy sessions
CSRF_MAX_AGE = int(timedelta(days=1).total_seconds())


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Active:
    session: WebSession
    user: User


# --- cookies ---------------------------------------------------------------------------------


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    assert name in COOKIE_NAMES, "only the session and CSRF cookies are ever set"
    c: Container = request.app.state.container
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request.scope, c.settings.trusted_proxies),
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    set_cookie(request, response, name, "", 0)


# --- sessions --------------------------------------------------------------------------------


async def load(request: Request, c: Container) -> Active | None:
    """The live session behind the cookie, if any (cached on the request)."""
    if "web_session" in request.scope.get("state", {}):
        return request.state.web_session
    active = None
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) < 200:
        now = c.clock.now()
        async with c.sessions() as session:
            row = (
                await session.execute(
                    select(WebSession, User)
                    .join(User, User.id == WebSession.user_id)
                    .where(WebSession.id == token_hash(token))
                )
            ).first()
            if row is not None and as_utc(row[0].expires_at) > now:
                active = Active(session=row[0], user=row[1])
                if now - as_utc(row[0].last_seen_at) >= LAST_SEEN_RESOLUTION:
                    await session.execute(
                        update(WebSession)
                        .where(WebSession.id == row[0].id)
                        .values(last_seen_at=now)
                    )
                    await session.commit()
    request.state.web_session = active
    if active is not None:
        request.state.user_id = active.user.id
    return active


async def start(request: Request, response: Response, c: Container, user: User) -> str:
    """Log in: destroy any session the browser had, create a fresh one, set both cookies.
    Returns the new CSRF token (for JSON clients and the next form)."""
    old = request.cookies.get(SESSION_COOKIE)
    token = secrets.token_urlsafe(32)
    now = c.clock.now()
    async with c.sessions() as session, session.begin():
        if old and len(old) < 200:
            await session.execute(delete(WebSession).where(WebSession.id == token_hash(old)))
        session.add(
            WebSession(
                id=token_hash(token),
                user_id=user.id,
                created_at=now,
                expires_at=now + c.settings.session_ttl,
                last_seen_at=now,
            )
        )
    set_cookie(
        request, response, SESSION_COOKIE, token, int(c.settings.session_ttl.total_seconds())
    )
    request.state.user_id = user.id
    csrf = new_csrf(c, token_hash(token))
    set_cookie(request, response, CSRF_COOKIE, csrf, CSRF_MAX_AGE)
    return csrf


async def end(request: Request, response: Response, c: Container) -> None:
    """Log out: the row goes at once; the cookies are cleared; a fresh anonymous CSRF token."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) < 200:
        async with c.sessions() as session, session.begin():
            await session.execute(delete(WebSession).where(WebSession.id == token_hash(token)))
    clear_cookie(request, response, SESSION_COOKIE)
    set_cookie(request, response, CSRF_COOKIE, new_csrf(c, ""), CSRF_MAX_AGE)
    request.state.web_session = None


async def end_all_for_user(c: Container, user_id: str) -> int:
    """Every session of an account (erasure, password change)."""
    async with c.sessions() as session, session.begin():
        result = await session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return result.rowcount or 0


# --- CSRF ------------------------------------------------------------------------------------


def _sign(c: Container, binding: str, nonce: str) -> str:
    mac = hmac.new(c.settings.resolved_secret(), f"csrf|{binding}|{nonce}".encode(), "sha256")
    return mac.hexdigest()[:32]


def new_csrf(c: Container, binding: str) -> str:
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_sign(c, binding, nonce)}"


def _binding(request: Request) -> str:
    active = request.scope.get("state", {}).get("web_session")
    return active.session.id if active is not None else ""


def csrf_valid_for(c: Container, token: str | None, binding: str) -> bool:
    if not token or "." not in token or len(token) > 200:
        return False
    nonce, _, mac = token.partition(".")
    return hmac.compare_digest(mac, _sign(c, binding, nonce))


async def csrf_token(request: Request, response: Response, c: Container) -> str:
    """The token for the next form or JSON call; (re)issues the cookie when needed."""
    await load(request, c)
    binding = _binding(request)
    current = request.cookies.get(CSRF_COOKIE)
    if csrf_valid_for(c, current, binding):
        return current  # type: ignore[return-value]
    fresh = new_csrf(c, binding)
    set_cookie(request, response, CSRF_COOKIE, fresh, CSRF_MAX_AGE)
    return fresh


def check_csrf(request: Request, c: Container, submitted: str | None) -> None:
    """Double submit: the submitted token equals the cookie and is signed for this session."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if (
        not submitted
        or not cookie
        or not hmac.compare_digest(submitted.encode(), cookie.encode())
        or not csrf_valid_for(c, cookie, _binding(request))
    ):
        raise errors.PermissionDenied(
            "Missing or invalid CSRF token: send the 'csrf_token' form field or the "
            "'X-CSRF-Token' header with the value from GET /v1/auth/session. "
            "API clients should use 'Authorization: Bearer <key>' instead of the cookie.",
            code="csrf_failed",
        )


async def authenticator(request: Request, c: Container) -> User | None:
    """``app.state.authenticators`` hook: the signed-in browser can use the whole /v1 API."""
    active = await load(request, c)
    if active is None:
        return None
    if request.method not in SAFE_METHODS:
        check_csrf(request, c, request.headers.get(CSRF_HEADER))
    return active.user
