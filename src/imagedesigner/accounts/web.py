"""Sign-up, login, logout and the session, as JSON (``/v1/auth/*``); the HTML pages in
``web/pages.py`` call the same functions.

Sign-up takes an email, a password and either a date of birth or an explicit "I am 16 or older"
(``minimum_age``). Below the minimum age the request is refused before anything is stored or
logged: no row, no log line with the email; a date of birth is never stored, only the time the
age was confirmed. Login is throttled per account and per IP (429 with ``Retry-After``).
"""

from __future__ import annotations

import hashlib
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from imagedesigner import errors
from imagedesigner.accounts import service as accounts
from imagedesigner.accounts import sessions
from imagedesigner.accounts.passwords import verify_password
from imagedesigner.api.deps import ContainerDep
from imagedesigner.container import Container
from imagedesigner.db.models import User
from imagedesigner.kit.clock import as_utc
from imagedesigner.privacy import notice as policy
from imagedesigner.privacy.clientip import client_ip

router = APIRouter(prefix="/v1/auth", tags=["auth"])
MAX_AGE_YEARS = 130


class SignupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    date_of_birth: date | None = None
    age_confirmed: bool = False


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def check_age(c: Container, date_of_birth: date | None, age_confirmed: bool) -> None:
    """Raises unless the person meets ``minimum_age``. Keeps nothing either way."""
    minimum = c.settings.minimum_age
    if date_of_birth is not None:
        today = c.clock.now().date()
        years = age_on(date_of_birth, today)
        if date_of_birth > today or years > MAX_AGE_YEARS:
            raise errors.InvalidRequest("Enter a valid date of birth.", param="date_of_birth")
        if years < minimum:
            raise refused(minimum)
        return
    if not age_confirmed:
        raise errors.InvalidRequest(
            f"Confirm that you are {minimum} or older, or enter your date of birth.",
            param="age_confirmed",
        )


def refused(minimum: int) -> errors.DomainError:
    return errors.PermissionDenied(
        f"ImageDesigner is not intended for people under {minimum}. We have not kept "
        "anything you entered.",
        code="below_minimum_age",
    )


def _key(kind: str, value: str, c: Container) -> str:
    """Limiter keys are hashed: a Redis limiter store holds no emails or IPs in clear."""
    digest = hashlib.sha256(c.settings.resolved_secret() + f"{kind}|{value}".encode())
    return f"{kind}:{digest.hexdigest()[:32]}"


def _email_key(email: str) -> str:
    try:
        return accounts.normalize_email(email).lower()
    except errors.DomainError:
        return (email or "").strip().lower()


async def signup(
    request: Request,
    c: Container,
    *,
    email: str,
    password: str,
    date_of_birth: date | None,
    age_confirmed: bool,
) -> User:
    check_age(c, date_of_birth, age_confirmed)  # first: below the age, nothing else happens
    ip = client_ip(request.scope, c.settings.trusted_proxies) or "unknown"
    await request.app.state.limiter.hit_login(_key("signup-ip", ip, c))
    async with c.sessions() as session, session.begin():
        user = await accounts.create_user(
            session, c.clock, email=email, password=password, age_confirmed=True
        )
    await policy.record_seen(c, user.id)  # they saw the current policy when signing up
    return user


async def login(request: Request, c: Container, *, email: str, password: str) -> User:
    ip = client_ip(request.scope, c.settings.trusted_proxies) or "unknown"
    await request.app.state.limiter.hit_login(
        _key("account", _email_key(email), c), _key("ip", ip, c)
    )
    user = None
    try:
        async with c.sessions() as session:
            user = await accounts.find_user_by_email(session, email)
    except errors.InvalidRequest:
        user = None
    # verify against a dummy hash when there is no account, so timing does not tell
    ok = verify_password(user.password_hash if user else None, password or "")
    if user is None or not ok:
        raise errors.AuthenticationFailed(
            "Incorrect email or password.", code="invalid_credentials"
        )
    return user


def user_json(user: User) -> dict:
    return {"id": user.id, "email": user.email, "role": user.role}


def require_json(request: Request) -> None:
    """A cross-site page cannot send ``application/json`` without a CORS preflight, so these
    cookie-setting endpoints cannot be driven by another site (login CSRF)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise errors.InvalidRequest(
            "Send the request body as JSON with 'Content-Type: application/json'.",
            code="unsupported_media_type",
        )


@router.post("/signup", status_code=201)
async def signup_json(body: SignupBody, request: Request, c: ContainerDep) -> JSONResponse:
    require_json(request)
    user = await signup(
        request,
        c,
        email=body.email,
        password=body.password,
        date_of_birth=body.date_of_birth,
        age_confirmed=body.age_confirmed,
    )
    response = JSONResponse({}, status_code=201)
    csrf = await sessions.start(request, response, c, user)
    return _json_into(response, {"user": user_json(user), "csrf_token": csrf})


@router.post("/login")
async def login_json(body: LoginBody, request: Request, c: ContainerDep) -> JSONResponse:
    require_json(request)
    user = await login(request, c, email=body.email, password=body.password)
    response = JSONResponse({})
    csrf = await sessions.start(request, response, c, user)
    return _json_into(response, {"user": user_json(user), "csrf_token": csrf})


@router.post("/logout")
async def logout_json(request: Request, c: ContainerDep) -> JSONResponse:
    active = await sessions.load(request, c)
    if active is not None:
        sessions.check_csrf(request, c, request.headers.get(sessions.CSRF_HEADER))
    response = JSONResponse({})
    await sessions.end(request, response, c)
    return _json_into(response, {"signed_in": False})


@router.get("/session")
async def session_json(request: Request, c: ContainerDep) -> JSONResponse:
    response = JSONResponse({})
    csrf = await sessions.csrf_token(request, response, c)
    active = await sessions.load(request, c)
    body: dict = {"signed_in": active is not None, "user": None, "csrf_token": csrf}
    if active is not None:
        body["user"] = user_json(active.user)
        body["expires_at"] = int(as_utc(active.session.expires_at).timestamp())
        body["policy_notice"] = await policy.notice_due(c, active.user.id)
    body["policy_version"] = c.settings.policy_version
    response.headers["Cache-Control"] = "no-store"
    return _json_into(response, body)


def _json_into(response: JSONResponse, body: dict) -> JSONResponse:
    """Fill a response whose cookies were already set."""
    response.body = response.render(body)
    response.headers["content-length"] = str(len(response.body))
    response.headers["Cache-Control"] = "no-store"
    return response
