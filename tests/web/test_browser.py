"""The web pages as a person meets them: real Chromium (Playwright driving the system browser)
against the service on loopback. CI installs Debian's chromium; without it these tests skip."""

from __future__ import annotations

import base64
import os
import shutil
from datetime import date

import pytest

from tests.api.test_openai_sdk import LiveServer
from tests.conftest import make_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs chromium and sets this, so there a missing browser fails instead of skipping
REQUIRED = bool(os.environ.get("IMAGEDESIGNER_REQUIRE_BROWSER"))
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not REQUIRED, reason="chromium is not installed"
)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def server(tmp_path):
    with LiveServer(make_settings(tmp_path / "data")) as live:
        yield live.url


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def sign_up(page, url: str, email: str, *, adult: bool = True, dob: date | None = None) -> None:
    page.goto(f"{url}/signup")
    page.fill("#email", email)
    page.fill("#password", "correct horse battery")
    if adult:
        page.check("input[name=age_confirmed]")
    if dob is not None:
        page.fill("#dob", dob.isoformat())
    page.click("form[action='/signup'] button[type=submit]")


def test_sign_up_generate_privacy_sign_out(page, server):
    sign_up(page, server, "ada@example.com")
    page.wait_for_url(f"{server}/")
    assert "Signed in as ada@example.com" in page.inner_text("body")

    cookies = {c["name"]: c for c in page.context.cookies()}
    assert set(cookies) == {"imagedesigner_session", "imagedesigner_csrf"}
    session = cookies["imagedesigner_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"
    assert "imagedesigner_session" not in page.evaluate("document.cookie"), "not readable by JS"

    # the chosen model lives in local storage, not in a cookie
    page.select_option("#model", "local/sketch")
    assert page.evaluate("localStorage.getItem('imagedesigner.model')") == "local/sketch"
    page.reload()
    assert page.input_value("#model") == "local/sketch"
    assert set(c["name"] for c in page.context.cookies()) == set(cookies)

    # the signed-in browser uses the API with its session and the CSRF header ...
    result = page.evaluate(
        """async () => {
            const s = await (await fetch('/v1/auth/session')).json();
            const r = await fetch('/v1/images/generations', {method: 'POST',
                headers: {'content-type': 'application/json', 'x-csrf-token': s.csrf_token},
                body: JSON.stringify({prompt: 'a red house at night', size: '256x256'})});
            const forged = await fetch('/v1/images/generations', {method: 'POST',
                headers: {'content-type': 'application/json'},
                body: JSON.stringify({prompt: 'forged', size: '256x256'})});
            return {status: r.status, body: await r.json(), forged: forged.status};
        }"""
    )
    assert result["status"] == 200 and result["body"]["provider"] == "local"
    assert base64.b64decode(result["body"]["data"][0]["b64_json"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["forged"] == 403, "... and a request without the CSRF token is refused"

    page.goto(f"{server}/privacy")
    text = page.inner_text("body")
    assert "24 hours" in text and "30 days" in text

    page.goto(f"{server}/")
    page.click("form[action='/logout'] button")
    page.wait_for_url(f"{server}/**")
    assert "Signed in as" not in page.inner_text("body")
    assert "imagedesigner_session" not in {c["name"] for c in page.context.cookies()}


def test_under_age_sign_up_is_refused_and_keeps_nothing(page, server):
    today = date.today()
    sign_up(page, server, "kid@example.com", adult=False, dob=today.replace(year=today.year - 12))
    assert page.locator("[role=alert]").is_visible()
    assert "kid@example.com" not in page.content()
    page.goto(f"{server}/login")
    page.fill("#email", "kid@example.com")
    page.fill("#password", "correct horse battery")
    page.click("form[action='/login'] button[type=submit]")
    assert "Signed in as" not in page.inner_text("body")
