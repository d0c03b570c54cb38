"""``/metrics``: served only with the metrics token (or on its own port), Prometheus' text format,
counters that move with requests, generations and sweeps, and no label that carries a user, key,
IP, prompt, id or raw path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import httpx
import pytest
from openai import AsyncOpenAI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from imagedesigner.api import metrics as api_metrics
from imagedesigner.generation import jobs
from imagedesigner.generation.normalize import GenerationInput
from imagedesigner.retention import sweeper

TOKEN = "metrics-token-for-tests-0b9c"
CANARY = "canary-prompt-q7x3-lighthouse"


@pytest.fixture
def settings_overrides() -> dict:
    return {"metrics_token": TOKEN}


@pytest.fixture
def sdk(app, auth) -> AsyncOpenAI:
    transport = httpx.ASGITransport(app=app)
    http = httpx.AsyncClient(transport=transport, base_url="http://testserver/v1")
    return AsyncOpenAI(
        base_url="http://testserver/v1",
        api_key=auth["Authorization"].removeprefix("Bearer "),
        http_client=http,
    )


async def scrape(client) -> str:
    r = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return r.text


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def templates_of(routes) -> set[str]:
    """Every route template of the app (FastAPI keeps included routers as they were)."""
    found: set[str] = set()
    for route in routes:
        if isinstance(getattr(route, "path", None), str):
            found.add(route.path)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found |= templates_of(inner.routes)
    return found


def route_labels(text: str) -> set[str]:
    return {
        s.labels["route"] for family in text_string_to_metric_families(text)
        for s in family.samples if "route" in s.labels
    }  # fmt: skip


async def test_without_a_configured_token_there_is_no_metrics_page(client, settings):
    settings.metrics_token = None
    r = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
async def test_the_token_is_required(client, header):
    r = await client.get("/metrics", headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    error = r.json()["error"]
    assert error["type"] == "authentication_error" and "METRICS_TOKEN" in error["message"]
    assert "imagedesigner_http" not in r.text


async def test_requests_generations_and_errors_are_counted_by_template_and_code(
    app, client, sdk, auth, user_and_key
):
    before = await scrape(client)
    result = await sdk.images.generate(model="local/sketch", prompt=CANARY, size="256x256")
    assert result.data[0].b64_json
    listed = await client.get("/v1/jobs", headers=auth)
    job_id = listed.json()["data"][0]["id"]
    assert (await client.get(f"/v1/jobs/{job_id}", headers=auth)).status_code == 200
    missing = await client.get("/v1/no-such-thing/raw-path-xyz", headers=auth)
    assert missing.status_code == 404
    bad = await client.post("/v1/images/generations", json={"prompt": ""}, headers=auth)
    assert bad.status_code == 400
    await client.request("BREW", "/v1/models", headers=auth)  # a method of the client's own
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"route": "/v1/images/generations", "method": "POST"}
    assert moved("imagedesigner_http_request_duration_seconds_count", **route, status="2xx") == 1
    assert moved("imagedesigner_http_request_duration_seconds_count", **route, status="4xx") == 1
    assert (
        moved("imagedesigner_http_request_duration_seconds_count", route="/v1/jobs/{job_id}") == 1
    )
    assert moved("imagedesigner_http_request_duration_seconds_count", route="unmatched") == 1
    assert moved("imagedesigner_http_request_duration_seconds_count", method="OTHER") == 1
    assert moved("imagedesigner_errors_total", code="not_found") == 1
    assert moved("imagedesigner_errors_total", code="invalid_request") == 1
    gen = {"provider": "local", "model": "local/sketch", "outcome": "ok"}
    assert moved("imagedesigner_generation_duration_seconds_count", **gen) == 1
    assert moved("imagedesigner_generation_duration_seconds_sum", **gen) > 0

    # nothing a client sent, and nothing that names a user, key or content, is a label
    user, key = user_and_key
    for secret in (CANARY, "lighthouse", user.id, user.email, key, job_id, "raw-path-xyz",
                   "BREW", "127.0.0.1", "testserver", TOKEN):  # fmt: skip
        assert secret not in after, secret
    new_routes = route_labels(after) - route_labels(before)  # the registry is per process
    templates = templates_of(app.routes) | {"unmatched"}
    assert new_routes and new_routes <= templates, new_routes - templates


async def test_jobs_queued_and_running_are_read_from_the_database(client, container, user_and_key):
    user, _ = user_and_key
    model = container.registry.resolve("local/sketch").model
    before = await scrape(client)
    async with container.sessions() as session, session.begin():
        for _ in range(3):
            await jobs.create(
                session, container.clock.now(), container.settings.content_ttl, user, model,
                GenerationInput(prompt=CANARY), kind="generation", response_format="b64_json",
                runner=None, max_active=0,
            )  # fmt: skip
        job = await jobs.create(
            session, container.clock.now(), container.settings.content_ttl, user, model,
            GenerationInput(prompt=CANARY), kind="generation", response_format="b64_json",
            runner=None, max_active=0,
        )  # fmt: skip
        job.status = "running"
    after = await scrape(client)
    assert value(after, "imagedesigner_jobs", state="queued") == 3
    assert value(after, "imagedesigner_jobs", state="running") == 1
    assert value(before, "imagedesigner_jobs", state="queued") == 0
    assert CANARY not in after and job.id not in after


async def test_sweeps_are_timed_and_their_items_counted(client, sdk, container, clock):
    await sdk.images.generate(model="local/sketch", prompt=CANARY, response_format="url")
    before = await scrape(client)
    clock.advance(container.settings.content_ttl * 2)
    report = await sweeper.sweep(container)
    assert report["expired_generations"] == 1
    after = await scrape(client)
    ok = {"outcome": "ok"}
    took = "imagedesigner_sweep_duration_seconds"
    assert value(after, f"{took}_count", **ok) - value(before, f"{took}_count", **ok) == 1
    items = "imagedesigner_sweep_items_total"
    kind = {"kind": "expired_generations"}
    assert value(after, items, **kind) - value(before, items, **kind) == 1


async def test_a_separate_metrics_port_serves_the_same_text(container, settings):
    settings.metrics_port = 0
    settings.metrics_token = None  # a loopback port: no token unless one is configured
    async with api_metrics.serving(container) as port, httpx.AsyncClient() as http:
        r = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert r.status_code == 200
        assert "imagedesigner_jobs{" in r.text and "imagedesigner_http_request" in r.text
        assert (await http.get(f"http://127.0.0.1:{port}/other")).status_code == 404
        settings.metrics_token = SecretStr(TOKEN)  # configured: required here too
        assert (await http.get(f"http://127.0.0.1:{port}/metrics")).status_code == 401
        headers = {"Authorization": f"Bearer {TOKEN}"}
        ok = await http.get(f"http://127.0.0.1:{port}/metrics", headers=headers)
        assert ok.status_code == 200


def test_worker_processes_add_up_in_multiprocess_mode(tmp_path):
    """``serve --workers N`` sets PROMETHEUS_MULTIPROC_DIR: any worker's scrape counts all."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    observe = textwrap.dedent(
        """
        from imagedesigner.infra import metrics
        metrics.observe_request("/v1/models", "GET", 200, 0.01)
        metrics.observe_request("/v1/models", "GET", 404, 0.01, "not_found")
        """
    )
    for _ in range(2):  # two "workers"
        subprocess.run([sys.executable, "-c", observe], env=env, check=True)
    render = "from imagedesigner.infra import metrics; print(metrics.render({}).decode())"
    out = subprocess.run(
        [sys.executable, "-c", render], env=env, check=True, capture_output=True, text=True
    ).stdout
    name = "imagedesigner_http_request_duration_seconds_count"
    assert value(out, name, route="/v1/models", status="2xx") == 2
    assert value(out, "imagedesigner_errors_total", code="not_found") == 2
