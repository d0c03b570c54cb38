"""The S3 blob store against moto's S3 server on loopback: the protocol, what the sweeper needs
from it, and the whole service (generate, serve, expire, sweep) with its images in a bucket."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import boto3
import httpx
import pytest

from imagedesigner.app import create_app
from imagedesigner.container import Container
from imagedesigner.providers.registry import ProviderRegistry
from imagedesigner.retention.sweeper import sweep
from imagedesigner.storage.base import new_key
from imagedesigner.storage.s3 import S3BlobStore
from tests.conftest import make_settings

CANARY = "canary-s3-4b7e-teal-otter-on-a-kayak"
CREDS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def s3_url():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log: noise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def raw(s3_url):
    """A plain boto3 client to look at the bucket behind the store's back."""
    client = boto3.session.Session().client("s3", endpoint_url=s3_url, **CREDS)
    yield client
    client.close()


@pytest.fixture
def bucket(raw) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    raw.create_bucket(Bucket=name)
    return name


def s3_settings(s3_url: str, bucket: str) -> dict:
    return {
        "blob_backend": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": s3_url,
        "s3_region": "us-east-1",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
        "s3_force_path_style": True,
    }


@pytest.fixture
def settings_overrides(s3_url, bucket) -> dict:
    return s3_settings(s3_url, bucket)  # conftest's container, app and client use the bucket


def store_for(s3_url: str, bucket: str, **kw) -> S3BlobStore:
    return S3BlobStore(
        bucket,
        endpoint_url=s3_url,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
        force_path_style=True,
        **kw,
    )


def names(raw, bucket: str) -> list[str]:
    return [o["Key"] for o in raw.list_objects_v2(Bucket=bucket).get("Contents", [])]


async def test_round_trip(s3_url, bucket, raw, clock):
    store = store_for(s3_url, bucket)
    try:
        await store.check()
        key = new_key(clock.now())
        await store.put(key, b"\x89PNG bytes")
        assert await store.get(key) == b"\x89PNG bytes"
        assert names(raw, bucket) == [f"blobs/{key}"]
        head = raw.head_object(Bucket=bucket, Key=f"blobs/{key}")
        assert head["ContentType"] == "application/octet-stream"
        assert head["Metadata"] == {}
        assert [k async for k in store.keys()] == [key]

        await store.delete(key)
        assert await store.get(key) is None
        await store.delete(key)  # idempotent
        assert [k async for k in store.keys()] == []
        assert await store.get(new_key(clock.now())) is None  # never written
        with pytest.raises(ValueError):
            await store.get("../secret")
    finally:
        await store.aclose()


async def test_server_side_encryption_header(s3_url, bucket, raw, clock):
    store = store_for(s3_url, bucket, sse="AES256", prefix="img")  # the "/" is added
    try:
        key = new_key(clock.now())
        await store.put(key, b"data")
        head = raw.head_object(Bucket=bucket, Key=f"img/{key}")
        assert head["ServerSideEncryption"] == "AES256"
    finally:
        await store.aclose()


async def test_keys_yields_only_our_keys_under_the_prefix_across_pages(s3_url, bucket, raw, clock):
    store = store_for(s3_url, bucket)
    store.page_size = 2
    try:
        ours = sorted(new_key(clock.now()) for _ in range(5))
        for key in ours:
            await store.put(key, b"x")
        foreign = new_key(clock.now())
        raw.put_object(Bucket=bucket, Key="blobs/notes.txt", Body=b"not ours")
        raw.put_object(Bucket=bucket, Key=f"blobs/sub/{foreign}", Body=b"nested")
        raw.put_object(Bucket=bucket, Key=f"other/{foreign}", Body=b"outside the prefix")
        raw.put_object(Bucket=bucket, Key=foreign, Body=b"at the root")
        assert sorted([k async for k in store.keys()]) == ours
    finally:
        await store.aclose()


