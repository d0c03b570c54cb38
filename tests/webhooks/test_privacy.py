"""Webhook data in the data map: deliveries and attempts expire with the content TTL and are
swept, everything (secret included) is erased with the account, and the export carries the
deliveries and attempts but never the secret."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import func, select

from imagedesigner.db.models_webhooks import WebhookAttempt, WebhookDelivery, WebhookSecret
from imagedesigner.privacy import datamap
from imagedesigner.retention.sweeper import sweep
from tests.webhooks.conftest import after_backoff, create_secret, run_job
from tests.webhooks.receiver import Receiver


async def _counts(container) -> dict[str, int]:
    out = {}
    async with container.sessions() as s:
        for model in (WebhookSecret, WebhookDelivery, WebhookAttempt):
            query = select(func.count()).select_from(model)
            out[model.__tablename__] = (await s.execute(query)).scalar_one()
    return out


async def _one_delivered_job(container, client, auth, user):
    """A job whose webhook was delivered at the second attempt (the first got a 500)."""
    await create_secret(client, auth)
    async with Receiver(statuses=[500, 204]) as receiver:
        job_id, _ = await run_job(container, user, receiver.url)
        await container.runner.deliverer.deliver_due()
        container.clock.advance(after_backoff(1))
        assert (await container.runner.deliverer.deliver_due())["delivered"] == 1
    return job_id


def test_the_tables_are_declared_in_the_data_map(settings):
    tables = datamap.data_map()
    assert tables["webhook_secrets"].credential and tables["webhook_secrets"].user_link
    assert "sealed" not in tables["webhook_secrets"].exported_columns
    for name in ("webhook_deliveries", "webhook_attempts"):
        entry = tables[name]
        assert entry.user_link == "user_id" and entry.has("expires_at")
        assert entry.retention_rules == {"content_ttl"}
        assert datamap.resolve("content_ttl", settings).duration == settings.content_ttl
    assert tables["webhook_attempts"].categories == {"technical"}


async def test_erasure_removes_the_secret_deliveries_and_attempts(
    container, client, auth, user_and_key
):
    await _one_delivered_job(container, client, auth, user_and_key[0])
    assert await _counts(container) == {
        "webhook_secrets": 1,
        "webhook_deliveries": 1,
        "webhook_attempts": 2,
    }
    r = await client.delete("/v1/me", headers=auth)
    assert r.status_code == 200, r.text
    deleted = r.json()["deleted"]
    assert deleted["webhook_secrets"] == 1 and deleted["webhook_deliveries"] == 1
    assert deleted["webhook_attempts"] == 2
    assert await _counts(container) == {
        "webhook_secrets": 0,
        "webhook_deliveries": 0,
        "webhook_attempts": 0,
    }


async def test_deliveries_and_attempts_expire_with_the_content_ttl(
    container, client, auth, user_and_key, clock
):
    await _one_delivered_job(container, client, auth, user_and_key[0])
    clock.advance(container.settings.content_ttl)
    report = await sweep(container)
    assert report["expired_webhook_deliveries"] + report.get("expired_generations", 0) >= 1
    counts = await _counts(container)
    assert counts["webhook_deliveries"] == 0 and counts["webhook_attempts"] == 0
    assert counts["webhook_secrets"] == 1, "the secret is a credential: kept until deleted"


async def test_export_has_deliveries_and_attempts_but_not_the_secret(
    container, client, auth, user_and_key
):
    job_id = await _one_delivered_job(container, client, auth, user_and_key[0])
    r = await client.get("/v1/me/export", headers=auth)
    assert r.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    secrets = json.loads(zf.read("webhook_secrets.json"))
    assert len(secrets) == 1 and set(secrets[0]) == {"user_id", "created_at"}
    deliveries = json.loads(zf.read("webhook_deliveries.json"))
    assert [(d["generation_id"], d["status"]) for d in deliveries] == [(job_id, "delivered")]
    attempts = json.loads(zf.read("webhook_attempts.json"))
    assert [a["status_code"] for a in attempts] == [500, 204]
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["withheld_columns"]["webhook_secrets"] == ["sealed"]
