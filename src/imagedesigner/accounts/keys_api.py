"""``/v1/me/keys``: list, create (the token is shown once) and revoke your API keys."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from imagedesigner.accounts import service
from imagedesigner.api.deps import ContainerDep, CurrentUser
from imagedesigner.db.models import ApiKey
from imagedesigner.kit.clock import as_utc

router = APIRouter(prefix="/v1/me/keys", tags=["keys"])


class NewKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=100)


def describe(key: ApiKey) -> dict:
    def ts(value):
        return int(as_utc(value).timestamp()) if value is not None else None

    return {
        "id": key.id,
        "object": "api_key",
        "name": key.name,
        "prefix": key.prefix,
        "created_at": ts(key.created_at),
        "last_used_at": ts(key.last_used_at),
        "revoked_at": ts(key.revoked_at),
    }


@router.get("")
async def list_keys(c: ContainerDep, user: CurrentUser) -> dict:
    async with c.sessions() as session:
        keys = await service.list_keys(session, user)
    return {"object": "list", "data": [describe(k) for k in keys]}


@router.post("", status_code=201)
async def create_key(body: NewKeyBody, c: ContainerDep, user: CurrentUser) -> dict:
    async with c.sessions() as session, session.begin():
        new = await service.create_key(session, c.clock, user, body.name)
    return {**describe(new.key), "key": new.token}


@router.delete("/{key_id}")
async def revoke_key(key_id: str, c: ContainerDep, user: CurrentUser) -> dict:
    async with c.sessions() as session, session.begin():
        key = await service.revoke_key(session, c.clock, user, key_id)
    return describe(key)
