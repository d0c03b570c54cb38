"""Policy, "Cookies and Similar Technologies" (strictly necessary only) and "Children's Privacy"
(not for under 16): sign-up with an age gate that keeps nothing on refusal; argon2 logins
throttled per account and per IP; server-side sessions behind one cookie, rotated at login and
ended at logout; CSRF tokens for cookie-authenticated writes; only two cookies, ever."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from imagedesigner.db.models import User
from imagedesigner.db.models_logs import WebSession
from imagedesigner.retention.sweeper import sweep
from tests.conftest import find_in_files, make_user

PASSWORD = "correct horse battery"
PROTECTED = "/v1/images/img_doesnotexist"  # 401 signed out, 404 signed in
COOKIES = {"imagedesigner_session", "imagedesigner_csrf"}


def client_for(
    app, base_url: str = "http://testserver", ip: str = "127.0.0.1"
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 1234), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def count(container, model) -> int:
    async with container.sessions() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def csrf_of(c: httpx.AsyncClient) -> str:
    return (await c.get("/v1/auth/session")).json()["csrf_token"]


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def years_ago(today: date, years: int, days: int = 0) -> str:
    return (today.replace(year=today.year - years) + timedelta(days=days)).isoformat()


async def test_age_gate_refuses_under_16_and_keeps_nothing(app, container, clock, data_dir, caplog):
    caplog.set_level(logging.DEBUG)
    today = clock.now().date()
    email = "young-canary-5e1@example.com"
    async with client_for(app) as c:
        r = await c.post(
            "/v1/auth/signup",
            json={"email": email, "password": PASSWORD, "date_of_birth": years_ago(today, 16, 1)},
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "below_minimum_age"
        assert "set-cookie" not in r.headers
        page = await c.get("/signup")
        r = await c.post(
            "/signup",
            data={
                "email": email,
                "password": PASSWORD,
                "date_of_birth": years_ago(today, 10),
                "csrf_token": form_token(page.text),
            },
        )
        assert r.status_code == 403 and "not intended for people under 16" in r.text
        assert email not in r.text, "the refused form does not echo what was entered"
        missing = await c.post("/v1/auth/signup", json={"email": email, "password": PASSWORD})
        assert missing.status_code == 400
    assert await count(container, User) == 0
    assert find_in_files(data_dir, email.encode()) == [], "no row, no log, no file holds the email"
    assert email not in caplog.text

    async with client_for(app) as c:
        exactly = await c.post(
            "/v1/auth/signup",
            json={
                "email": "sixteen@example.com",
                "password": PASSWORD,
                "date_of_birth": years_ago(today, 16),
            },
        )
        ticked = await c.post(
            "/v1/auth/signup",
            json={"email": "adult@example.com", "password": PASSWORD, "age_confirmed": True},
        )
    assert exactly.status_code == 201 and ticked.status_code == 201
    async with container.sessions() as s:
        user = (
            await s.execute(select(User).where(User.email == "sixteen@example.com"))
        ).scalar_one()
    assert user.age_confirmed_at is not None and user.password_hash.startswith("$argon2id$")
    assert years_ago(today, 16).encode() not in b"".join(
        p.read_bytes() for p in data_dir.rglob("*") if p.is_file()
    )


@pytest.mark.parametrize("settings_overrides", [{"login_rate_limit": "3/minute"}])
async def test_login_throttled(app, container):
    await make_user(container, "ada@example.com")
    async with client_for(app, ip="198.51.100.1") as c:
        for _ in range(3):
            r = await c.post(
                "/v1/auth/login", json={"email": "ada@example.com", "password": "wrong password!"}
            )
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
        r = await c.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # per account: another IP cannot keep guessing the same account
    async with client_for(app, ip="198.51.100.2") as c:
        r = await c.post("/v1/auth/login", json={"email": "ADA@example.com", "password": PASSWORD})
        assert r.status_code == 429
    # per IP: one IP cannot spray many accounts
    async with client_for(app, ip="198.51.100.3") as c:
        codes = [
            (
                await c.post(
                    "/v1/auth/login", json={"email": f"u{i}@example.com", "password": "x" * 12}
                )
            ).status_code
            for i in range(4)
        ]
        assert codes == [401, 401, 401, 429]


async def test_session_rotated_at_login_and_ended_at_logout(app, container, clock):
    async with client_for(app) as c:
        # a session from before (e.g. another account on a shared computer)
        r = await c.post(
            "/v1/auth/signup",
            json={"email": "ada@example.com", "password": PASSWORD, "age_confirmed": True},
        )
        assert r.status_code == 201 and "imagedesigner_session" not in c.cookies
        r = await c.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        first = c.cookies["imagedesigner_session"]
        assert r.status_code == 200 and (await c.get("/v1/auth/session")).json()["signed_in"]
        r = await c.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        second = c.cookies["imagedesigner_session"]
        assert r.status_code == 200 and second != first, "a new session id at login"
        assert await count(container, WebSession) == 1, "the pre-login session is destroyed"
        async with container.sessions() as s:
            stored = (await s.execute(select(WebSession.id))).scalar_one()
        assert second not in stored and len(stored) == 64, "only the SHA-256 is stored"

    async with client_for(app) as stale:
        stale.cookies.set("imagedesigner_session", first)
        assert (await stale.get(PROTECTED)).status_code == 401
        stale.cookies.set("imagedesigner_session", second)
        assert (await stale.get(PROTECTED)).status_code == 404, "the cookie works on /v1"
        r = await stale.post("/v1/auth/logout", headers={"X-CSRF-Token": await csrf_of(stale)})
        cleared = [
            h for h in r.headers.get_list("set-cookie") if h.startswith("imagedesigner_session=")
        ]
        assert r.status_code == 200 and len(cleared) == 1 and "Max-Age=0" in cleared[0]
    assert await count(container, WebSession) == 0, "deleted server-side at logout"
    async with client_for(app) as c:
        c.cookies.set("imagedesigner_session", second)
        assert (await c.get(PROTECTED)).status_code == 401

    # expiry: refused at once, row removed by the sweeper
    async with client_for(app) as c:
        await c.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        clock.advance(container.settings.session_ttl + timedelta(seconds=1))
        assert (await c.get("/v1/auth/session")).json()["signed_in"] is False
        assert (await c.get(PROTECTED)).status_code == 401
    assert await count(container, WebSession) == 1, "refused, but the row waits for the sweeper"
    report = await sweep(container)
    assert report["expired_web_sessions"] == 1
    assert await count(container, WebSession) == 0


async def test_csrf_required_for_cookie_authenticated_posts(app, container):
    _, key = await make_user(container, "ada@example.com")
    body = {"prompt": "a green triangle", "size": "256x256"}
    async with client_for(app) as c:
        page = await c.get("/login")
        no_token = await c.post("/login", data={"email": "ada@example.com", "password": PASSWORD})
        assert no_token.status_code == 403, "login CSRF"
        signed = await c.post(
            "/login",
            data={
                "email": "ada@example.com",
                "password": PASSWORD,
                "csrf_token": form_token(page.text),
            },
        )
        assert signed.status_code == 303
        assert (await c.post("/v1/images/generations", json=body)).status_code == 403
        forged = await c.post(
            "/v1/images/generations", json=body, headers={"X-CSRF-Token": "abc.def"}
        )
        assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
        stale = form_token(page.text)  # the pre-login token is bound to no session
        assert (
            await c.post("/v1/images/generations", json=body, headers={"X-CSRF-Token": stale})
        ).status_code == 403
        token = await csrf_of(c)
        assert (
            await c.post("/v1/images/generations", json=body, headers={"X-CSRF-Token": token})
        ).status_code == 200
        assert (await c.post("/logout", data={})).status_code == 403
        assert (await c.get("/v1/auth/session")).json()["signed_in"], "still signed in"
        assert (
            await c.post("/logout", data={"csrf_token": form_token((await c.get("/")).text)})
        ).status_code == 303
        assert (await c.get("/v1/auth/session")).json()["signed_in"] is False
    async with client_for(app) as api:  # Bearer keys need no CSRF
        r = await api.post(
            "/v1/images/generations", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 200 and "set-cookie" not in r.headers
    async with client_for(app) as c:  # cookie-setting JSON endpoints refuse non-JSON bodies
        r = await c.post(
            "/v1/auth/login",
            content=b'{"email":"ada@example.com","password":"x"}',
            headers={"content-type": "text/plain"},
        )
        assert r.status_code == 400 and "set-cookie" not in r.headers


def check_cookie(header: str, secure: bool) -> str:
    name = header.split("=", 1)[0]
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in header.split(";")[1:]}
    assert name in COOKIES, f"unexpected cookie {name}"
    assert "httponly" in attrs and attrs["samesite"].lower() == "samesite=lax"
    assert attrs["path"] == "Path=/" and "domain" not in attrs
    assert ("secure" in attrs) is secure
    return name


@pytest.mark.parametrize("base_url", ["http://testserver", "https://testserver"])
async def test_cookies_strictly_necessary_only(app, container, base_url):
    seen: list[str] = []
    async with client_for(app, base_url) as c:

        async def go(method: str, url: str, **kw) -> httpx.Response:
            r = await c.request(method, url, **kw)
            for header in r.headers.get_list("set-cookie"):
                seen.append(check_cookie(header, secure=base_url.startswith("https")))
            assert r.status_code < 400, (method, url, r.status_code, r.text[:300])
            return r

        signup = await go("GET", "/signup")
        signed_up = await go(
            "POST",
            "/signup",
            data={
                "email": "ada@example.com",
                "password": PASSWORD,
                "age_confirmed": "on",
                "csrf_token": form_token(signup.text),
            },
        )
        assert "Sign in with your email and password" in signed_up.text
        await go(
            "POST",
            "/login",
            data={
                "email": "ada@example.com",
                "password": PASSWORD,
                "csrf_token": form_token(signed_up.text),
            },
        )
        home = await go("GET", "/")
        assert (
            "Signed in as" in home.text
            and "ada@example.com" in home.text
            and 'href="/privacy"' in home.text
        )
        await go("POST", "/logout", data={"csrf_token": form_token(home.text)})
        login = await go("GET", "/login")
        await go(
            "POST",
            "/login",
            data={
                "email": "ada@example.com",
                "password": PASSWORD,
                "csrf_token": form_token(login.text),
            },
        )
        token = (await go("GET", "/v1/auth/session")).json()["csrf_token"]
        gen = await go(
            "POST",
            "/v1/images/generations",
            json={"prompt": "a cat", "size": "256x256", "response_format": "url"},
            headers={"X-CSRF-Token": token},
        )
        await go("GET", gen.json()["data"][0]["url"].replace("http://testserver", ""))
        await go("GET", "/app/models")  # the web app's catalogue, by its session
        await go("GET", "/privacy")
        await go("GET", "/v1/privacy/policy")
        await go("POST", "/v1/auth/logout", headers={"X-CSRF-Token": token})
        await go("GET", "/")
    assert set(seen) == COOKIES, "only the session and the CSRF cookie, ever"


@pytest.mark.parametrize("settings_overrides", [{"trusted_proxies": ["10.0.0.0/8"]}])
async def test_secure_cookie_behind_trusted_tls_proxy(app, container):
    await make_user(container, "ada@example.com")
    async with client_for(app, ip="10.1.2.3") as c:
        r = await c.post(
            "/v1/auth/login",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert all("Secure" in h for h in r.headers.get_list("set-cookie"))
    async with client_for(app, ip="192.0.2.1") as c:  # an untrusted peer cannot claim https
        r = await c.post(
            "/v1/auth/login",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert not any("Secure" in h for h in r.headers.get_list("set-cookie"))
