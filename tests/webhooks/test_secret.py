"""The account's signing secret: shown once, never by GET, never in a log or in the database in
the clear; replaced and deleted on request; without one, ``webhook_url`` is refused."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from imagedesigner import errors
from imagedesigner.db.models_webhooks import WebhookSecret
from imagedesigner.webhooks import secret as signing_secret
from tests.conftest import find_in_files
from tests.webhooks.conftest import create_secret, run_job, start_job
from tests.webhooks.receiver import Receiver


async def test_the_secret_is_shown_once_and_never_again(
    container, client, auth, user_and_key, data_dir, caplog
):
    caplog.set_level(logging.DEBUG)
    r = await client.get("/v1/me/webhook-secret", headers=auth)
    assert r.json() == {"object": "webhook_secret", "exists": False, "created_at": None}

    r = await client.post("/v1/me/webhook-secret", headers=auth)
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    body = r.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert body["exists"] is True and body["replaced"] is False and body["created_at"]
    assert "only once" in body["message"]

    r = await client.get("/v1/me/webhook-secret", headers=auth)
    assert r.status_code == 200
    assert r.json() == {
        "object": "webhook_secret",
        "exists": True,
        "created_at": body["created_at"],
    }
    assert secret[6:] not in r.text

    # it signs: a delivery verifies with it
    async with Receiver() as receiver:
        await run_job(container, user_and_key[0], receiver.url)
        await container.runner.deliverer.deliver_due()
    got = receiver.received[0]
    Webhook(secret).verify(got.body, got.headers)

    # never in a log record, never in the clear in the database (or anywhere in the data folder)
    raw = base64.b64decode(secret[6:])
    logged = "\n".join(f"{rec.getMessage()} {rec.args!r}" for rec in caplog.records)
    assert secret[6:] not in logged and "whsec_" not in logged.replace("whsec_[redacted]", "")
    assert find_in_files(data_dir, secret[6:].encode()) == []
    assert find_in_files(data_dir, raw) == []
    async with container.sessions() as s:
        row = (await s.execute(select(WebhookSecret))).scalar_one()
    assert row.sealed.startswith("v1:") and secret[6:] not in row.sealed


def test_a_secret_logged_by_mistake_is_redacted(caplog):
    from imagedesigner.infra import logging as hygiene

    hygiene.install()
    caplog.set_level(logging.INFO)
    logging.getLogger("imagedesigner.test").info(
        "oops %s", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    )
    assert "MfKQ9r8" not in caplog.text and "whsec_[redacted]" in caplog.text


async def test_rotation_replaces_the_secret_at_once(container, client, auth, user_and_key):
    old = await create_secret(client, auth)
    r = await client.post("/v1/me/webhook-secret", headers=auth)
    new = r.json()["secret"]
    assert r.json()["replaced"] is True and new != old
    async with Receiver() as receiver:
        await run_job(container, user_and_key[0], receiver.url)
        await container.runner.deliverer.deliver_due()
    got = receiver.received[0]
    Webhook(new).verify(got.body, got.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(old).verify(got.body, got.headers)


async def test_without_a_secret_a_webhook_url_is_refused(container, client, auth, user_and_key):
    async with Receiver() as receiver:
        with pytest.raises(errors.InvalidRequest) as info:
            await start_job(container, user_and_key[0], receiver.url)
        err = info.value
        assert err.status == 400 and err.param == "webhook_url"
        assert err.code == "webhook_secret_missing" and "POST /v1/me/webhook-secret" in err.message

        await create_secret(client, auth)
        r = await client.delete("/v1/me/webhook-secret", headers=auth)
        assert r.json() == {"object": "webhook_secret", "exists": False, "deleted": True}
        assert (await client.delete("/v1/me/webhook-secret", headers=auth)).json()[
            "deleted"
        ] is False
        assert (await client.get("/v1/me/webhook-secret", headers=auth)).json()["exists"] is False
        with pytest.raises(errors.InvalidRequest):
            await start_job(container, user_and_key[0], receiver.url)
    async with container.sessions() as s:
        from imagedesigner.db.models import Generation

        assert (await s.execute(select(Generation))).first() is None, "no job was created"


def test_sealed_secret_is_bound_to_the_server_secret_and_the_account(settings, tmp_path):
    from tests.conftest import make_settings

    raw = b"k" * 32
    sealed = signing_secret.seal(settings, "usr_1", raw)
    assert signing_secret.unseal(settings, "usr_1", sealed) == raw
    assert signing_secret.unseal(settings, "usr_2", sealed) is None  # another account's row
    other = make_settings(tmp_path / "other", secret_key="another-server-secret")
    assert signing_secret.unseal(other, "usr_1", sealed) is None
    assert signing_secret.unseal(settings, "usr_1", "v1:bm9wZQ==") is None
    assert signing_secret.seal(settings, "usr_1", raw) != sealed  # a fresh nonce every time


async def test_the_secret_needs_an_account(client):
    r = await client.post("/v1/me/webhook-secret")
    assert r.status_code == 401
    assert json.loads(r.text)["error"]["type"] == "authentication_error"
