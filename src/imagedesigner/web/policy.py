"""``/privacy`` (HTML), ``/privacy.txt`` and ``/.well-known/gpc.json``: the published policy
rendered from the live settings (``privacy/policy.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from imagedesigner.api.deps import ContainerDep, SessionDep
from imagedesigner.privacy.policy import blocks, render_text
from imagedesigner.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/privacy")
async def privacy_page(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return await render(request, session, "privacy.html", {"blocks": blocks(render_text(c))})


@router.get("/privacy.txt")
async def privacy_text(c: ContainerDep) -> Response:
    return PlainTextResponse(render_text(c), headers={"Cache-Control": "no-cache"})


@router.get("/.well-known/gpc.json")
async def gpc_json(c: ContainerDep) -> JSONResponse:
    """The GPC support resource (https://privacycg.github.io/gpc-spec/)."""
    return JSONResponse({"gpc": True, "lastUpdate": c.settings.policy_version})
