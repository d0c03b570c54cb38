"""``GET /v1/models``: OpenAI's list shape, each entry extended with provider, the subprocessor
that receives the content, capabilities and availability. Like OpenAI's, it needs a valid API
key (a wrong or missing one is a 401), so a client's "test connection" that lists models tells
a good key from a bad one. A retired model (``dall-e-3``) is a 404 ``model_not_found`` that
names its replacement.

``GET /app/models``: the same catalogue for the web app, signed in by its session (or a key),
plus the default model.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep, CurrentUser, bearer_token
from imagedesigner.container import Container
from imagedesigner.db.models import User
from imagedesigner.providers.base import ModelInfo
from imagedesigner.providers.registry import retired_error


class CapabilitiesOut(BaseModel):
    sizes: list[str] | None
    size_range: list[int] | None
    size_multiple: int
    pixel_range: list[int | None] | None = None
    max_aspect_ratio: float | None = None
    aspect_ratios: list[str]
    max_n_per_call: int
    max_n: int
    edits: bool
    masks: bool
    max_input_images: int
    seeds: bool
    output_formats: list[str]
    qualities: list[str]
    backgrounds: list[str]
    partial_images: bool = False
    input_fidelity: list[str] = []
    moderation: bool = False
    output_compression: bool = False


class ModelOut(BaseModel):
    id: str
    object: str = "model"
    created: int
    owned_by: str
    provider: str
    native_id: str
    subprocessor: str
    kind: str
    description: str
    capabilities: CapabilitiesOut
    available: bool
    retired: bool


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelOut]


class AppModelList(ModelList):
    default_model: str


def describe(model: ModelInfo, available: bool) -> ModelOut:
    return ModelOut(
        id=model.id,
        created=model.created,
        owned_by=model.provider,
        provider=model.provider,
        native_id=model.native_id,
        subprocessor=model.subprocessor,
        kind=model.kind,
        description=model.description,
        capabilities=CapabilitiesOut(**model.capabilities.as_dict()),
        available=available,
        retired=model.retired,
    )


def catalogue(c: Container) -> list[ModelOut]:
    return [describe(m, a) for m, a in c.registry.models()]


async def key_user(request: Request, user: CurrentUser) -> User:
    """The account of a valid API key; a browser session alone is not one (as at OpenAI)."""
    if bearer_token(request) is None:
        raise errors.AuthenticationFailed(
            "You didn't provide an API key. Send 'Authorization: Bearer <your API key>'.",
            code="missing_api_key",
        )
    return user


router = APIRouter(tags=["models"])


@router.get("/v1/models")
async def list_models(request: Request, c: ContainerDep, user: CurrentUser) -> ModelList:
    await key_user(request, user)
    return ModelList(data=catalogue(c))


@router.get("/v1/models/{model_id:path}")
async def get_model(
    model_id: str, request: Request, c: ContainerDep, user: CurrentUser
) -> ModelOut:
    await key_user(request, user)
    for model, available in c.registry.models():
        if model.id == model_id:
            return describe(model, available)
    retired = c.registry.retired(model_id)
    if retired is not None:
        raise retired_error(model_id, retired)
    raise errors.NotFound(
        f"The model '{model_id}' does not exist.", param="model", code="model_not_found"
    )


@router.get("/app/models", tags=["app"])
async def app_models(c: ContainerDep, user: CurrentUser) -> AppModelList:
    """The web app's model catalogue: ``/v1/models``' entries (capabilities included) and the
    default model; for a signed-in browser (or an API key)."""
    return AppModelList(data=catalogue(c), default_model=c.registry.default_model_id())
