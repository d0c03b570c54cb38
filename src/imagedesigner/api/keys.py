"""``/v1/me/keys``: list, create (the token is shown once) and revoke your API keys."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from imagedesigner.accounts import service
from imagedesigner.api.deps import ContainerDep, CurrentUser, SessionDep
from imagedesigner.api.schemas import RequestModel, ts
from imagedesigner.db import uow
from imagedesigner.db.models import ApiKey

router = APIRouter(prefix="/v1/me/keys", tags=["keys"])


class NewKeyBody(RequestModel):
    name: str = Field(default="", max_length=100)


class KeyOut(BaseModel):
    id: str
    object: str = "api_key"
    name: str
    prefix: str
    created_at: int | None
    last_used_at: int | None
    revoked_at: int | None


class NewKeyOut(KeyOut):
    key: str


class KeyList(BaseModel):
    object: str = "list"
    data: list[KeyOut]


def describe(key: ApiKey) -> dict:
    return {
        "id": key.id,
        "object": "api_key",
        "name": key.name,
        "prefix": key.prefix,
        "created_at": ts(key.created_at),
        "last_used_at": ts(key.last_used_at),
        "revoked_at": ts(key.revoked_at),
    }


@router.get("", response_model=KeyList)
async def list_keys(session: SessionDep, user: CurrentUser) -> dict:
    keys = await service.list_keys(session, user)
    return {"object": "list", "data": [describe(k) for k in keys]}


@router.post("", status_code=201, response_model=NewKeyOut)
async def create_key(
    body: NewKeyBody, c: ContainerDep, session: SessionDep, user: CurrentUser
) -> dict:
    new = await service.create_key(session, c.clock.now(), user, body.name)
    await uow.commit(session)
    return {**describe(new.key), "key": new.token}


@router.delete("/{key_id}", response_model=KeyOut)
async def revoke_key(key_id: str, c: ContainerDep, session: SessionDep, user: CurrentUser) -> dict:
    key = await service.revoke_key(session, c.clock.now(), user, key_id)
    await uow.commit(session)
    return describe(key)
