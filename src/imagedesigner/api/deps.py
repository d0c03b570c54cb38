"""Dependencies: the container from app state, and the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from imagedesigner import errors
from imagedesigner.accounts import service as accounts
from imagedesigner.container import Container
from imagedesigner.db.models import User


def get_container(request: Request) -> Container:
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_session(c: ContainerDep):
    async with c.sessions() as session:
        yield session


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


async def current_user(request: Request, c: ContainerDep) -> User:
    """API key (Bearer) first; then the hook for other authenticators (web sessions)."""
    token = bearer_token(request)
    if token is not None:
        async with c.sessions() as session:
            user = await accounts.authenticate_key(session, c.clock, token)
    else:
        user = None
        for authenticator in getattr(request.app.state, "authenticators", ()):
            user = await authenticator(request, c)
            if user is not None:
                break
        if user is None:
            raise errors.AuthenticationFailed(
                "You didn't provide an API key. Send 'Authorization: Bearer <your API key>'.",
                code="missing_api_key",
            )
    if user.role == "erased":  # erasure requested, data kept only under a legal hold
        raise errors.AuthenticationFailed("This account has been closed.", code="account_closed")
    request.state.user_id = user.id
    await _rate_limit(request, c, user)
    return user


async def _rate_limit(request: Request, c: Container, user: User) -> None:
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        await limiter.hit_user(user.id)


CurrentUser = Annotated[User, Depends(current_user)]
