"""The support page (``/support``: a person's tickets and support's answers) and the staff desk
(``/staff``...): tickets for the support role; rights requests, legal holds, the audit log and
the under-age flag for admins. The pages are shells; their data and every action go through the
JSON API (``api/support.py``, ``api/admin.py``, ``api/staff.py``), which checks the role again
and writes the audit log. Signed out: to the sign-in page; no staff role: 404 (the desk is not
advertised); support on an admin page: 403."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from imagedesigner.api import websession
from imagedesigner.api.deps import ContainerDep, SessionDep
from imagedesigner.privacy.policy import human
from imagedesigner.web.templating import render

router = APIRouter(include_in_schema=False)
STAFF, ADMIN = {"support", "admin"}, {"admin"}
# the desk: (slug, title, roles that may open it, one line on what it is for)
DESK = [
    ("tickets", "Tickets", STAFF, "Answer people's questions and close what is done."),
    ("requests", "Rights requests", ADMIN, "Access, erasure and other requests, with deadlines."),
    ("holds", "Legal holds", ADMIN, "Keep an account's data for a legal claim, then release it."),
    ("audit", "Audit log", ADMIN, "Every staff action, newest first."),
    ("underage", "Under-age accounts", ADMIN, "Delete an account whose holder is too young."),
]


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303, headers={"Cache-Control": "no-store"})


async def _desk(request: Request, c, session, page: str | None) -> Response:
    active = await websession.load(request, session)
    if active is None:
        return _to_login()
    role = active.user.role
    pages = [
        {"slug": slug, "title": title, "about": about}
        for slug, title, roles, about in DESK
        if role in roles
    ]
    context = {"desk": pages, "page": page, "minimum_age": c.settings.minimum_age}
    if role not in STAFF:
        return await render(request, session, "staff_denied.html", context, status_code=404)
    if page is None:
        return await render(request, session, "staff.html", context)
    slug, title, roles, _ = next(p for p in DESK if p[0] == page)
    if role not in roles:
        context["title"] = title
        return await render(request, session, "staff_denied.html", context, status_code=403)
    return await render(request, session, f"staff_{slug}.html", {**context, "title": title})


@router.get("/support")
async def support_page(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    if await websession.load(request, session) is None:
        return _to_login()
    context = {"ticket_retention": human(c.settings.ticket_retention)}
    return await render(request, session, "support.html", context)


@router.get("/staff")
async def staff_home(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return await _desk(request, c, session, None)


@router.get("/staff/tickets")
async def staff_tickets(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return await _desk(request, c, session, "tickets")


@router.get("/staff/requests")
async def staff_requests(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return await _desk(request, c, session, "requests")


@router.get("/staff/holds")
async def staff_holds(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return await _desk(request, c, session, "holds")


@router.get("/staff/audit")
async def staff_audit(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return await _desk(request, c, session, "audit")


@router.get("/staff/underage")
async def staff_underage(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return await _desk(request, c, session, "underage")
