"""Accessibility and small screens, in Chromium: axe-core (npm, pinned in tests/node) finds no
serious or critical violation on any page, in the light and the dark theme; the studio works
with the keyboard alone; at 390×844 no page scrolls sideways and the nav stays on one line."""

from __future__ import annotations

import pytest

from tests.web.conftest import AXE, axe_violations, no_horizontal_scroll, sign_up, until

SIGNED_OUT = ["/", "/login", "/signup", "/privacy"]
SIGNED_IN = ["/", "/gallery", "/account", "/privacy"]
OPTIONAL = ["/support"]  # pages other parts of the app add: checked once they exist


@pytest.fixture
def axe_page(browser):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run npm ci in tests/node")
    # axe is injected as a script tag: this context alone lets it past the page's CSP
    context = browser.new_context(bypass_csp=True)
    yield context.new_page()
    context.close()


def pages_that_exist(page, server: str, paths: list[str]) -> list[str]:
    found = list(paths)
    for path in OPTIONAL:
        status = page.evaluate(f"fetch({server + path!r}).then(r => r.status)")
        if status == 200:
            found.append(path)
    return found


def check(page, where: str) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")  # no mid-fade colours
        found = axe_violations(page)
        assert found == [], f"{where} ({scheme}): {found}"


def make_images(page, n: int = 2) -> None:
    page.fill("#prompt", "a lighthouse at dusk")
    page.select_option("#n", str(n))
    page.press("#prompt", "Enter")
    until(page, f"() => document.querySelectorAll('#runs figure.result').length === {n}")
    page.wait_for_selector("#history li figure")


def test_axe_finds_nothing_serious_on_any_page(axe_page, server):
    page = axe_page
    for path in SIGNED_OUT:
        page.goto(server + path)
        check(page, path)
    sign_up(page, server, "axe@example.com")
    check(page, "studio, empty")
    make_images(page)
    check(page, "studio with results")
    page.click("#runs figure.result >> nth=0 >> .thumb")
    check(page, "lightbox")
    page.keyboard.press("Escape")
    page.click("#history li:first-child button.keep")
    page.wait_for_selector("dialog.ask[open]")
    check(page, "consent dialog")
    page.locator("dialog.ask[open] button", has_text="Allow").click()
    until(page, "() => document.querySelector('#history li').textContent.includes('Saved')")
    for path in pages_that_exist(page, server, SIGNED_IN):
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        check(page, path)
    page.goto(server + "/account")
    page.click("#erase")
    check(page, "erase dialog")


def test_the_studio_with_the_keyboard_alone(page, server):
    sign_up(page, server, "keys@example.com")
    page.goto(server + "/")
    page.wait_for_selector("input[name=model]:checked", state="attached")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    def focus_next(selector: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                assert outline != "none", f"{selector} shows no focus ring"
                return
        raise AssertionError(f"Tab never reached {selector}")

    focus_next("#prompt")
    page.keyboard.type("a paper boat on a pond")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("in the rain")
    assert page.input_value("#prompt") == "a paper boat on a pond\nin the rain"
    focus_next("#model-summary")
    page.keyboard.press("Enter")  # the picker opens; arrows move between the models
    focus_next("input[name=model]")
    assert page.evaluate("document.activeElement.value") == "local/sketch"
    focus_next("input[name=shape]")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.querySelector('input[name=shape]:checked').value") == "3:2"
    focus_next("#n")
    page.keyboard.press("ArrowDown")  # two images
    focus_next("#source")  # the upload is reachable too
    for _ in range(20):  # back to the prompt
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.id") == "prompt":
            break
    page.keyboard.press("Enter")
    until(page, "() => document.querySelectorAll('#runs figure.result').length === 2")
    until(page, "() => document.activeElement.classList.contains('thumb')")
    page.keyboard.press("Enter")
    assert page.locator("dialog#lightbox[open]").count() == 1
    page.keyboard.press("ArrowRight")
    assert "Image 2 of 2" in page.inner_text("dialog#lightbox")
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.classList.contains('thumb')")

    # the account menu opens from the keyboard and closes with Esc
    page.focus(".account-menu summary")
    page.keyboard.press("Enter")
    until(page, "() => document.querySelector('.account-menu').open")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/account"
    page.keyboard.press("Escape")
    assert page.evaluate("document.querySelector('.account-menu').open") is False
    assert page.problems == []


def test_phone_sized_pages_do_not_scroll_sideways(browser, server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        for path in SIGNED_OUT:
            page.goto(server + path)
            assert no_horizontal_scroll(page), f"{path} scrolls sideways"
        sign_up(page, server, "phone@example.com")
        make_images(page, 4)
        assert no_horizontal_scroll(page), "studio with results"
        # controls first, then results; Generate sticks to the bottom edge
        assert page.evaluate(
            "document.getElementById('generate').getBoundingClientRect().top <"
            " document.getElementById('runs').getBoundingClientRect().top"
        )
        assert (
            page.evaluate("getComputedStyle(document.querySelector('.generate-bar')).position")
            == "sticky"
        )
        page.click("#runs figure.result >> nth=0 >> .thumb")
        assert no_horizontal_scroll(page), "lightbox"
        page.keyboard.press("Escape")
        for path in pages_that_exist(page, server, SIGNED_IN):
            page.goto(server + path)
            page.wait_for_load_state("networkidle")
            assert no_horizontal_scroll(page), f"{path} scrolls sideways"
            one_line = page.evaluate(
                "[...document.querySelectorAll('.site-nav a')].every(a =>"
                " a.getClientRects().length === 1 && a.getBoundingClientRect().height < 44"
                " && a.getBoundingClientRect().right <= innerWidth"
                " && a.parentNode.scrollWidth <= a.parentNode.clientWidth)"
            )
            assert one_line, f"{path}: a nav link wraps or is cut off"
        # the privacy tables become stacked rows
        page.goto(server + "/privacy")
        assert (
            page.evaluate("getComputedStyle(document.querySelector('table.stack tr')).display")
            == "block"
        )
    finally:
        context.close()
