"""Policy, "Technical and usage data (minimal)" and Retention ("Logs/diagnostics: [30 days]"):
one row per request with only technical fields; IPs from proxy headers only behind a trusted
proxy; IPs truncated after ip_retention, rows deleted after log_retention; and no prompt, key
or password in the log table or in Python's logging output, also when a request fails."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from imagedesigner.app import create_app
from imagedesigner.container import Container
from imagedesigner.db.models_logs import RequestLog
from imagedesigner.infra.clientip import client_ip, truncate_ip
from imagedesigner.infra.logging import redact
from imagedesigner.providers.base import ModelInfo, ProviderBadResponse
from imagedesigner.providers.registry import ProviderRegistry
from imagedesigner.retention.sweeper import sweep
from tests.conftest import make_user

CANARY = "cnry-4d1e-octopus-reading-tax-forms"
ALLOWED_COLUMNS = {
    "id",
    "time",
    "ip",
    "ip_truncated",
    "method",
    "route",
    "status",
    "request_bytes",
    "response_bytes",
    "model",
    "error_code",
    "latency_ms",
    "gpc",
    "user_id",
    "request_id",
}


async def log_rows(container) -> list[dict]:
    async with container.sessions() as s:
        rows = (await s.execute(select(RequestLog).order_by(RequestLog.id))).scalars().all()
    return [{col: getattr(r, col) for col in ALLOWED_COLUMNS} for r in rows]


def peer_client(app, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 1234), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_logs_minimal_technical_data_only(client, auth, container, user_and_key):
    assert {c.name for c in RequestLog.__table__.columns} == ALLOWED_COLUMNS
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": CANARY, "response_format": "url", "size": "256x256"},
        headers=auth,
    )
    assert r.status_code == 200
    image_url = r.json()["data"][0]["url"]
    path, signed = image_url.split("?")
    image_id = path.rsplit("/", 1)[-1]
    signature = signed.split("signature=")[1]
    assert (await client.get(image_url + "&q=secret-query-value")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.get("/no/such/path/with-id-123")).status_code == 404

    rows = await log_rows(container)
    assert [row["route"] for row in rows] == [
        "/v1/images/generations",
        "/v1/images/{image_id}",
        "(unmatched)",
    ], "one row per request; health checks skipped; templates, never raw paths"
    gen, img, missing = rows
    user = user_and_key[0]
    assert gen["method"] == "POST" and gen["status"] == 200 and gen["model"] == "local/sketch"
    assert gen["user_id"] == user.id and gen["ip"] == "127.0.0.1" and not gen["ip_truncated"]
    assert gen["request_bytes"] == len(r.request.content) and gen["response_bytes"] > 0
    assert img["response_bytes"] == len((await client.get(image_url)).content)
    assert gen["request_id"] == r.headers["x-request-id"], "the row has the response's id"
    assert len({row["request_id"] for row in rows}) == len(rows)
    assert missing["status"] == 404 and missing["error_code"] == "not_found"
    assert missing["user_id"] is None and missing["model"] is None
    text = repr(rows)
    for secret in (
        CANARY,
        image_id,
        signature,
        "secret-query-value",
        "with-id-123",
        user_and_key[1],
    ):
        assert secret not in text


async def test_logs_ip_truncated_after_ip_retention(app, container, clock):
    for ip in ("203.0.113.9", "2001:db8:1234:5678::1"):
        async with peer_client(app, ip) as c:
            await c.get("/v1/models")
    assert [r["ip"] for r in await log_rows(container)] == ["203.0.113.9", "2001:db8:1234:5678::1"]

    clock.advance(container.settings.ip_retention - timedelta(minutes=1))
    assert (await sweep(container))["log_ips_truncated"] == 0, "nothing truncated early"
    clock.advance(timedelta(minutes=2))
    report = await sweep(container)
    assert report["log_ips_truncated"] == 2
    rows = await log_rows(container)
    assert [r["ip"] for r in rows] == ["203.0.113.0", "2001:db8:1234::"]
    assert all(r["ip_truncated"] for r in rows)
    assert (await sweep(container))["log_ips_truncated"] == 0, "idempotent"
    assert truncate_ip("10.1.2.3", 16, 32) == "10.1.0.0"


async def test_logs_deleted_after_log_retention(client, container, clock):
    await client.get("/v1/models")
    clock.advance(timedelta(days=10))
    await client.get("/v1/models")
    clock.advance(container.settings.log_retention - timedelta(days=10) - timedelta(minutes=1))
    assert (await sweep(container))["logs_deleted"] == 0
    clock.advance(timedelta(minutes=2))
    assert (await sweep(container))["logs_deleted"] == 1, "only the older row is gone"
    clock.advance(timedelta(days=10))
    assert (await sweep(container))["logs_deleted"] == 1
    assert await log_rows(container) == []


async def test_spoofed_xff_from_untrusted_peer_ignored(app, container):
    async with peer_client(app, "203.0.113.9") as c:
        await c.get(
            "/v1/models",
            headers={
                "X-Forwarded-For": "198.51.100.7",
                "CF-Connecting-IP": "198.51.100.8",
                "X-Forwarded-Proto": "https",
            },
        )
    (row,) = await log_rows(container)
    assert row["ip"] == "203.0.113.9", (
        "no trusted proxies configured: the socket peer is the client"
    )


@pytest.mark.parametrize("settings_overrides", [{"trusted_proxies": ["203.0.113.0/24"]}])
async def test_trusted_proxy_cf_connecting_ip_used(app, container):
    async with peer_client(app, "203.0.113.9") as c:
        await c.get("/v1/models", headers={"CF-Connecting-IP": "198.51.100.8"})
        await c.get("/v1/models", headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.7, 203.0.113.5"})
        await c.get("/v1/models", headers={"CF-Connecting-IP": "not-an-ip"})
    async with peer_client(app, "192.0.2.1") as c:  # not a proxy of ours
        await c.get("/v1/models", headers={"CF-Connecting-IP": "198.51.100.8"})
    ips = [r["ip"] for r in await log_rows(container)]
    assert ips == ["198.51.100.8", "198.51.100.7", "203.0.113.9", "192.0.2.1"]
    # unit level: right-most non-proxy hop; IPv6 peers and mapped addresses
    trusted = ["203.0.113.0/24", "2001:db8::/32"]
    scope = {"client": ("2001:db8::5", 1), "headers": [(b"x-forwarded-for", b"9.9.9.9, 8.8.8.8")]}
    assert client_ip(scope, trusted) == "8.8.8.8"
    scope = {
        "client": ("::ffff:203.0.113.1", 1),
        "headers": [(b"cf-connecting-ip", b"2001:db9::1")],
    }
    assert client_ip(scope, trusted) == "2001:db9::1"


class BoomProvider:
    """Fails in the two ways a provider can: an unexpected exception (500) whose message and
    locals hold the prompt, and a provider error (502)."""

    name = "boom"
    available = True

    def models(self):
        return [
            ModelInfo(
                id="boom/crash",
                provider="boom",
                native_id="crash",
                subprocessor="t",
                description="",
            ),
            ModelInfo(
                id="boom/bad", provider="boom", native_id="bad", subprocessor="t", description=""
            ),
        ]

    async def generate(self, model, request, progress=None):
        prompt_copy = request.prompt  # a local holding the prompt: must not reach a traceback
        if model.native_id == "bad":
            raise ProviderBadResponse("The provider returned something unusable.")
        raise RuntimeError(f"exploded while drawing {prompt_copy}")

    async def aclose(self):
        pass


@pytest.fixture
async def boom_app(settings, clock):
    local = ProviderRegistry.from_settings(settings, only=["local"])
    registry = ProviderRegistry([*local.providers.values(), BoomProvider()], settings)
    c = await Container.build(settings, clock=clock, registry=registry)
    yield create_app(container=c, run_sweeper=False), c
    await c.aclose()


async def test_canary_prompt_never_in_logs(boom_app, caplog, capsys):
    app, container = boom_app
    caplog.set_level(logging.DEBUG)
    user, key = await make_user(container)
    auth = {"Authorization": f"Bearer {key}"}
    async with peer_client(app, "203.0.113.9") as c:
        ok = await c.post(
            "/v1/images/generations", json={"prompt": CANARY, "size": "256x256"}, headers=auth
        )
        bad = await c.post(
            "/v1/images/generations", json={"prompt": CANARY, "n": 999}, headers=auth
        )
        crash = await c.post(
            "/v1/images/generations", json={"prompt": CANARY, "model": "boom/crash"}, headers=auth
        )
        upstream = await c.post(
            "/v1/images/generations", json={"prompt": CANARY, "model": "boom/bad"}, headers=auth
        )
        await c.post("/v1/auth/login", json={"email": "ada@example.com", "password": CANARY + "pw"})
    assert [ok.status_code, bad.status_code, crash.status_code, upstream.status_code] == [
        200,
        400,
        500,
        502,
    ]
    # what uvicorn does with an exception that escapes the app: log it with its traceback
    try:
        raise RuntimeError(f"exploded while drawing {CANARY}")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("imagedesigner.test").warning("header was Authorization: Bearer %s", key)

    rows = await log_rows(container)
    assert [r["status"] for r in rows] == [200, 400, 500, 502, 401]
    assert [r["error_code"] for r in rows[1:4]] == [
        "invalid_request",
        "internal_error",
        "bad_upstream_response",
    ]
    assert rows[2]["model"] == "boom/crash"
    captured = capsys.readouterr()
    logged = caplog.text + captured.out + captured.err + repr(rows)
    assert "Exception in ASGI application" in caplog.text and "RuntimeError" in caplog.text
    for secret in (CANARY, key, key[4:]):
        assert secret not in logged
    assert redact(f"Authorization: Bearer {key}") == "Authorization: Bearer [redacted]"
    assert "sk-" + "[redacted]" in redact("key sk-proj-abcdefghij1234")
    assert CANARY not in redact(f'{{"password": "{CANARY}"}}')


@pytest.mark.parametrize("settings_overrides", [{"request_log_batch": "1h"}])
async def test_rows_are_grouped_and_an_erased_accounts_row_is_written_unlinked(
    client, auth, container, user_and_key
):
    for _ in range(3):
        assert (await client.get("/v1/me", headers=auth)).status_code == 200

    async def rows():
        async with container.sessions() as s:
            return list((await s.execute(select(RequestLog))).scalars())

    assert await rows() == [], "grouped: nothing written before the batch is due"
    user, _ = user_and_key
    assert (await client.delete("/v1/me", headers=auth)).status_code == 200  # erased meanwhile
    await container.request_log.flush()
    written = await rows()
    assert len(written) == 4, "every row of the batch is written"
    assert all(r.user_id is None for r in written), "no link to the erased account"
    assert {r.route for r in written} == {"/v1/me"}
