"""The sweep over many expired generations, batch by batch: every row that goes with an
expired generation (images, job events, webhook deliveries and their attempts) and every blob
goes, saved items and held users' data stay, and a hold placed while a sweep runs counts from
the next batch on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from imagedesigner.db.models import Generation, StoredImage
from imagedesigner.db.models_jobs import JobEvent
from imagedesigner.db.models_privacy import LegalHold
from imagedesigner.db.models_webhooks import WebhookAttempt, WebhookDelivery
from imagedesigner.kit.ids import new_id
from imagedesigner.privacy import sweep_steps
from imagedesigner.retention.sweeper import sweep
from imagedesigner.storage.base import new_key
from tests.conftest import make_user

TABLES = [Generation, StoredImage, JobEvent, WebhookDelivery, WebhookAttempt]


async def add_generations(container, user_id: str, n: int, start: int, *, saved: bool = False):
    """``n`` generations that expired one after the other, each with an image and its blob,
    three job events and a webhook delivery with an attempt. Returns the blob keys."""
    now = container.clock.now()
    ttl = container.settings.content_ttl
    keys = []
    async with container.sessions() as s, s.begin():
        for i in range(start, start + n):
            created = now - ttl - timedelta(hours=1) + timedelta(seconds=i)
            gen = Generation(
                id=new_id("gen"),
                user_id=user_id,
                model="local/sketch",
                provider="local",
                prompt=f"prompt {i}",
                params={},
                warnings=[],
                created_at=created,
                expires_at=None if saved else created + ttl,
                saved_at=created if saved else None,
            )
            s.add(gen)
            await s.flush()
            key = new_key(created)
            await container.blobs.put(key, b"image bytes")
            keys.append(key)
            s.add(
                StoredImage(
                    id=new_id("img"),
                    generation_id=gen.id,
                    user_id=user_id,
                    blob_key=key,
                    media_type="image/png",
                    width=256,
                    height=256,
                    size_bytes=11,
                    created_at=created,
                )
            )
            for seq in (1, 2, 3):
                s.add(
                    JobEvent(
                        generation_id=gen.id,
                        user_id=user_id,
                        seq=seq,
                        type="progress",
                        data={},
                        created_at=created,
                        expires_at=created + ttl + timedelta(hours=1),  # after the generation
                    )
                )
            delivery = WebhookDelivery(
                id=new_id("whd"),
                generation_id=gen.id,
                user_id=user_id,
                event_type="image.completed",
                created_at=created,
                expires_at=created + ttl + timedelta(hours=1),
            )
            s.add(delivery)
            await s.flush()
            s.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    user_id=user_id,
                    number=1,
                    attempted_at=created,
                    duration_ms=5,
                    expires_at=created + ttl + timedelta(hours=1),
                )
            )
    return keys


async def count(container, model, user_id: str) -> int:
    async with container.sessions() as s:
        query = select(func.count()).select_from(model).where(model.user_id == user_id)
        return (await s.execute(query)).scalar_one()


async def hold(container, user_id: str) -> None:
    async with container.sessions() as s, s.begin():
        s.add(
            LegalHold(
                id=new_id("hold"),
                user_id=user_id,
                reason="test",
                created_at=container.clock.now(),
                created_by="test",
            )
        )


async def user(container, name: str):
    return (await make_user(container, f"{name}@example.com"))[0]


def small_batches(monkeypatch, size: int) -> None:
    monkeypatch.setattr(sweep_steps, "BATCH", size)
    monkeypatch.setattr(sweep_steps, "MIN_BATCH", size)
    monkeypatch.setattr(sweep_steps, "MAX_BATCH", size)


async def test_batches_take_every_related_row_and_blob_but_keep_saved_and_held(
    container, monkeypatch
):
    small_batches(monkeypatch, 3)
    ada, bob, cy = [await user(container, name) for name in ("ada", "bob", "cy")]
    gone = await add_generations(container, ada.id, 7, 0)
    kept = await add_generations(container, ada.id, 2, 100, saved=True)
    kept += await add_generations(container, bob.id, 4, 3)  # interleaved with ada's
    gone += await add_generations(container, cy.id, 5, 2)
    await hold(container, bob.id)

    report = await sweep(container)

    assert report["expired_generations"] == 12
    assert report["expired_images"] == report["expired_blobs"] == 12
    assert report["expired_job_events"] == 36
    assert report["expired_webhook_attempts"] == report["expired_webhook_deliveries"] == 12
    for model in TABLES:
        assert await count(container, model, cy.id) == 0, model.__tablename__
        assert await count(container, model, bob.id) == 4 * (3 if model is JobEvent else 1)
    assert await count(container, Generation, ada.id) == 2  # the saved ones
    assert await count(container, StoredImage, ada.id) == 2
    assert [await container.blobs.get(k) for k in gone] == [None] * len(gone)
    assert all([await container.blobs.get(k) for k in kept])


async def test_a_hold_placed_during_a_sweep_counts_from_the_next_batch(container, monkeypatch):
    small_batches(monkeypatch, 2)
    ada, bob = [await user(container, name) for name in ("ada", "bob")]
    await add_generations(container, ada.id, 4, 0)  # expire first: the first two batches
    await add_generations(container, bob.id, 3, 10)
    batch = sweep_steps._expired_batch
    calls = 0

    async def then_hold(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 2 and args[2].name == "generations":
            await hold(container, bob.id)  # a second session, as staff would
        return await batch(*args, **kwargs)

    monkeypatch.setattr(sweep_steps, "_expired_batch", then_hold)
    report = await sweep(container)

    assert report["expired_generations"] == 4
    assert await count(container, Generation, ada.id) == 0
    assert await count(container, Generation, bob.id) == 3
    assert await count(container, StoredImage, bob.id) == 3
