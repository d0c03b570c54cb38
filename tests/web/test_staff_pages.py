"""The support page and the staff desk in Chromium (Playwright) against the service on loopback:
a person opens a ticket and later reads the answer; the support role answers it; an admin places
and releases a legal hold and sees both in the audit log; the desk is hidden from a normal user;
at 390 px wide no page scrolls sideways. Without chromium these tests skip (CI requires it)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.api.live import LiveServer, account
from tests.conftest import make_settings
from tests.web.conftest import PASSWORD, until

PERSON, SUPPORT, ADMIN = "ada@example.com", "help@example.com", "boss@example.com"
DESK_PAGES = ["/staff", "/staff/tickets", "/staff/requests", "/staff/holds", "/staff/audit"]


@pytest.fixture
def desk_server(tmp_path):
    settings = make_settings(tmp_path / "data")
    with LiveServer(settings) as live:
        for email, role in ((PERSON, "user"), (SUPPORT, "support"), (ADMIN, "admin")):
            account(settings, email, role)
        yield live.url


@pytest.fixture
def open_as(browser, desk_server):
    """open_as(email, width=1280) → a signed-in page in a browser context of its own."""
    contexts = []

    def make(email: str, width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.refused = []  # what the CSP refused, and script errors: both must stay empty
        page.on("console", lambda m: "Refused" in m.text and page.refused.append(m.text))
        page.on("pageerror", lambda e: page.refused.append(str(e)))
        page.goto(f"{desk_server}/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{desk_server}/")
        return page

    yield make
    for context in contexts:
        context.close()


def _open_ticket(page, url: str, subject: str, body: str) -> None:
    page.goto(f"{url}/support")
    page.wait_for_selector("#tickets[aria-busy=false]", state="attached")
    page.fill("#ticket-subject", subject)
    page.fill("#ticket-body", body)
    page.click("#ticket-send")
    page.wait_for_selector(f".ticket:has-text('{subject}')")


def test_person_opens_a_ticket_support_answers_person_reads_it(open_as, desk_server):
    person = open_as(PERSON)
    person.goto(f"{desk_server}/support")
    person.wait_for_selector("#tickets[aria-busy=false]", state="attached")
    assert person.is_visible("text=No tickets yet"), "a designed empty state"

    # a missing subject is said in words under the subject field, nothing is sent
    person.fill("#ticket-body", "My image disappeared after an hour.")
    person.click("#ticket-send")
    person.wait_for_selector("#ticket-subject-error:not([hidden])")
    assert "subject" in person.inner_text("#ticket-subject-error")
    assert person.get_attribute("#ticket-subject", "aria-invalid") == "true"
    assert person.evaluate("document.activeElement.id") == "ticket-subject"
    person.fill("#ticket-subject", "Where did my image go?")
    person.click("#ticket-send")
    person.wait_for_selector(".ticket[data-status=open]")
    assert "Waiting for support" in person.inner_text(".ticket")
    assert person.is_hidden("#tickets-empty")

    helper = open_as(SUPPORT)
    assert helper.is_visible("header a[href='/staff']"), "support sees the staff link"
    helper.goto(f"{desk_server}/staff/tickets")
    card = helper.wait_for_selector(".ticket:has-text('Where did my image go?')")
    assert PERSON in card.inner_text()
    helper.click(".ticket .reply button[type=submit]")  # empty answer: said next to the field
    helper.wait_for_selector(".ticket .field-error:not([hidden])")
    helper.fill(".ticket textarea", "Images are kept for 24 hours unless you save them.")
    helper.click(".ticket .reply button[type=submit]")
    helper.wait_for_selector("#queue-empty:not([hidden])")  # answered: off the waiting list
    assert "No tickets here" in helper.inner_text("#queue-empty")
    helper.select_option("#ticket-state", "answered")
    helper.wait_for_selector(".ticket[data-status=answered]")
    assert not helper.refused, helper.refused

    person.reload()
    person.wait_for_selector(".ticket[data-status=answered]")
    thread = person.inner_text(".ticket .thread")
    assert "Support" in thread and "kept for 24 hours unless you save them" in thread
    person.fill(".ticket .reply textarea", "Thank you!")
    person.click(".ticket .reply button[type=submit]")
    person.wait_for_selector(".ticket[data-status=open] .msg-person >> nth=1")
    assert not person.refused, person.refused


def test_admin_places_and_releases_a_hold_and_reads_the_audit_log(open_as, desk_server):
    admin = open_as(ADMIN)
    admin.goto(f"{desk_server}/staff/holds")
    admin.wait_for_selector("#holds[aria-busy=false]", state="attached")
    assert admin.is_visible("text=No legal holds")

    admin.fill("#hold-email", "nobody@example.com")
    admin.fill("#hold-reason", "case 12")
    admin.click("#hold-place")
    admin.wait_for_selector("#hold-email-error:not([hidden])")
    assert "No account uses this email address" in admin.inner_text("#hold-email-error")

    admin.fill("#hold-email", PERSON)
    admin.click("#hold-place")
    admin.wait_for_selector("#holds tr:has-text('Active')")
    assert "Hold placed on ada@example.com" in admin.inner_text("#hold-status")
    row = admin.inner_text("#holds tbody tr")
    assert PERSON in row and "case 12" in row

    admin.click("#holds button:has-text('Release')")
    admin.wait_for_selector("dialog.ask")
    admin.click("dialog.ask button:has-text('Release')")
    admin.wait_for_selector("#holds tr:has-text('Released')")
    assert admin.locator("#holds button:has-text('Release')").count() == 0

    admin.goto(f"{desk_server}/staff/audit")
    admin.wait_for_selector("#audit table")
    log = admin.inner_text("#audit")
    for action in ("audit-read", "hold-released", "hold-added", "holds-read"):
        assert action in log, action
    assert PERSON not in log and "case 12" not in log, "references only, no content"
    admin.fill("#audit-email", PERSON)
    admin.click("#audit-apply")
    until(admin, "() => !document.querySelector('#audit').innerText.includes('holds-read')")
    actions = admin.locator("#audit tbody td[data-label=Action]").all_inner_texts()
    assert actions == ["hold-released", "hold-added"]
    admin.fill("#audit-email", "nobody@example.com")
    admin.click("#audit-apply")
    admin.wait_for_selector("#audit-email-error:not([hidden])")
    assert not admin.refused, admin.refused


def test_the_desk_is_role_gated(open_as, desk_server):
    person = open_as(PERSON)
    assert not person.is_visible("header a[href='/staff']")
    for path in DESK_PAGES:
        response = person.goto(f"{desk_server}{path}")
        assert response.status == 404 and "Not found" in person.inner_text("main"), path
    helper = open_as(SUPPORT)
    response = helper.goto(f"{desk_server}/staff/holds")
    assert response.status == 403 and "Your role does not open Legal holds" in helper.inner_text(
        "main"
    )
    helper.goto(f"{desk_server}/staff")
    assert helper.locator(".desk-nav a").all_inner_texts() == ["Staff", "Tickets"]


def test_phone_width_no_sideways_scroll(open_as, desk_server):
    person = open_as(PERSON, width=390, height=844)
    _open_ticket(person, desk_server, "A question from my phone", "x " * 400)
    admin = open_as(ADMIN, width=390, height=844)
    admin.goto(f"{desk_server}/staff/holds")
    admin.fill("#hold-email", PERSON)
    admin.fill("#hold-reason", "a rather long case reference, ACME-v-Example-2026-000123")
    admin.click("#hold-place")
    admin.wait_for_selector("#holds tbody tr")
    admin.goto(f"{desk_server}/staff/requests")
    admin.fill("#request-email", PERSON)
    admin.click("#request-save")
    admin.wait_for_selector("#requests tbody tr")
    due = re.search(r"Due in (\d+) days", admin.inner_text("#requests"))
    assert due and 27 <= int(due.group(1)) <= 31, "today's request: due in a calendar month"
    admin.fill("#request-email", PERSON)
    admin.fill("#request-received", (date.today() - timedelta(days=40)).isoformat())
    admin.click("#request-save")
    admin.wait_for_selector("#requests tr:has-text('Overdue by')")
    assert "Recorded. It is due on" in admin.inner_text("#request-status")

    wide = "() => document.documentElement.scrollWidth > window.innerWidth"
    person.goto(f"{desk_server}/support")
    person.wait_for_selector(".ticket")
    assert not person.evaluate(wide), "/support scrolls sideways"
    for path in [*DESK_PAGES, "/staff/underage"]:
        admin.goto(f"{desk_server}{path}")
        admin.wait_for_load_state("networkidle")
        assert not admin.evaluate(wide), f"{path} scrolls sideways at 390 px"
    # tables are stacked rows: each cell carries its column's name, the header row is hidden
    admin.goto(f"{desk_server}/staff/holds")
    admin.wait_for_selector("#holds tbody tr")
    assert (
        admin.evaluate("getComputedStyle(document.querySelector('#holds td')).display") == "block"
    )
    label = admin.evaluate(
        "getComputedStyle(document.querySelector('#holds td'), '::before').content"
    )
    assert label == '"Account"'
    # focus is visible: a keyboard focus ring on the first control
    admin.keyboard.press("Tab")
    admin.focus("#hold-email")
    assert admin.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    assert not admin.refused and not person.refused, admin.refused + person.refused


AXE = Path(__file__).parents[1] / "node" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.mark.skipif(not AXE.is_file(), reason="axe-core is not installed (npm ci in tests/node)")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_support_and_desk_pages_pass_axe(browser, desk_server, scheme):
    """No serious or critical axe-core finding on the support page and the desk, with content
    on them (a ticket, a hold, a request), in both colour schemes."""
    found = {}
    for email, paths in ((PERSON, ["/support"]), (ADMIN, [*DESK_PAGES, "/staff/underage"])):
        context = browser.new_context(color_scheme=scheme, bypass_csp=True)
        page = context.new_page()
        page.goto(f"{desk_server}/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{desk_server}/")
        if email == PERSON:
            _open_ticket(page, desk_server, "Axe question", "Body")
        else:
            page.goto(f"{desk_server}/staff/holds")
            page.fill("#hold-email", PERSON)
            page.fill("#hold-reason", "case 3")
            page.click("#hold-place")
            page.wait_for_selector("#holds tbody tr")
        for path in paths:
            page.goto(f"{desk_server}{path}")
            page.wait_for_load_state("networkidle")
            page.add_script_tag(path=str(AXE))
            found[path] = page.evaluate(
                """async () => (await axe.run(document, {resultTypes: ['violations']}))
                    .violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
            )
        context.close()
    assert {p: v for p, v in found.items() if v} == {}
