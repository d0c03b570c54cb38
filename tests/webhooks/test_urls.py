"""Which webhook URLs are accepted: at request time (``check_url``, a 400 on ``webhook_url``) and
again at connect time, where every address a name resolves to is checked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from imagedesigner import errors
from imagedesigner.db.models_webhooks import WebhookAttempt
from imagedesigner.webhooks import Deliverer, check_url
from imagedesigner.webhooks.transport import BlockedAddress, GuardedBackend
from tests.conftest import make_settings
from tests.webhooks.conftest import create_secret, run_job
from tests.webhooks.receiver import Receiver


@pytest.fixture
def strict(tmp_path):
    return make_settings(tmp_path / "strict")  # the default: no loopback


@pytest.fixture
def loopback_ok(tmp_path):
    return make_settings(tmp_path / "dev", webhook_allow_loopback=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/imagedesigner",
        "https://hooks.example.com:8443/a/b?x=1&y=2",
        "https://8.8.8.8/hook",
        "https://[2001:4860:4860::8888]/hook",
        "HTTPS://Hooks.Example.COM/Path",
    ],
)
def test_public_https_urls_are_accepted(url, strict):
    out = check_url(url, strict)
    assert out.startswith("https://")


def test_the_url_is_normalised(strict):
    assert check_url("HTTPS://Hooks.Example.COM", strict) == "https://hooks.example.com/"
    assert (
        check_url("https://hooks.example.com./x?q=1", strict) == "https://hooks.example.com/x?q=1"
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "https"),
        ("hooks.example.com/x", "https"),
        ("not a url", "spaces"),
        ("", "https"),
        ("https://", "https"),
        ("https://user:pass@hooks.example.com/", "user name"),
        ("https://hooks.example.com/#frag", "fragment"),
        ("https://hooks.example.com:99999/", "valid URL"),
        ("https://[::1/", "valid URL"),
        ("https://intranet/hook", "public host"),
        ("https://printer.local/hook", "public host"),
        ("https://metadata.google.internal/", "public host"),
        ("https://10.0.0.8/hook", "private"),
        ("https://172.16.3.4/hook", "private"),
        ("https://192.168.1.10/hook", "private"),
        ("https://100.64.0.1/hook", "private"),  # shared address space (CGNAT)
        ("https://169.254.169.254/latest/meta-data", "private"),  # link-local: cloud metadata
        ("https://[fe80::1]/hook", "private"),
        ("https://[fd00::1]/hook", "private"),
        ("https://[::ffff:10.0.0.1]/hook", "private"),
        ("https://0.0.0.0/hook", "private"),
        ("https://224.0.0.1/hook", "private"),
        ("https://127.0.0.1/hook", "loopback"),
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("https://api.localhost/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://127.1/hook", "loopback"),  # legacy forms the resolver reads as 127.0.0.1
        ("https://2130706433/hook", "loopback"),
        ("https://0x7f.0.0.1/hook", "loopback"),
        ("https://hooks.example.com/" + "a" * 2100, "2048"),
    ],
)
def test_bad_urls_are_refused_with_a_clear_400(url, why, strict):
    with pytest.raises(errors.InvalidRequest) as info:
        check_url(url, strict)
    err = info.value
    assert err.status == 400 and err.param == "webhook_url" and err.code == "invalid_webhook_url"
    assert why in err.message


def test_loopback_only_when_the_setting_allows_it(loopback_ok, strict):
    for url in ("http://127.0.0.1:8080/hook", "https://localhost/x", "http://[::1]:9/"):
        assert check_url(url, loopback_ok)
        with pytest.raises(errors.InvalidRequest):
            check_url(url, strict)
    # the setting opens loopback only: other private ranges and plain http stay refused
    for url in ("http://10.0.0.8/hook", "https://192.168.1.1/", "http://hooks.example.com/"):
        with pytest.raises(errors.InvalidRequest):
            check_url(url, loopback_ok)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd12::1", "::ffff:192.168.0.1"]
)
async def test_the_connect_step_refuses_names_that_resolve_to_private_addresses(address):
    async def resolve(host, port):
        return ["93.184.215.14", address]  # one public and one private answer: refused

    backend = GuardedBackend(allow_loopback=False, resolve=resolve)
    with pytest.raises(BlockedAddress):
        await backend.connect_tcp("hooks.example.com", 443, timeout=1)


async def test_a_name_rebound_to_loopback_is_not_delivered_to(
    container, client, auth, user_and_key, settings
):
    """``hooks.example.com`` passes the request-time check, then resolves to this machine: the
    attempt is refused before connecting and the delivery gives up."""
    settings.webhook_allow_loopback = False
    await create_secret(client, auth)
    async with Receiver() as receiver:

        async def resolve(host, port):
            assert host == "hooks.example.com"
            return ["127.0.0.1"]

        deliverer = Deliverer(
            sessions=container.sessions, settings=settings, clock=container.clock, resolve=resolve
        )
        url = f"https://hooks.example.com:{receiver.port}/hook"
        await run_job(container, user_and_key[0], url)
        try:
            assert await deliverer.deliver_due() == {"delivered": 0, "retrying": 0, "failed": 1}
        finally:
            await deliverer.aclose()
    assert receiver.received == []
    async with container.sessions() as s:
        attempt = (await s.execute(select(WebhookAttempt))).scalar_one()
    assert (attempt.status_code, attempt.error) == (None, "blocked_address")
