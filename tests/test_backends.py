"""The same code on real engines: PostgreSQL for the database, Redis for shared rate limits, and
two stateless app instances side by side. Runs when IMAGEDESIGNER_TEST_POSTGRES_URL /
IMAGEDESIGNER_TEST_REDIS_URL are set (CI sets both)."""

from __future__ import annotations

import os
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from imagedesigner.app import create_app
from imagedesigner.container import Container
from imagedesigner.db.models import Generation, StoredImage
from imagedesigner.providers.registry import ProviderRegistry
from imagedesigner.retention.sweeper import sweep
from tests.conftest import make_settings, make_user

PG = os.environ.get("IMAGEDESIGNER_TEST_POSTGRES_URL")
REDIS = os.environ.get("IMAGEDESIGNER_TEST_REDIS_URL")
CANARY = "canary-pg-9d1e-orange-whale"


async def reset_pg(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def instance(settings, clock) -> tuple[Container, httpx.AsyncClient]:
    registry = ProviderRegistry.from_settings(settings, only=["local"])
    c = await Container.build(settings, clock=clock, registry=registry)
    app = create_app(container=c, run_sweeper=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    return c, client


@pytest.mark.skipif(not PG, reason="IMAGEDESIGNER_TEST_POSTGRES_URL not set")
async def test_postgres_two_instances_share_state_and_expiry(tmp_path, clock):
    await reset_pg(PG)
    settings = make_settings(tmp_path / "data", database_url=PG, blob_dir=tmp_path / "shared")
    a, client_a = await instance(settings, clock)
    b, client_b = await instance(settings, clock)  # second instance: migrations are idempotent
    try:
        _, key = await make_user(a)
        auth = {"Authorization": f"Bearer {key}"}
        r = await client_a.post(
            "/v1/images/generations",
            json={"prompt": CANARY, "response_format": "url", "size": "256x256"},
            headers=auth,
        )
        assert r.status_code == 200, r.text
        path = r.json()["data"][0]["url"].replace("http://t", "")
        assert (await client_b.get(path, headers=auth)).status_code == 200
        assert (await client_b.get("/readyz")).json()["database"] == "ok"

        clock.advance(settings.content_ttl + timedelta(seconds=1))
        assert (await client_b.get(path, headers=auth)).status_code == 404
        report = await sweep(b)
        assert report["expired_generations"] == 1
        async with a.sessions() as s:
            assert (await s.execute(select(func.count()).select_from(Generation))).scalar() == 0
            assert (await s.execute(select(func.count()).select_from(StoredImage))).scalar() == 0
        assert [p for p in (tmp_path / "shared").rglob("*") if p.is_file()] == []
    finally:
        for c, client in ((a, client_a), (b, client_b)):
            await client.aclose()
            await c.aclose()


@pytest.mark.skipif(not REDIS, reason="IMAGEDESIGNER_TEST_REDIS_URL not set")
async def test_redis_rate_limit_is_shared_by_instances(tmp_path, clock):
    settings = make_settings(tmp_path / "data", storage_uri=REDIS, rate_limit="3/minute")
    a, client_a = await instance(settings, clock)
    b, client_b = await instance(settings, clock)
    try:
        await client_a._transport.app.state.limiter.reset()
        _, key = await make_user(a)
        auth = {"Authorization": f"Bearer {key}"}
        codes = []
        for client in (client_a, client_b, client_a, client_b):
            r = await client.get("/v1/images/img_missing", headers=auth)
            codes.append(r.status_code)
        assert codes == [404, 404, 404, 429]
    finally:
        await client_a._transport.app.state.limiter.reset()
        for c, client in ((a, client_a), (b, client_b)):
            await client.aclose()
            await c.aclose()
