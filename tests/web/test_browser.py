"""The web pages as a person meets them: real Chromium (Playwright driving the system browser)
against the service on loopback (fixtures in conftest.py). The whole studio journey is in
test_journey.py; accessibility and the phone in test_a11y.py."""

from __future__ import annotations

import base64
import os
from datetime import date
from pathlib import Path

from tests.api.test_openai_sdk import LiveServer
from tests.conftest import make_settings
from tests.web.conftest import (
    COOKIES,
    can_sign_in,
    cookie_names,
    delete_account,
    pick_model,
    sign_up,
    signed_in_as,
    until,
)

SHOTS = (
    Path(os.environ["IMAGEDESIGNER_SCREENSHOTS"])
    if os.environ.get("IMAGEDESIGNER_SCREENSHOTS")
    else None
)


def test_sign_up_cookies_model_choice_and_csrf(page, server):
    sign_up(page, server, "ada@example.com")
    assert signed_in_as(page) == "ada@example.com"

    cookies = {c["name"]: c for c in page.context.cookies()}
    assert set(cookies) == COOKIES
    session = cookies["imagedesigner_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"
    assert "imagedesigner_session" not in page.evaluate("document.cookie"), "not readable by JS"

    # the picker says where the prompt goes; unavailable models are greyed with the reason
    page.click("#model-summary")
    local = page.locator(".model-option", has=page.locator("input[value='local/sketch']"))
    assert "Runs on this server — nothing leaves it" in local.inner_text()
    assert "Edits" in local.inner_text() and "Seeds" in local.inner_text()
    openai = page.locator(".model-option", has=page.locator("input[value='openai/gpt-image-2']"))
    assert openai.locator("input").is_disabled()
    assert "Sent to OpenAI" in openai.inner_text() and "no key configured" in openai.inner_text()
    assert page.locator("a[href='/privacy#subprocessors']").count() >= 2

    # the chosen model lives in local storage, not in a cookie
    pick_model(page, "local/sketch")
    assert page.evaluate("localStorage.getItem('imagedesigner.model')") == "local/sketch"
    page.reload()
    page.wait_for_selector("input[name=model]:checked", state="attached")
    assert page.locator("input[name=model]:checked").get_attribute("value") == "local/sketch"
    # every ratio the model has, drawn as shapes
    ratios = page.eval_on_selector_all("input[name=shape]", "els => els.map(e => e.value)")
    assert ratios == ["1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16", "21:9"]
    assert cookie_names(page) == set(cookies)

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

    # an API generation whose images were not kept says so in the history
    page.reload()
    page.wait_for_selector("#history li")
    assert "were not kept here" in page.inner_text("#history li")

    page.goto(f"{server}/privacy")
    text = page.inner_text("body")
    assert "24 hours" in text and "30 days" in text

    page.goto(f"{server}/")
    page.click(".account-menu summary")
    page.click(".account-menu button[type=submit]")
    page.wait_for_url(f"{server}/**")
    assert page.locator(".account-menu").count() == 0
    assert "imagedesigner_session" not in cookie_names(page)
    assert page.problems == []


def test_saving_asks_for_consent_in_place_and_delete_clears_the_results(page, server):
    sign_up(page, server, "ada@example.com")
    page.fill("#prompt", "a yellow sun over green hills")
    page.select_option("#n", "2")
    page.press("#prompt", "Enter")
    page.wait_for_selector("#runs figure.result")
    assert page.locator("#runs figure.result").count() == 2
    until(page, "() => [...document.querySelectorAll('#runs img')].every(i => i.naturalWidth)")
    assert page.evaluate("document.querySelector('#runs img').naturalWidth") == 1024
    page.wait_for_selector("#history li")
    if SHOTS:  # IMAGEDESIGNER_SCREENSHOTS=folder: look at what a person sees
        page.screenshot(path=str(SHOTS / "home.png"), full_page=True)

    # keeping one asks for the gallery consent right there; "Not now" keeps nothing
    page.click("#history li:first-child button.keep")
    dialog = page.locator("dialog.ask[open]")
    assert "permission to keep images past 24 hours" in dialog.inner_text()
    assert "/v1/" not in dialog.inner_text()
    dialog.locator("button", has_text="Not now").click()
    state = page.evaluate("() => fetch('/v1/me/consents').then(r => r.json())")
    assert state["purposes"]["gallery"]["granted"] is False
    page.click("#history li:first-child button.keep")
    page.locator("dialog.ask[open] button", has_text="Allow").click()
    until(
        page,
        "() => document.querySelector('#history li').textContent.includes('Saved in your gallery')",
    )
    state = page.evaluate("() => fetch('/v1/me/consents').then(r => r.json())")
    assert state["purposes"]["gallery"]["granted"] is True

    # a second run, then delete it now: it leaves the history and the result panel
    page.fill("#prompt", "a blue moon")
    page.press("#prompt", "Enter")
    until(
        page,
        "() => document.querySelector('#runs .run-prompt').textContent === 'a blue moon'"
        " && document.querySelectorAll('#runs figure.result').length === 2",
    )
    page.wait_for_selector("#history li:nth-child(2)")
    first_image = page.get_attribute("#runs figure.result img", "src")
    page.click("#history li:first-child button.delete")
    page.locator("dialog.ask[open] button", has_text="Delete now").click()
    until(page, "() => document.querySelectorAll('#history li').length === 1")
    assert page.locator("#runs figure.result").count() == 0, "the result panel is cleared too"
    assert page.evaluate(f"fetch({first_image!r}).then(r => r.status)") == 404
    assert page.problems == []


def test_under_age_sign_up_is_refused_and_keeps_nothing(page, server):
    today = date.today()
    sign_up(page, server, "kid@example.com", adult=False, dob=today.replace(year=today.year - 12))
    assert page.locator("[role=alert]").is_visible()
    assert "kid@example.com" not in page.content()
    assert not can_sign_in(page, server, "kid@example.com")


def test_privacy_center_consents_keys_export_restriction_erasure(page, server):
    sign_up(page, server, "grace@example.com")
    page.click(".account-menu summary")
    page.click(".account-menu a[href='/account']")
    page.wait_for_selector("#consents li")
    purposes = page.eval_on_selector_all("#consents li", "els => els.map(e => e.dataset.purpose)")
    assert sorted(purposes) == ["email_updates", "gallery"]
    versions = page.inner_text("#policy-versions")
    assert (
        "Current version: 2025-09-12" in versions and "You accepted version 2025-09-12" in versions
    )

    page.check("#consent-gallery")
    until(page, "() => document.getElementById('consent-gallery-status').textContent === 'Saved.'")
    state = page.evaluate("() => fetch('/v1/me/consents').then(r => r.json())")
    assert state["purposes"]["gallery"]["granted"] is True

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.fill("#keyname", "laptop")
    page.click("#newkey")
    page.wait_for_selector("#newtoken:not([hidden])")
    token = page.inner_text("#newtoken-value")
    assert token.startswith("idk_")
    page.click("#copykey")
    until(page, "() => document.getElementById('copykey').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == token
    page.wait_for_selector("#keylist li button")
    page.click("#keylist li button")
    until(page, "() => document.getElementById('keylist').textContent.includes('revoked')")
    assert token not in page.inner_text("#keylist"), "a key is shown once, never listed"
    if SHOTS:
        page.screenshot(path=str(SHOTS / "account.png"), full_page=True)

    export = page.evaluate(
        "() => fetch('/v1/me/export').then(async r => [r.status, r.headers.get('content-type'),"
        " (await r.arrayBuffer()).byteLength])"
    )
    assert export[0] == 200 and export[1] == "application/zip" and export[2] > 100

    page.check("#restricted")
    until(
        page,
        "() => document.getElementById('restricted-status').textContent === 'Processing restricted.'",
    )
    # the studio says so in words, under the button that was pressed
    page.goto(f"{server}/")
    page.wait_for_selector("input[name=model]:checked", state="attached")
    page.fill("#prompt", "x")
    page.press("#prompt", "Enter")
    page.wait_for_selector("#go-error:not([hidden])")
    message = page.inner_text("#go-error")
    assert "Processing is paused" in message and "/v1/" not in message
    assert page.evaluate("getComputedStyle(document.getElementById('go-error')).color") != (
        page.evaluate("getComputedStyle(document.body).color")
    ), "styled as an error"

    delete_account(page, server)
    assert not can_sign_in(page, server, "grace@example.com")
    assert page.problems == []


def test_privacy_center_and_gallery_need_sign_in(page, server):
    page.goto(f"{server}/account")
    assert page.url == f"{server}/login"
    page.goto(f"{server}/gallery")
    assert page.url == f"{server}/login"


def test_start_from_an_uploaded_photo(page, server, tmp_path):
    from PIL import Image

    photo = tmp_path / "holiday.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)  # GPS latitude
    Image.new("RGB", (400, 300), (220, 30, 30)).save(photo, "JPEG", exif=exif)
    sign_up(page, server, "lin@example.com")
    assert page.inner_text("#go") == "Generate"
    assert "metadata are removed" in page.inner_text("#generate")
    page.fill("#prompt", "add a moon")
    page.set_input_files("#source", str(photo))
    page.wait_for_selector("#preview:not([hidden])")
    until(page, "() => document.getElementById('preview-img').naturalWidth === 400")
    assert page.inner_text("#go") == "Edit image", "the form says plainly that this is an edit"
    page.click("#go")
    page.wait_for_selector("#runs figure.result")
    until(page, "() => document.querySelector('#runs figure.result img').naturalWidth > 0")

    # removing it makes the next one a plain generation again
    page.click("#remove-source")
    assert page.is_hidden("#preview") and page.inner_text("#go") == "Generate"
    assert page.evaluate("document.getElementById('source').files.length") == 0

    # dropped onto the zone, a file is attached the same way
    page.evaluate(
        """() => { const t = new DataTransfer();
            t.items.add(new File([new Uint8Array([104, 105])], 'notes.png', {type: 'image/png'}));
            document.getElementById('dropzone').dispatchEvent(
                new DragEvent('drop', {dataTransfer: t, bubbles: true, cancelable: true})); }"""
    )
    assert page.inner_text("#go") == "Edit image"
    page.click("#go")
    page.wait_for_selector("#source-error:not([hidden])")
    assert "PNG, JPEG or WebP" in page.inner_text("#source-error"), "the error sits by the upload"


def test_partial_images_show_blurred_while_openai_streams_them(page, tmp_path):
    from tests.jobs.test_jobs_instances import Thread
    from tests.providers.conftest import OPENAI_KEY
    from tests.providers.fakes import fake_openai
    from tests.providers.fakes._common import FakeState

    with Thread(fake_openai.make_app(FakeState(), OPENAI_KEY)) as fake:
        settings = make_settings(
            tmp_path / "data",
            openai_api_key=OPENAI_KEY,
            openai_base_url=f"http://127.0.0.1:{fake.port}/v1",
        )
        with LiveServer(settings) as live:
            sign_up(page, live.url, "ada@example.com")
            pick_model(page, "openai/gpt-image-1.5")
            chosen = page.inner_text("#model-summary")
            assert "Sent to OpenAI" in chosen
            option = page.locator(".model-option", has=page.locator("input:checked"))
            assert "Live previews" in option.text_content()
            ratios = page.eval_on_selector_all("input[name=shape]", "els => els.map(e => e.value)")
            assert ratios == ["1:1", "3:2", "2:3"], "the shapes of the model's own sizes"
            page.evaluate(
                """() => { window.partials = 0; new MutationObserver(() => {
                    window.partials = Math.max(window.partials,
                      document.querySelectorAll('.placeholder.has-partial').length); })
                  .observe(document.getElementById('runs'), {subtree: true, attributes: true,
                                                            childList: true}); }"""
            )
            page.fill("#prompt", "a cat on a roof")
            page.press("#prompt", "Enter")
            page.wait_for_selector("#runs figure.result")
            assert page.evaluate("window.partials") >= 1, "a blurred preview came first"
            blur = page.evaluate(
                "() => { const i = document.createElement('img'); i.className = 'partial';"
                " const p = document.createElement('div'); p.className = 'placeholder';"
                " p.append(i); document.body.append(p); return getComputedStyle(i).filter; }"
            )
            assert "blur" in blur
            advanced = page.eval_on_selector_all(
                "#advanced [data-option]:not([hidden]) select", "els => els.map(e => e.id)"
            )
            assert advanced == ["quality", "background", "output_format"]
            assert page.is_hidden("#seed-option"), "no seed field for a model without seeds"
            assert page.problems == []


def test_a_full_history_of_thumbnails_then_erasure_after_an_api_burst(page, tmp_path):
    settings = make_settings(tmp_path / "data", rate_limit="5/minute")
    with LiveServer(settings) as live:
        sign_up(page, live.url, "busy@example.com")
        made = page.evaluate(
            """async () => {
                const csrf = document.querySelector('meta[name=csrf_token]').content;
                const out = [];
                for (let i = 0; i < 10; i++) {
                    const r = await fetch('/v1/images/generations', {method: 'POST',
                        headers: {'content-type': 'application/json', 'x-csrf-token': csrf},
                        body: JSON.stringify({prompt: 'tile ' + i, n: 4, size: '256x256',
                                              response_format: 'url'})});
                    out.push(r.status);
                }
                return out; }"""
        )
        assert made == [200] * 10, "the browser is not held to the API's 5 a minute"
        page.reload()
        until(page, "() => document.querySelectorAll('#history li').length === 10")
        for _ in range(30):  # scroll through: the lazy thumbnails load
            page.mouse.wheel(0, 600)
            page.wait_for_timeout(50)
        until(
            page,
            "() => [...document.querySelectorAll('#history img')].every(i => i.complete"
            " && i.naturalWidth > 0)",
            timeout=20,
        )
        assert page.locator("#history img").count() == 40
        delete_account(page, live.url)
