"""``GET /v1/privacy/policy``: the policy's settings, retention periods and subprocessors as
JSON, from the same values the ``/privacy`` page is rendered from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from imagedesigner.api.deps import ContainerDep
from imagedesigner.api.websession import COOKIE_NAMES
from imagedesigner.kit.durations import format_duration
from imagedesigner.privacy.policy import values

router = APIRouter(tags=["privacy"])


class PolicySettings(BaseModel):
    content_ttl: str
    log_retention: str
    ip_retention: str
    ipv4_truncate_prefix: int
    ipv6_truncate_prefix: int
    ticket_retention: str
    session_ttl: str
    minimum_age: int


class Gpc(BaseModel):
    honoured: bool
    sells_or_shares_personal_information: bool


class Operator(BaseModel):
    name: str
    contact_person: str
    contact_email: str
    processing_location: str


class Policy(BaseModel):
    version: str
    effective_date: str
    contact_email: str
    operator: Operator
    settings: PolicySettings
    retention: dict[str, Any]
    enabled_providers: list[str]
    subprocessors: list[dict[str, Any]]
    cookies: list[str]
    gpc: Gpc
    gpc_received: bool


@router.get("/v1/privacy/policy", response_model=Policy)
async def privacy_json(request: Request, c: ContainerDep) -> JSONResponse:
    s = c.settings
    v = values(c)
    return JSONResponse(
        {
            "version": s.policy_version,
            "effective_date": s.policy_effective_date,
            "contact_email": s.contact_email,
            "operator": {
                "name": s.operator_name,
                "contact_person": s.policy_controller,
                "contact_email": s.contact_email,
                "processing_location": s.processing_location,
            },
            "settings": {
                "content_ttl": format_duration(s.content_ttl),
                "log_retention": format_duration(s.log_retention),
                "ip_retention": format_duration(s.ip_retention),
                "ipv4_truncate_prefix": s.ipv4_truncate_prefix,
                "ipv6_truncate_prefix": s.ipv6_truncate_prefix,
                "ticket_retention": format_duration(s.ticket_retention),
                "session_ttl": format_duration(s.session_ttl),
                "minimum_age": s.minimum_age,
            },
            "retention": {
                k: v[k]
                for k in ("content_ttl", "log_retention", "ip_retention", "ticket_retention")
            },
            "enabled_providers": [p["key"] for p in v["enabled_providers"]],
            "subprocessors": v["subprocessors"],
            "cookies": sorted(COOKIE_NAMES, key=lambda n: n != "imagedesigner_session"),
            "gpc": {"honoured": True, "sells_or_shares_personal_information": False},
            "gpc_received": bool(request.scope.get("state", {}).get("gpc")),
        },
        headers={"Cache-Control": "no-cache"},
    )