async def test_generate_serve_expire_sweep_through_the_app(client, auth, container, clock, raw):
    bucket = container.settings.s3_bucket
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": CANARY, "response_format": "url", "size": "256x256"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    url = r.json()["data"][0]["url"]
    got = await client.get(url, headers=auth)
    assert got.status_code == 200 and got.content[:4] == b"\x89PNG"

    [name] = names(raw, bucket)
    head = raw.head_object(Bucket=bucket, Key=name)
    assert head["Metadata"] == {} and CANARY not in name  # nothing of the prompt in S3's headers

    clock.advance(container.settings.content_ttl + timedelta(seconds=1))
    assert (await client.get(url, headers=auth)).status_code == 404
    report = await sweep(container)
    assert report["expired_blobs"] == 1
    assert names(raw, bucket) == []


async def test_orphan_sweep_deletes_an_object_with_no_row_once_old(container, clock, raw):
    bucket = container.settings.s3_bucket
    key = new_key(clock.now())
    await container.blobs.put(key, b"orphan " + CANARY.encode())
    raw.put_object(Bucket=bucket, Key="blobs/readme.txt", Body=b"someone else's")

    await sweep(container)
    assert await container.blobs.get(key) is not None, "a young blob may be a write in flight"
    clock.advance(container.settings.content_ttl)
    report = await sweep(container)
    assert report["orphan_blobs"] == 1
    assert names(raw, bucket) == ["blobs/readme.txt"]  # not ours: left alone


async def test_readyz_reports_the_bucket(client, s3_url, tmp_path, clock):
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["blob_store"] == "ok"

    settings = make_settings(tmp_path / "other", **s3_settings(s3_url, "no-such-bucket"))
    registry = ProviderRegistry.from_settings(settings, only=["local"])
    c = await Container.build(settings, clock=clock, registry=registry)
    try:
        transport = httpx.ASGITransport(app=create_app(container=c, run_sweeper=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as other:
            r = await other.get("/readyz")
        assert r.status_code == 503
        assert r.json()["blob_store"].startswith("error")
    finally:
        await c.aclose()


async def test_versioned_bucket_warns_once_without_content(s3_url, bucket, raw, caplog, clock):
    raw.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    store = store_for(s3_url, bucket)
    try:
        key = new_key(clock.now())
        await store.put(key, CANARY.encode())
        with caplog.at_level(logging.WARNING, logger="imagedesigner.storage.s3"):
            await store.check()
            await store.check()
        warnings = [r for r in caplog.records if r.name == "imagedesigner.storage.s3"]
        [message] = [r.getMessage() for r in warnings]
        assert "versioning" in message and key not in message and CANARY not in message
    finally:
        await store.aclose()


async def test_unversioned_bucket_does_not_warn(s3_url, bucket, caplog):
    store = store_for(s3_url, bucket)
    try:
        with caplog.at_level(logging.WARNING, logger="imagedesigner.storage.s3"):
            await store.check()
        assert not [r for r in caplog.records if r.name == "imagedesigner.storage.s3"]
    finally:
        await store.aclose()


async def test_s3_backend_without_bucket_fails_at_start_up(tmp_path):
    settings = make_settings(tmp_path / "data", blob_backend="s3")
    with pytest.raises(ValueError, match="IMAGEDESIGNER_S3_BUCKET"):
        await Container.build(settings)
    half = make_settings(tmp_path / "data", blob_backend="s3", s3_bucket="b", s3_access_key_id="k")
    with pytest.raises(ValueError, match="SECRET_ACCESS_KEY"):
        await Container.build(half)


async def test_privacy_page_names_the_storage_provider(client, container):
    text = (await client.get("/privacy.txt")).text
    assert "Amazon Web Services (S3)" in text and "Generated images" in text
    container.settings.blob_backend = "local"
    assert "Amazon Web Services (S3)" not in (await client.get("/privacy.txt")).text
