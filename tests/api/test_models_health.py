from __future__ import annotations

from imagedesigner.providers.registry import ProviderRegistry


async def test_models_lists_local_sketch_honestly(client, auth):
    r = await client.get("/v1/models", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    sketch = next(m for m in body["data"] if m["id"] == "local/sketch")
    assert sketch["object"] == "model" and sketch["available"] is True
    assert sketch["kind"] == "offline procedural renderer"
    assert "not an ai model" in sketch["description"].lower()
    assert sketch["capabilities"]["seeds"] is True
    assert sketch["provider"] == "local" and sketch["subprocessor"]


async def test_models_need_a_valid_api_key(client, auth):
    """Like OpenAI's: a "test connection" that lists models tells a good key from a bad one."""
    for path in ("/v1/models", "/v1/models/local/sketch"):
        assert (await client.get(path, headers=auth)).status_code == 200
        for headers, code in (
            ({}, "missing_api_key"),
            ({"Authorization": "Bearer idk_wrong"}, "invalid_api_key"),
        ):
            r = await client.get(path, headers=headers)
            assert r.status_code == 401, (path, headers)
            assert r.json()["error"]["type"] == "authentication_error"
            assert r.json()["error"]["code"] == code


async def test_app_models_is_the_web_catalogue(client, auth):
    """/app/models: the same entries as /v1/models (capabilities included) plus the default."""
    listed = (await client.get("/v1/models", headers=auth)).json()["data"]
    app = await client.get("/app/models", headers=auth)
    assert app.status_code == 200
    body = app.json()
    assert body["data"] == listed and body["default_model"] == "local/sketch"
    assert body["data"][0]["capabilities"]["output_formats"]
    assert (await client.get("/app/models")).status_code == 401  # signed in only


async def test_retired_models_name_their_replacement(client, auth, container):
    container.registry = ProviderRegistry.from_settings(container.settings)  # every provider
    for name, instead in (
        ("dall-e-3", "openai/gpt-image-2"),
        ("openai/dall-e-2", "openai/gpt-image-1.5"),
        ("openai/gpt-image-1", "openai/gpt-image-1.5"),
    ):
        got = await client.get(f"/v1/models/{name}", headers=auth)
        made = await client.post(
            "/v1/images/generations", json={"model": name, "prompt": "a cat"}, headers=auth
        )
        for r in (got, made):
            assert r.status_code == 404, (name, r.text)
            error = r.json()["error"]
            assert error["code"] == "model_not_found" and error["param"] == "model"
            assert "retired" in error["message"] and f"'{instead}'" in error["message"]
    unknown = await client.get("/v1/models/openai/no-such-model", headers=auth)
    assert unknown.status_code == 404 and "retired" not in unknown.json()["error"]["message"]


async def test_health_and_ready(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "blob_store": "ok"}
