"""Policy pages: /privacy shows the published text with the live settings (the bracketed
numbers, the minimum age, the providers this server sends content to, the subprocessor table
from the model catalogue, the version); a new version is announced once to signed-in users;
"We do not sell or share": a Global Privacy Control signal is honoured and recorded."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from imagedesigner.app import create_app
from imagedesigner.container import Container
from imagedesigner.db.models_logs import RequestLog
from imagedesigner.privacy.policy import render_text
from imagedesigner.providers.registry import ProviderRegistry
from tests.conftest import make_user

PASSWORD = "correct horse battery"
NOTICE = "Our privacy policy has changed"


def client_for(app, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 1234), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def live(settings, clock):
    """OpenAI enabled (a key is set), fal listed but not enabled, local renderer on."""
    settings.openai_api_key = SecretStr("sk-test-not-a-real-key-123456")
    registry = ProviderRegistry.from_settings(settings, only=["local", "openai", "fal"])
    c = await Container.build(settings, clock=clock, registry=registry)
    yield create_app(container=c, run_sweeper=False), c
    await c.aclose()


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "content_ttl": "12h",
            "log_retention": "14d",
            "ip_retention": "2d",
            "ticket_retention": "730d",
            "minimum_age": 18,
            "policy_version": "2027-01-15",
            "policy_effective_date": "January 15, 2027",
            "contact_email": "dpo@example.org",
        }
    ],
)
async def test_policy_page_renders_live_settings(live):
    app, c = live
    async with client_for(app) as client:
        page = await client.get("/privacy")
        text = (await client.get("/privacy.txt")).text
        data = (await client.get("/v1/privacy/policy")).json()
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    for expected in (
        "January 15, 2027",
        "2027-01-15",
        "dpo@example.org",
        "up to 12 hours",
        "retained for 14 days",
        "After 2 days the IP address",
        "Kept for 24 months",
        "under the age of 18",
        "OpenAI → Image model(s)",
        "https://openai.com/policies/privacy-policy/",
        "local/sketch) runs on this server",
        "imagedesigner_session",
        "nothing to sell or share",
    ):
        assert expected in text, expected
        assert expected.replace("→", "&rarr;") in html or expected in html, expected
    assert "[24 hours]" not in text and "[30 days]" not in text
    assert "fal.ai → " not in text, "a provider without a key receives nothing and is not listed"
    assert "Cloudflare" not in text, "not in front of this server"
    assert '<table class="stack">' in html and re.search(
        r'<td data-label="[^"]*">fal.ai</td>', html
    )
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert all('src="/static/' in tag for tag in scripts), "no inline script"
    assert data["version"] == "2027-01-15" and data["effective_date"] == "January 15, 2027"
    assert data["settings"]["content_ttl"] == "12h" and data["settings"]["minimum_age"] == 18
    assert data["retention"]["ticket_retention"] == "24 months"
    assert data["enabled_providers"] == ["openai"]
    subs = {s["key"]: s for s in data["subprocessors"]}
    assert subs["openai"]["enabled"] and not subs["fal"]["enabled"] and "local" not in subs
    assert data["cookies"] == ["imagedesigner_session", "imagedesigner_csrf"]

    c.settings.trusted_proxies = ["173.245.48.0/20"]
    with_cf = render_text(c)
    assert "Cloudflare | CDN, DDoS protection" in with_cf and "including Cloudflare" in with_cf
    c.settings.cloudflare = False
    assert "Cloudflare" not in render_text(c), "IMAGEDESIGNER_CLOUDFLARE=false overrides"


async def test_policy_version_bump_notice_shown_once(app, container):
    async with client_for(app) as c:
        r = await c.post(
            "/v1/auth/signup",
            json={"email": "ada@example.com", "password": PASSWORD, "age_confirmed": True},
        )
        assert r.status_code == 201
        await c.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        assert NOTICE not in (await c.get("/")).text, "the policy was shown at sign-up"
        assert (await c.get("/v1/auth/session")).json()["policy_notice"] is False

        container.settings.policy_version = "2027-03-01"
        assert (await c.get("/v1/auth/session")).json()["policy_notice"] is True
        first = await c.get("/privacy")
        assert NOTICE in first.text and "2027-03-01" in first.text
        assert NOTICE not in (await c.get("/")).text, "shown once, then not again"
        assert NOTICE not in (await c.get("/privacy")).text
        assert (await c.get("/v1/auth/session")).json()["policy_notice"] is False

    # an account made elsewhere (CLI) sees the current version once on its first page view
    await make_user(container, "grace@example.com")
    async with client_for(app) as c:
        await c.post("/v1/auth/login", json={"email": "grace@example.com", "password": PASSWORD})
        assert NOTICE in (await c.get("/")).text
        assert NOTICE not in (await c.get("/")).text
    async with client_for(app) as anonymous:
        assert NOTICE not in (await anonymous.get("/")).text


async def test_gpc_honoured_and_recorded(client, container, clock):
    plain = await client.get("/privacy")
    clock.advance(timedelta(seconds=1))
    gpc = await client.get("/privacy", headers={"Sec-GPC": "1"})
    api = await client.get("/v1/privacy/policy", headers={"Sec-GPC": "1"})
    assert plain.status_code == gpc.status_code == 200
    assert "x-gpc-honoured" not in plain.headers and gpc.headers["x-gpc-honoured"] == "1"
    assert "Your browser sent a Global Privacy Control signal" in gpc.text
    assert "Your browser sent" not in plain.text
    assert "nothing to sell or share" in plain.text, "the page says so to everyone"
    assert api.json()["gpc_received"] is True
    assert api.json()["gpc"] == {"honoured": True, "sells_or_shares_personal_information": False}
    assert (await client.get("/.well-known/gpc.json")).json()["gpc"] is True
    async with container.sessions() as s:
        flags = (await s.execute(select(RequestLog.gpc).order_by(RequestLog.id))).scalars().all()
    assert flags[:3] == [False, True, True]
    assert "set-cookie" not in api.headers
