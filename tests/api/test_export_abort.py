"""An export that fails after its first byte must not look like a finished download: over real
HTTP the connection is aborted, so the client gets a transport error, never a complete 200
with a truncated ZIP. (httpx's ASGITransport cannot show an abort, hence uvicorn.)"""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from imagedesigner.storage.local import LocalBlobStore
from tests.api.live import LiveServer, account
from tests.conftest import make_settings


@pytest.fixture
def live(tmp_path):
    settings = make_settings(tmp_path / "data")
    _, key = account(settings)
    with LiveServer(settings) as server:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            for prompt in ("first", "second"):
                r = client.post(
                    "/v1/images/generations",
                    json={"prompt": prompt, "size": "256x256", "response_format": "url"},
                )
                assert r.status_code == 200, r.text
            yield client


def test_a_complete_export_is_a_valid_zip(live):
    r = live.get("/v1/me/export")
    assert r.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    assert len([n for n in archive.namelist() if n.startswith("images/")]) == 2


def test_a_failure_mid_stream_aborts_the_connection(live, monkeypatch):
    reads = []
    real = LocalBlobStore.get

    async def failing_second_read(self, key):
        reads.append(key)
        if len(reads) == 2:  # the tables and the first image are already sent
            raise OSError("the disk went away")
        return await real(self, key)

    monkeypatch.setattr(LocalBlobStore, "get", failing_second_read)
    received = bytearray()
    with pytest.raises(httpx.TransportError):
        with live.stream("GET", "/v1/me/export") as r:
            assert r.status_code == 200  # the headers went out before the failure
            for chunk in r.iter_bytes():
                received.extend(chunk)
    assert len(reads) == 2 and received  # it failed mid-stream, not before the first byte
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(bytes(received)))
