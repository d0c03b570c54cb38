"""Browser fixtures: Chromium (Debian's, driven by Playwright) against the service on loopback,
and helpers a person's steps are written with. Without chromium these tests skip, except in
CI (IMAGEDESIGNER_REQUIRE_BROWSER=1), where a missing browser fails."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from imagedesigner.providers.local import LocalProvider
from tests.api.test_openai_sdk import LiveServer
from tests.conftest import make_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = bool(os.environ.get("IMAGEDESIGNER_REQUIRE_BROWSER"))
AXE = Path(__file__).parents[1] / "node" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery"
COOKIES = {"imagedesigner_session", "imagedesigner_csrf"}
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    if CHROMIUM is None and not REQUIRED:
        skip = pytest.mark.skip(reason="chromium is not installed")
        for item in items:
            if "browser" in getattr(item, "fixturenames", ()):
                item.add_marker(skip)


@pytest.fixture(scope="module")  # sync Playwright holds a loop: not across async test modules
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
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.problems = []  # script errors and CSP violations: none is expected
    page.on("pageerror", lambda e: page.problems.append(f"error: {e}"))
    page.on(
        "console",
        lambda m: page.problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    context.close()


@pytest.fixture
def slow_local(monkeypatch):
    """local/sketch reports 40 % and then waits until released, so a person sees progress."""
    gate = threading.Event()
    real = LocalProvider.generate

    async def slow(self, model, request, *, progress=None):
        if progress is not None:
            await progress(
                {"stage": "running", "percent": 40.0, "step": None, "steps": None, "message": None}
            )
        while not gate.is_set():
            await asyncio.sleep(0.02)
        return await real(self, model, request, progress=progress)

    monkeypatch.setattr(LocalProvider, "generate", slow)
    return gate


def until(page, predicate: str, timeout: float = 10.0) -> None:
    """Poll a JS predicate (the page's CSP forbids eval, which wait_for_function needs)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        time.sleep(0.05)


def sign_up(page, url: str, email: str, *, adult: bool = True, dob: date | None = None) -> None:
    page.goto(f"{url}/signup")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    if adult:
        page.check("input[name=age_confirmed]")
    if dob is not None:
        page.fill("#dob", dob.isoformat())
    page.click("form[action='/signup'] button[type=submit]")
    if adult:  # sign-up answers alike for new and taken addresses; the person signs in next
        page.wait_for_selector("form[action='/login']")
        assert "Sign in with your email and password" in page.inner_text("body")
        assert page.input_value("#email") == email
        page.fill("#password", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{url}/")
        page.wait_for_selector("input[name=model]:checked", state="attached")


def signed_in_as(page) -> str:
    return page.text_content(".account-menu .menu strong")


def cookie_names(page) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


def pick_model(page, model_id: str) -> None:
    if not page.evaluate("document.getElementById('model-picker').open"):
        page.click("#model-summary")
    page.check(f"input[name=model][value='{model_id}']")


def advanced(page) -> None:
    if not page.evaluate("document.getElementById('advanced').open"):
        page.click("#advanced > summary")


def axe_violations(page) -> list[str]:
    """Serious and critical axe-core findings on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ': ' + v.help + ' — ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
    )
    return found


def no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def delete_account(page, url: str) -> None:
    """From the privacy center: Delete my account, confirmed in its dialog."""
    if not page.url.startswith(f"{url}/account"):
        page.goto(f"{url}/account")
    page.click("#erase")
    page.locator("dialog.ask[open] button", has_text="Delete everything").click()
    page.wait_for_url(f"{url}/?erased=1")
    assert "were deleted" in page.inner_text("body")
    assert "imagedesigner_session" not in cookie_names(page)


def can_sign_in(page, url: str, email: str) -> bool:
    page.goto(f"{url}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    return page.locator(".account-menu").count() == 1
