"""The whole studio journey in Chromium, as a new person takes it: sign up → four images with
live progress → lightbox → download → save (consent asked in place) → gallery → use these
settings again → countdown in the history → the gallery as a ZIP → delete the account. Only the
two allowed cookies exist at any step; no script error or CSP violation happens."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from tests.web.conftest import (
    COOKIES,
    advanced,
    can_sign_in,
    cookie_names,
    delete_account,
    pick_model,
    sign_up,
    until,
)

PNG = b"\x89PNG\r\n\x1a\n"


def test_the_studio_journey(page, server, slow_local, tmp_path):
    sign_up(page, server, "journey@example.com")
    assert cookie_names(page) == COOKIES
    assert page.is_visible("#welcome"), "a first visit is welcomed, with examples"
    page.click(".example >> nth=1")
    assert page.input_value("#prompt") == "a red fox curled up in fresh snow"

    # four images, 16:9, a seed: one placeholder each while the job runs, with its progress
    page.fill("#prompt", "a yellow sun over green hills")
    pick_model(page, "local/sketch")
    page.check("input[name=shape][value='16:9']")
    page.select_option("#n", "4")
    advanced(page)
    page.fill("#seed", "1234")
    page.press("#prompt", "Enter")
    page.wait_for_selector("#runs .run[aria-busy=true]")
    assert page.locator("#runs .placeholder").count() == 4
    until(page, "() => document.querySelector('#runs .run-status').textContent.includes('40%')")
    assert page.get_attribute("#runs progress", "value") == "40"
    assert page.is_visible("#runs button.cancel")
    slow_local.set()
    page.wait_for_selector("#runs figure.result")
    until(page, "() => document.querySelectorAll('#runs figure.result').length === 4")
    until(page, "() => document.getElementById('announcer').textContent === '4 images ready'")
    assert page.evaluate("document.activeElement.classList.contains('thumb')"), "focus on the first"
    assert "deleted in 23 h 59 min" in page.inner_text("#runs .result-meta")
    assert "seed 1234" in page.inner_text("#runs .result-meta")

    # the lightbox: ← → between the four, D downloads, Esc closes
    page.click("#runs figure.result >> nth=0 >> .thumb")
    lightbox = page.locator("dialog#lightbox[open]")
    assert "a yellow sun over green hills" in lightbox.inner_text()
    assert "Image 1 of 4" in lightbox.inner_text()
    page.keyboard.press("ArrowRight")
    assert "Image 2 of 4" in lightbox.inner_text()
    page.keyboard.press("ArrowLeft")
    with page.expect_download() as got:
        page.keyboard.press("d")
    download = got.value
    assert re.fullmatch(r"a-yellow-sun-over-green-hills-[\w-]+\.png", download.suggested_filename)
    saved_to = tmp_path / download.suggested_filename
    download.save_as(saved_to)
    assert saved_to.read_bytes().startswith(PNG)
    page.keyboard.press("Escape")
    assert page.locator("dialog#lightbox[open]").count() == 0
    assert page.evaluate("document.activeElement.classList.contains('thumb')"), "focus came back"

    # save: the gallery consent is asked right there the first time, and recorded
    first = page.locator("#runs figure.result").first
    first.hover()
    first.locator("button.save").click()
    page.locator("dialog.ask[open] button", has_text="Allow").click()
    until(
        page,
        "() => document.querySelector('#runs figure.result .status-line').textContent"
        " === 'Saved in your gallery.'",
    )
    consents = page.evaluate("() => fetch('/v1/me/consents').then(r => r.json())")
    assert consents["purposes"]["gallery"]["granted"] is True
    assert cookie_names(page) == COOKIES

    # the gallery: the four saved images, enlarge, the ZIP
    page.click("nav a[href='/gallery']")
    page.wait_for_selector("#gallery figure.result")
    assert page.locator("#gallery figure.result").count() == 4
    page.click("#gallery figure.result >> nth=3 >> .thumb")
    assert "Image 4 of 4" in page.inner_text("dialog#lightbox[open]")
    page.keyboard.press("Escape")
    with page.expect_download() as got:
        page.click("#zip")
    archive = Path(got.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        names = zf.namelist()
        pngs = [n for n in names if n.endswith(".png")]
        assert len(pngs) == 4 and all(zf.read(n).startswith(PNG) for n in pngs)
        index = json.loads(zf.read("gallery.json"))
    assert index["items"][0]["prompt"] == "a yellow sun over green hills"
    assert index["items"][0]["params"]["seed"] == 1234

    # use these settings again: prompt, model, shape, count and seed come back
    page.click("nav a[href='/']")
    page.wait_for_selector("#history li .use-again")
    page.fill("#prompt", "")
    page.check("input[name=shape][value='1:1']")
    page.select_option("#n", "1")
    page.click("#history li:first-child .use-again")
    assert page.input_value("#prompt") == "a yellow sun over green hills"
    assert page.is_checked("input[name=shape][value='16:9']")
    assert page.input_value("#n") == "4"
    assert page.input_value("#seed") == "1234"
    assert page.evaluate("document.activeElement.id") == "prompt"
    page.select_option("#n", "1")
    page.press("#prompt", "Enter")
    until(page, "() => document.querySelectorAll('#history li').length === 2")

    # the history counts down to the deletion of what was not saved
    newest = page.inner_text("#history li:first-child")
    assert re.search(r"deleted in 23 h 5\d min", newest)
    assert "Saved in your gallery" in page.inner_text("#history li:nth-child(2)")

    # delete the account: signed out, and nothing of it answers any more
    image = page.get_attribute("#history li:first-child img", "src")
    page.click(".account-menu summary")
    page.click(".account-menu a[href='/account']")
    delete_account(page, server)
    assert cookie_names(page) <= COOKIES
    assert page.evaluate(f"fetch({image!r}).then(r => r.status)") == 401
    assert not can_sign_in(page, server, "journey@example.com")
    assert page.problems == []


def test_a_reload_keeps_following_a_running_job_and_cancel_stops_it(page, server, slow_local):
    sign_up(page, server, "reload@example.com")
    page.fill("#prompt", "a slow sunrise")
    page.press("#prompt", "Enter")
    until(
        page,
        "() => (document.querySelector('#runs .run-status') || {}).textContent?.includes('40%')",
    )
    page.reload()
    page.wait_for_selector("#runs .run[aria-busy=true]")
    assert page.inner_text("#runs .run-prompt") == "a slow sunrise"
    until(page, "() => document.querySelector('#runs .run-status').textContent.includes('40%')")
    page.click("#runs button.cancel")
    until(
        page,
        "() => document.querySelector('#runs .run-status').textContent.startsWith('Cancelled')",
    )
    assert page.locator("#runs .placeholder").count() == 0
    jobs = page.evaluate("() => fetch('/v1/jobs').then(r => r.json())")
    assert jobs["data"][0]["status"] == "cancelled"
    assert page.problems == []


def test_a_refused_prompt_is_said_in_plain_words_with_try_again(page, server, monkeypatch):
    from imagedesigner import errors
    from imagedesigner.providers.local import LocalProvider

    real = LocalProvider.generate
    refusals = [True]

    async def refuse_once(self, model, request, *, progress=None):
        if refusals and refusals.pop():
            raise errors.ContentPolicyViolation("Your request was rejected by the safety system.")
        return await real(self, model, request, progress=progress)

    monkeypatch.setattr(LocalProvider, "generate", refuse_once)
    sign_up(page, server, "refused@example.com")
    page.fill("#prompt", "something the provider refuses")
    page.press("#prompt", "Enter")
    page.wait_for_selector("#runs .error[role=alert]")
    message = page.inner_text("#runs .error")
    assert message == "The provider refused this prompt. Try describing it differently."
    assert page.locator("#runs .placeholder").count() == 0
    page.locator("#runs button", has_text="Try again").click()
    page.wait_for_selector("#runs figure.result")
    assert page.locator("#runs .error").count() == 0
    assert page.problems == []
