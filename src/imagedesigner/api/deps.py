"""Dependencies: the container from app state, one database session per request, and the
signed-in user (API key first, then the browser session)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.accounts import service as accounts
from imagedesigner.api.schemas import text_problem
from imagedesigner.api.websession import SESSION_COOKIE
from imagedesigner.container import Container
from imagedesigner.db import uow
from imagedesigner.db.models import User


async def get_container(request: Request) -> Container:  # async: no threadpool hop
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(get_container)]


SESSIONS = "imagedesigner.sessions"  # the scope key of the request's session holder


class RequestSession:
    """Pure ASGI middleware that ends the request's session (see :func:`get_session`):
    whatever was not committed is rolled back and its clean-up actions run, shielded from the
    request's cancellation (a client that leaves). An error is answered only once that is
    done (a client retrying at once meets no lock and no leftover blob); any other answer
    ends it when the app is done (a streamed body may still read)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder: list[AsyncSession] = []
        scope[SESSIONS] = holder

        async def ending_before_an_error(message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                await _end_held(holder)
            await send(message)

        try:
            await self.app(scope, receive, ending_before_an_error)
        finally:
            await _end_held(holder)


async def _end_held(holder: list[AsyncSession]) -> None:
    if holder:
        await asyncio.shield(_end(holder.pop()))


async def _end(session: AsyncSession) -> None:
    try:
        await uow.discard(session)
    finally:
        await session.close()


async def get_session(request: Request) -> AsyncSession:
    """The request's unit of work. Routes commit it once with ``uow.commit``; whatever was not
    committed when the request ends is rolled back and its clean-up actions run.

    A plain dependency, not a ``yield`` one: FastAPI wraps those in an exit stack and an anyio
    cancel scope per request (about 4 % of a served request's CPU); :class:`RequestSession`
    ends it instead. It takes only the request (the container is the app's), as does
    :func:`current_user`: each sub-dependency FastAPI solves costs a request ~1 % of its CPU."""
    holder = request.scope.get(SESSIONS)
    if holder is None:
        raise RuntimeError("get_session needs the RequestSession middleware (see app.py)")
    if not holder:
        holder.append(request.app.state.container.sessions())
    return holder[0]


def held_session(request: Request) -> AsyncSession | None:
    """The request's session when something has already asked for it (:func:`get_session`);
    None otherwise, and none is made."""
    holder = request.scope.get(SESSIONS)
    return holder[0] if holder else None


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def storable_parameters(request: Request) -> None:
    """Every route's path and query values go into database look-ups: they obey the same text
    rule as request bodies (``RequestModel``), so a NUL in an id is a 400, not a driver error."""
    values = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in values:
        problem = text_problem(value)
        if problem:
            raise errors.InvalidRequest(f"Invalid value for '{name}': {problem}.", param=name)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.AuthenticationFailed(
            "Malformed Authorization header: use 'Authorization: Bearer <your API key>'."
        )
    return token.strip()


# The two ways to sign a request in, as the OpenAPI document declares them: api/openapi.py puts
# them on every operation whose dependencies include ``current_user``. They are not dependencies
# themselves (FastAPI would solve both on every request); the header and the cookie are read
# below, so their errors stay ours (OpenAI's envelope, not FastAPI's 403).
API_KEY_SCHEME = HTTPBearer(
    auto_error=False, scheme_name="apiKey", description="An API key: `Bearer idk_...`."
)
SESSION_SCHEME = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="A signed-in browser; changes also need the `X-CSRF-Token` header.",
)


async def current_user(request: Request) -> User:
    """API key (Bearer) first; then the hook for other authenticators (web sessions).

    Authentication reads, and at most once a minute records a key's last use; it ends its
    transaction before the route runs, so a slow action holds no connection or lock."""
    c: Container = request.app.state.container
    token = bearer_token(request)
    if token is not None:  # a key known to the cache needs no session
        source = held_session(request) or (lambda: get_session(request))
        user = await accounts.authenticate_key(source, c.clock.now(), token, c.key_cache)
    else:
        session = await get_session(request)
        user = None
        for authenticator in getattr(request.app.state, "authenticators", ()):
            user = await authenticator(request, c, session)
            if user is not None:
                break
        if user is None:
            raise errors.AuthenticationFailed(
                "You didn't provide an API key. Send 'Authorization: Bearer <your API key>'.",
                code="missing_api_key",
            )
    held = held_session(request)
    if held is not None and held.in_transaction():
        await held.commit()  # bookkeeping only (last use); releases the connection
    if user.role == "erased":  # erasure requested, data kept only under a legal hold
        raise errors.AuthenticationFailed("This account has been closed.", code="account_closed")
    request.state.user_id = user.id
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        await limiter.hit_user(user.id, browser=token is None)
    return user


CurrentUser = Annotated[User, Depends(current_user)]
