"""Server-rendered pages: home, sign-up, login, logout. Every form POST checks the CSRF token;
errors re-render the form (never echoing the password, nor anything after an age refusal)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from imagedesigner import errors
from imagedesigner.accounts import sessions
from imagedesigner.accounts import web as auth
from imagedesigner.web.templating import render

router = APIRouter(include_in_schema=False)


def _models(request: Request) -> list[dict]:
    c = request.app.state.container
    return [
        {"id": m.id, "provider": m.provider, "kind": m.kind}
        for m, available in c.registry.models()
        if available
    ]


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _failed(
    request: Request, template: str, exc: errors.DomainError, context: dict
) -> Response:
    request.state.error_code = exc.code
    return await render(
        request,
        template,
        {"error": exc.message, **context},
        status_code=exc.status,
        headers=exc.headers,
    )


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/")
async def home(request: Request) -> Response:
    return await render(
        request,
        "home.html",
        {
            "models": _models(request),
            "default_model": request.app.state.container.registry.default_model_id(),
            "erased": request.query_params.get("erased") == "1",
        },
    )


@router.get("/account")
async def account(request: Request) -> Response:
    """The privacy center: export, consents, restriction, API keys, erasure (over the API)."""
    if await sessions.load(request, request.app.state.container) is None:
        return _see_other("/login")
    return await render(request, "account.html", {})


@router.get("/signup")
async def signup_page(request: Request) -> Response:
    c = request.app.state.container
    return await render(request, "signup.html", {"minimum_age": c.settings.minimum_age})


@router.post("/signup")
async def signup_submit(request: Request) -> Response:
    c = request.app.state.container
    form = await _form(request)
    context = {"minimum_age": c.settings.minimum_age, "email": form.get("email", "")}
    try:
        sessions.check_csrf(request, c, form.get(sessions.CSRF_FIELD))
        dob = form.get("date_of_birth") or None
        try:
            born = date.fromisoformat(dob) if dob else None
        except ValueError:
            raise errors.InvalidRequest(
                "Enter your date of birth as YYYY-MM-DD.", param="date_of_birth"
            ) from None
        user = await auth.signup(
            request,
            c,
            email=form.get("email", ""),
            password=form.get("password", ""),
            date_of_birth=born,
            age_confirmed=form.get("age_confirmed") in ("on", "true", "1", "yes"),
        )
    except errors.DomainError as exc:
        if exc.code == "below_minimum_age":
            context = {"minimum_age": c.settings.minimum_age, "refused": True}
        return await _failed(request, "signup.html", exc, context)
    response = _see_other("/")
    await sessions.start(request, response, c, user)
    return response


@router.get("/login")
async def login_page(request: Request) -> Response:
    return await render(request, "login.html")


@router.post("/login")
async def login_submit(request: Request) -> Response:
    c = request.app.state.container
    form = await _form(request)
    try:
        sessions.check_csrf(request, c, form.get(sessions.CSRF_FIELD))
        user = await auth.login(
            request, c, email=form.get("email", ""), password=form.get("password", "")
        )
    except errors.DomainError as exc:
        return await _failed(request, "login.html", exc, {"email": form.get("email", "")})
    response = _see_other("/")
    await sessions.start(request, response, c, user)
    return response


@router.post("/logout")
async def logout_submit(request: Request) -> Response:
    c = request.app.state.container
    form = await _form(request)
    active = await sessions.load(request, c)
    if active is not None:
        try:
            sessions.check_csrf(request, c, form.get(sessions.CSRF_FIELD))
        except errors.DomainError as exc:
            return await _failed(request, "home.html", exc, {"models": _models(request)})
    response = _see_other("/")
    await sessions.end(request, response, c)
    return response
