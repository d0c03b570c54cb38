from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from imagedesigner.api.deps import ContainerDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str = Field(description="ok, or unavailable (503)")
    database: str = Field(description="ok, or error: <type>")
    blob_store: str = Field(description="ok, or error: <type>")


@router.get("/healthz")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is not ready."}},
)
async def readyz(c: ContainerDep) -> JSONResponse:
    checks = {}
    try:
        async with c.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report, never raise
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await c.blobs.check()
        checks["blob_store"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["blob_store"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, 200 if ok else 503)
