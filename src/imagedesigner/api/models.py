"""``GET /v1/models``: OpenAI's list shape, each entry extended with provider, the subprocessor
that receives the content, capabilities and availability."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep
from imagedesigner.providers.base import ModelInfo


class CapabilitiesOut(BaseModel):
    sizes: list[str] | None
    size_range: list[int] | None
    size_multiple: int
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


router = APIRouter(tags=["models"])


@router.get("/v1/models")
async def list_models(c: ContainerDep) -> ModelList:
    return ModelList(data=[describe(m, a) for m, a in c.registry.models()])


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, c: ContainerDep) -> ModelOut:
    for model, available in c.registry.models():
        if model.id == model_id:
            return describe(model, available)
    raise errors.NotFound(f"The model '{model_id}' does not exist.", param="model")
