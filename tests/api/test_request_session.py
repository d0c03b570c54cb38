"""The request's session (api/deps.py): one per request, made on first use, and ended by the
RequestSession middleware once the app has answered, even when the request failed or the
client left: what was not committed is rolled back and its clean-up actions run."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from imagedesigner import errors
from imagedesigner.api.deps import SessionDep
from imagedesigner.app import create_app
from imagedesigner.db import uow
from imagedesigner.db.models import User
from tests.conftest import make_user


def _app_with_probe(container, seen: dict, *, fail: bool = False, hang: bool = False):
    app = create_app(container=container, run_sweeper=False)

    async def probe(session: SessionDep, again: SessionDep) -> dict:
        seen["same"] = session is again
        seen["session"] = session

        async def cleaned() -> None:
            seen["cleaned"] = True
            seen.setdefault("order", []).append("cleaned")

        uow.on_failure(session, cleaned)
        await session.execute(select(func.count()).select_from(User))  # begins a transaction
        user = await session.get(User, seen["user_id"])
        user.email = "changed@example.com"  # never committed
        await session.flush()
        if hang:
            await asyncio.Event().wait()
        if fail:
            raise errors.InvalidRequest("Refused on purpose.")
        return {"ok": True}

    app.add_api_route("/test-probe", probe, methods=["POST"])
    return app


async def _email(container, user_id: str) -> str:
    async with container.sessions() as s:
        return (await s.get(User, user_id)).email


def _recording_starts(app, seen: dict):
    """The app, noting in ``seen["order"]`` when its answer starts."""

    async def wrapped(scope, receive, send):
        async def noted(message):
            if message["type"] == "http.response.start":
                seen.setdefault("order", []).append("response-start")
            await send(message)

        await app(scope, receive, noted)

    return wrapped


async def _client(app):
    import httpx

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_a_failed_request_is_rolled_back_and_cleaned_up(container):
    user, _ = await make_user(container)
    seen: dict = {"user_id": user.id}
    app = _recording_starts(_app_with_probe(container, seen, fail=True), seen)
    async with await _client(app) as client:
        response = await client.post("/test-probe")
    assert response.status_code == 400
    assert seen["same"], "one session per request"
    assert seen["cleaned"]
    assert seen["order"] == ["cleaned", "response-start"], "rolled back before the error goes out"
    assert not seen["session"].in_transaction()
    assert await _email(container, user.id) == "ada@example.com"


async def test_a_request_the_client_left_is_rolled_back_and_cleaned_up(container):
    user, _ = await make_user(container)
    seen: dict = {"user_id": user.id}
    async with await _client(_app_with_probe(container, seen, hang=True)) as client:
        call = asyncio.ensure_future(client.post("/test-probe"))
        for _ in range(200):
            if "session" in seen:
                break
            await asyncio.sleep(0.01)
        call.cancel()  # the request's task is cancelled, as when a client disconnects
        await asyncio.gather(call, return_exceptions=True)
        for _ in range(200):
            if seen.get("cleaned"):
                break
            await asyncio.sleep(0.01)
    assert seen["cleaned"]
    assert not seen["session"].in_transaction()
    assert await _email(container, user.id) == "ada@example.com"


async def test_a_route_that_never_asks_makes_no_session(container, auth, monkeypatch):
    app = create_app(container=container, run_sweeper=False)
    made = []
    real = container.sessions
    monkeypatch.setattr(container, "sessions", lambda: made.append(1) or real())
    async with await _client(app) as client:
        assert (await client.get("/healthz")).status_code == 200
    assert made == []
