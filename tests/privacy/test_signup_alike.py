"""Sign-up must not tell who has an account: a taken address gets the same answer, by the same
work (the password is hashed either way), and the existing account is untouched; ten sign-ups
racing for one address give ten identical answers and one account, never a 500."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from imagedesigner.accounts import service as accounts_service
from imagedesigner.db.models import User
from tests.conftest import make_user
from tests.privacy.test_sessions import PASSWORD, client_for, count

pytestmark = pytest.mark.parametrize("settings_overrides", [{"login_rate_limit": "1000/minute"}])


def _signup(email: str, password: str = PASSWORD) -> dict:
    return {"email": email, "password": password, "age_confirmed": True}


async def test_new_and_taken_addresses_get_the_same_answer(app, container, monkeypatch):
    existing, _ = await make_user(container, "ada@example.com")
    hashed: list[str] = []
    real = accounts_service.hash_password_async

    async def counting(password: str) -> str:
        hashed.append("x")
        return await real(password)

    monkeypatch.setattr(accounts_service, "hash_password_async", counting)
    async with client_for(app) as c:
        new = await c.post("/v1/auth/signup", json=_signup("New.Person@example.com"))
        new_hashes = len(hashed)
        taken = await c.post(
            "/v1/auth/signup", json=_signup("ADA@example.com", "another password 1")
        )
    assert new.status_code == taken.status_code == 201
    assert new.json() == {**taken.json(), "email": "new.person@example.com"}
    assert taken.json()["email"] == "ada@example.com"
    assert new.headers.get("set-cookie") is None and taken.headers.get("set-cookie") is None
    assert new_hashes == 1 and len(hashed) == 2, "the taken address costs the same hashing work"
    async with container.sessions() as s:
        row = await s.get(User, existing.id)
    assert row.password_hash == existing.password_hash, "the existing account is untouched"
    async with client_for(app) as c:
        ok = await c.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        assert ok.status_code == 200, "its owner still signs in with their own password"
        newcomer = await c.post(
            "/v1/auth/login", json={"email": "new.person@example.com", "password": PASSWORD}
        )
        assert newcomer.status_code == 200


async def test_the_web_form_answers_alike(app, container):
    await make_user(container, "ada@example.com")
    pages = []
    for email in ("grace@example.com", "ada@example.com"):
        async with client_for(app) as c:
            form = await c.get("/signup")
            token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            r = await c.post(
                "/signup",
                data={
                    "email": email,
                    "password": PASSWORD,
                    "age_confirmed": "on",
                    "csrf_token": token,
                },
            )
            pages.append((r.status_code, r.text.replace(email, "EMAIL")))
    (s1, t1), (s2, t2) = pages
    assert s1 == s2 == 200
    strip = [line for line in t1.splitlines() if "csrf_token" not in line and "nonce" not in line]
    strip2 = [line for line in t2.splitlines() if "csrf_token" not in line and "nonce" not in line]
    assert strip == strip2


async def test_ten_concurrent_signups_for_one_address(app, container):
    async def one(i: int):
        async with client_for(app, ip=f"198.51.100.{i + 1}") as c:
            return await c.post("/v1/auth/signup", json=_signup("race@example.com"))

    answers = await asyncio.gather(*(one(i) for i in range(10)))
    assert [r.status_code for r in answers] == [201] * 10
    assert len({r.text for r in answers}) == 1
    assert await count(container, User) == 1
    async with container.sessions() as s:
        assert (await s.execute(select(User.email))).scalar_one() == "race@example.com"
