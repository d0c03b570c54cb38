"""Sign-up, login, logout and the session, as JSON (``/v1/auth/*``); the HTML pages in
``web/pages.py`` call the same functions.

Sign-up answers alike whether or not the address already has an account (no cookie either
way: the person signs in next), so it cannot be used to find out who has an account. Login is
throttled per account and per IP (429 with ``Retry-After``).
"""

from __future__ import annotations

import hashlib
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.accounts import service as accounts
from imagedesigner.accounts import signup as signups
from imagedesigner.api import websession
from imagedesigner.api.deps import ContainerDep, SessionDep
from imagedesigner.api.openapi import errors as error_responses
from imagedesigner.api.schemas import RequestModel
from imagedesigner.container import Container
from imagedesigner.db import uow
from imagedesigner.db.models import User
from imagedesigner.infra.clientip import client_ip
from imagedesigner.kit.clock import as_utc
from imagedesigner.privacy import notice

router = APIRouter(prefix="/v1/auth", tags=["auth"])
SIGNED_UP = (
    "If this address was new, your account is ready; if it already had one, that account is "
    "unchanged. Sign in with your email and password to continue."
)


class SignupBody(RequestModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    date_of_birth: date | None = None
    age_confirmed: StrictBool = False


class LoginBody(RequestModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    id: str
    email: str
    role: str


class SignupOut(BaseModel):
    object: str = "signup"
    email: str
    message: str


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str


class LogoutOut(BaseModel):
    signed_in: bool


class SessionOut(BaseModel):
    signed_in: bool
    user: UserOut | None
    csrf_token: str
    expires_at: int | None = None
    policy_notice: bool | None = None
    policy_version: str


def _key(kind: str, value: str, c: Container) -> str:
    """Limiter keys are hashed: a Redis limiter store holds no emails or IPs in clear."""
    digest = hashlib.sha256(c.settings.resolved_secret() + f"{kind}|{value}".encode())
    return f"{kind}:{digest.hexdigest()[:32]}"


async def signup(
    request: Request,
    c: Container,
    session: AsyncSession,
    *,
    email: str,
    password: str,
    date_of_birth: date | None,
    age_confirmed: bool,
) -> str:
    """Creates the account when the address is new; commits. Returns the normalised email."""
    now = c.clock.now()
    # the age gate first: below the age, nothing else happens (not even the throttle's count)
    signups.check_age(now.date(), c.settings.minimum_age, date_of_birth, age_confirmed)
    ip = client_ip(request.scope, c.settings.trusted_proxies) or "unknown"
    await request.app.state.limiter.hit_login(_key("signup-ip", ip, c))
    user = await signups.sign_up(
        session,
        now,
        minimum_age=c.settings.minimum_age,
        email=email,
        password=password,
        date_of_birth=date_of_birth,
        age_confirmed=age_confirmed,
    )
    if user is not None:
        await notice.record_seen(session, user.id, c.settings.policy_version, now)
        await uow.commit(session)
    return accounts.normalize_email(email)


async def login(
    request: Request, c: Container, session: AsyncSession, *, email: str, password: str
) -> User:
    ip = client_ip(request.scope, c.settings.trusted_proxies) or "unknown"
    await request.app.state.limiter.hit_login(
        _key("account", signups.email_key(email), c), _key("ip", ip, c)
    )
    return await signups.sign_in(session, email, password)


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, role=user.role)


def require_json(request: Request) -> None:
    """A cross-site page cannot send ``application/json`` without a CORS preflight, so these
    cookie-setting endpoints cannot be driven by another site (login CSRF)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise errors.InvalidRequest(
            "Send the request body as JSON with 'Content-Type: application/json'.",
            code="unsupported_media_type",
        )


@router.post("/signup", status_code=201, response_model=SignupOut, responses=error_responses(429))
async def signup_json(
    body: SignupBody, request: Request, c: ContainerDep, session: SessionDep
) -> JSONResponse:
    require_json(request)
    email = await signup(
        request,
        c,
        session,
        email=body.email,
        password=body.password,
        date_of_birth=body.date_of_birth,
        age_confirmed=body.age_confirmed,
    )
    out = SignupOut(email=email, message=SIGNED_UP)
    return JSONResponse(out.model_dump(), status_code=201, headers={"Cache-Control": "no-store"})


@router.post("/login", response_model=LoginOut, responses=error_responses(401, 429))
async def login_json(
    body: LoginBody, request: Request, c: ContainerDep, session: SessionDep
) -> JSONResponse:
    require_json(request)
    user = await login(request, c, session, email=body.email, password=body.password)
    response = JSONResponse({})
    csrf = await websession.start(request, response, session, user)
    await uow.commit(session)
    return _json_into(response, LoginOut(user=user_out(user), csrf_token=csrf).model_dump())


@router.post("/logout", response_model=LogoutOut, responses=error_responses(403))
async def logout_json(request: Request, session: SessionDep) -> JSONResponse:
    active = await websession.load(request, session)
    if active is not None:
        websession.check_csrf(request, request.headers.get(websession.CSRF_HEADER))
    response = JSONResponse({})
    await websession.end(request, response, session)
    await uow.commit(session)
    return _json_into(response, {"signed_in": False})


@router.get("/session", response_model=SessionOut)
async def session_json(request: Request, c: ContainerDep, session: SessionDep) -> JSONResponse:
    response = JSONResponse({})
    csrf = await websession.csrf_token(request, response, session)
    active = await websession.load(request, session)
    out = SessionOut(
        signed_in=active is not None,
        user=user_out(active.user) if active else None,
        csrf_token=csrf,
        policy_version=c.settings.policy_version,
    )
    if active is not None:
        out.expires_at = int(as_utc(active.session.expires_at).timestamp())
        out.policy_notice = await notice.notice_due(
            session, active.user.id, c.settings.policy_version
        )
    await uow.commit(session)  # last-seen bookkeeping, if due
    body = out.model_dump()
    if active is None:
        del body["expires_at"], body["policy_notice"]
    return _json_into(response, body)


def _json_into(response: JSONResponse, body: dict) -> JSONResponse:
    """Fill a response whose cookies were already set."""
    response.body = response.render(body)
    response.headers["content-length"] = str(len(response.body))
    response.headers["Cache-Control"] = "no-store"
    return response
