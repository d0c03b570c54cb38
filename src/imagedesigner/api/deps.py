"""Dependencies: the container from app state, one database session per request, and the
signed-in user (API key first, then the browser session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.accounts import service as accounts
from imagedesigner.container import Container
from imagedesigner.db import uow
from imagedesigner.db.models import User


def get_container(request: Request) -> Container:
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_session(c: ContainerDep):
    """The request's unit of work. Routes commit it once with ``uow.commit``; whatever was not
    committed when the request ends is rolled back and its clean-up actions run."""
    async with c.sessions() as session:
        try:
            yield session
        finally:
            await uow.discard(session)


SessionDep = Annotated[AsyncSession, Depends(get_session)]


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


async def current_user(request: Request, c: ContainerDep, session: SessionDep) -> User:
    """API key (Bearer) first; then the hook for other authenticators (web sessions).

    Authentication reads, and at most once a minute records a key's last use; it ends its
    transaction before the route runs, so a slow action holds no connection or lock."""
    token = bearer_token(request)
    if token is not None:
        user = await accounts.authenticate_key(session, c.clock.now(), token)
    else:
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
    await session.commit()  # bookkeeping only (last use); releases the connection
    if user.role == "erased":  # erasure requested, data kept only under a legal hold
        raise errors.AuthenticationFailed("This account has been closed.", code="account_closed")
    request.state.user_id = user.id
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        await limiter.hit_user(user.id)
    return user


CurrentUser = Annotated[User, Depends(current_user)]
