"""``GET /v1/models``: OpenAI's list shape, each entry extended with provider, the subprocessor
that receives the content, capabilities and availability."""

from __future__ import annotations

from fastapi import APIRouter

from imagedesigner import errors
from imagedesigner.api.deps import ContainerDep
from imagedesigner.providers.base import ModelInfo


def describe(model: ModelInfo, available: bool) -> dict:
    return {
        "id": model.id,
        "object": "model",
        "created": model.created,
        "owned_by": model.provider,
        "provider": model.provider,
        "native_id": model.native_id,
        "subprocessor": model.subprocessor,
        "kind": model.kind,
        "description": model.description,
        "capabilities": model.capabilities.as_dict(),
        "available": available,
        "retired": model.retired,
    }


router = APIRouter(tags=["models"])


@router.get("/v1/models")
async def list_models(c: ContainerDep) -> dict:
    return {"object": "list", "data": [describe(m, a) for m, a in c.registry.models()]}


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, c: ContainerDep) -> dict:
    for model, available in c.registry.models():
        if model.id == model_id:
            return describe(model, available)
    raise errors.NotFound(f"The model '{model_id}' does not exist.", param="model")
