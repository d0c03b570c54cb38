"""Server-rendered pages: the studio (home), gallery, account, sign-up, login, logout. Every form POST checks the
CSRF token; errors re-render the form (never echoing the password, nor anything after an age
refusal)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.api import auth, websession
from imagedesigner.api.deps import ContainerDep, SessionDep
from imagedesigner.db import uow
from imagedesigner.privacy import notice
from imagedesigner.web.templating import render

router = APIRouter(include_in_schema=False)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _failed(
    request: Request,
    session: AsyncSession,
    template: str,
    exc: errors.DomainError,
    context: dict,
) -> Response:
    request.state.error_code = exc.code
    await uow.discard(session)  # nothing of the failed action is kept
    request.scope.get("state", {}).pop("web_session", None)  # read again after the rollback
    return await render(
        request,
        session,
        template,
        {"error": exc.message, **context},
        status_code=exc.status,
        headers=exc.headers,
    )


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/")
async def home(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    context = {
        "default_model": c.registry.default_model_id(),
        "erased": request.query_params.get("erased") == "1",
    }
    return await render(request, session, "home.html", context)


@router.get("/gallery")
async def gallery_page(request: Request, session: SessionDep) -> Response:
    """Saved images: enlarge, download, delete, all as a ZIP (over the API)."""
    if await websession.load(request, session) is None:
        return _see_other("/login")
    return await render(request, session, "gallery.html", {})


@router.get("/account")
async def account(request: Request, session: SessionDep) -> Response:
    """The privacy center: export, consents, restriction, API keys, erasure (over the API)."""
    active = await websession.load(request, session)
    if active is None:
        return _see_other("/login")
    accepted = await notice.seen_version(session, active.user.id)  # before this view marks it
    return await render(request, session, "account.html", {"accepted_version": accepted})


@router.get("/signup")
async def signup_page(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return await render(request, session, "signup.html", {"minimum_age": c.settings.minimum_age})


@router.post("/signup")
async def signup_submit(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    form = await _form(request)
    context = {"minimum_age": c.settings.minimum_age, "email": form.get("email", "")}
    try:
        await websession.load(request, session)
        websession.check_csrf(request, form.get(websession.CSRF_FIELD))
        dob = form.get("date_of_birth") or None
        try:
            born = date.fromisoformat(dob) if dob else None
        except ValueError:
            raise errors.InvalidRequest(
                "Enter your date of birth as YYYY-MM-DD.", param="date_of_birth"
            ) from None
        email = await auth.signup(
            request,
            c,
            session,
            email=form.get("email", ""),
            password=form.get("password", ""),
            date_of_birth=born,
            age_confirmed=form.get("age_confirmed") in ("on", "true", "1", "yes"),
        )
    except errors.DomainError as exc:
        if exc.code == "below_minimum_age":
            context = {"minimum_age": c.settings.minimum_age, "refused": True}
        return await _failed(request, session, "signup.html", exc, context)
    # alike for a new and a taken address: the person signs in next
    return await render(request, session, "login.html", {"email": email, "notice": auth.SIGNED_UP})


@router.get("/login")
async def login_page(request: Request, session: SessionDep) -> Response:
    return await render(request, session, "login.html")


@router.post("/login")
async def login_submit(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    form = await _form(request)
    try:
        await websession.load(request, session)
        websession.check_csrf(request, form.get(websession.CSRF_FIELD))
        user = await auth.login(
            request, c, session, email=form.get("email", ""), password=form.get("password", "")
        )
    except errors.DomainError as exc:
        context = {"email": form.get("email", "")}
        return await _failed(request, session, "login.html", exc, context)
    response = _see_other("/")
    await websession.start(request, response, session, user)
    await uow.commit(session)
    return response


@router.post("/logout")
async def logout_submit(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    form = await _form(request)
    active = await websession.load(request, session)
    if active is not None:
        try:
            websession.check_csrf(request, form.get(websession.CSRF_FIELD))
        except errors.DomainError as exc:
            context = {"default_model": c.registry.default_model_id()}
            return await _failed(request, session, "home.html", exc, context)
    response = _see_other("/")
    await websession.end(request, response, session)
    await uow.commit(session)
    return response
