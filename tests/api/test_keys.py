"""API keys: listed without the secret, created (shown once), revoked at once."""

from __future__ import annotations

from typer.testing import CliRunner

from imagedesigner.cli.main import app as cli
from tests.conftest import find_in_files, make_user


async def test_create_list_revoke_keys(client, auth, container, data_dir):
    r = await client.post("/v1/me/keys", json={"name": "laptop"}, headers=auth)
    assert r.status_code == 201
    created = r.json()
    token = created["key"]
    assert token.startswith("idk_") and created["prefix"] == token[:12]
    assert find_in_files(data_dir, token.encode()) == [], "only a hash is stored"

    new_auth = {"Authorization": f"Bearer {token}"}
    listed = (await client.get("/v1/me/keys", headers=new_auth)).json()["data"]
    assert {k["name"] for k in listed} == {"", "laptop"}
    assert all("key" not in k for k in listed)
    assert next(k for k in listed if k["name"] == "laptop")["last_used_at"] is not None

    r = await client.delete(f"/v1/me/keys/{created['id']}", headers=auth)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    r = await client.get("/v1/me/keys", headers=new_auth)
    assert r.status_code == 401


async def test_cannot_revoke_someone_elses_key(client, auth, container):
    _, other = await make_user(container, "eve@example.com")
    theirs = (await client.get("/v1/me/keys", headers={"Authorization": f"Bearer {other}"})).json()
    r = await client.delete(f"/v1/me/keys/{theirs['data'][0]['id']}", headers=auth)
    assert r.status_code == 404
    r = await client.post("/v1/me/keys", json={"name": "x", "scope": "all"}, headers=auth)
    assert r.status_code == 400


def test_cli_list_and_revoke(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMAGEDESIGNER_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    args = ["users", "create", "--email", "k@example.com", "--password-stdin"]
    assert runner.invoke(cli, args, input="long enough pw\n").exit_code == 0
    token = runner.invoke(cli, ["keys", "create", "--email", "k@example.com"]).stdout.split()[0]
    out = runner.invoke(cli, ["keys", "list", "--email", "k@example.com"]).stdout
    assert token[:12] in out and token not in out and "active" in out
    key_id = out.split()[0]
    r = runner.invoke(cli, ["keys", "revoke", key_id, "--email", "k@example.com"])
    assert r.exit_code == 0
    assert "revoked" in runner.invoke(cli, ["keys", "list", "--email", "k@example.com"]).stdout
    r = runner.invoke(cli, ["keys", "revoke", "key_nope", "--email", "k@example.com"])
    assert r.exit_code == 2
