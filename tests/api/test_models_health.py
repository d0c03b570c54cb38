from __future__ import annotations


async def test_models_lists_local_sketch_honestly(client):
    r = await client.get("/v1/models")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    sketch = next(m for m in body["data"] if m["id"] == "local/sketch")
    assert sketch["object"] == "model" and sketch["available"] is True
    assert sketch["kind"] == "offline procedural renderer"
    assert "not an ai model" in sketch["description"].lower()
    assert sketch["capabilities"]["seeds"] is True
    assert sketch["provider"] == "local" and sketch["subprocessor"]


async def test_health_and_ready(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "blob_store": "ok"}
