"""The CLI: users and keys, offline generate with non-loopback sockets blocked, sweep, models."""

from __future__ import annotations

import ipaddress
import json
import socket

import pytest
from PIL import Image
from typer.testing import CliRunner

from imagedesigner.cli.main import app
from tests.conftest import find_in_files

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMAGEDESIGNER_DATA_DIR", str(tmp_path / "data"))
    for name in ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "FAL_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def no_network(monkeypatch):
    """Refuse every socket connection except to loopback, and every DNS lookup."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            try:
                if not ipaddress.ip_address(host).is_loopback:
                    raise OSError(f"network blocked in test: {host}")
            except ValueError:
                raise OSError(f"network blocked in test: {host}") from None
        return real_connect(self, address)

    def no_dns(*a, **kw):
        raise OSError("DNS blocked in test")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)


def test_generate_writes_png_offline(env, no_network):
    out = env / "out.png"
    result = runner.invoke(
        app,
        ["generate", "a red house at sunset", "--size", "640x480", "--seed", "3", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    img = Image.open(out)
    assert img.format == "PNG" and img.size == (640, 480)


def test_generate_bad_size_is_a_clear_error(env):
    result = runner.invoke(app, ["generate", "x", "--size", "10x10", "-o", str(env / "o.png")])
    assert result.exit_code == 2
    assert "size" in result.output


def test_users_keys_sweep_models(env):
    r = runner.invoke(
        app,
        ["users", "create", "--email", "ada@example.com", "--password-stdin"],
        input="correct horse battery\n",
    )
    assert r.exit_code == 0, r.output
    assert "correct horse" not in r.output
    r = runner.invoke(app, ["keys", "create", "--email", "ada@example.com"])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[0]
    assert token.startswith("idk_") and len(token) > 40
    # the key is stored only as a hash
    assert find_in_files(env, token.encode()) == []
    r = runner.invoke(app, ["keys", "create", "--email", "nobody@example.com"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["sweep"])
    assert r.exit_code == 0 and "expired_generations" in json.loads(r.stdout)
    r = runner.invoke(app, ["models"])
    assert r.exit_code == 0 and "local/sketch" in r.stdout


def test_duplicate_user_refused(env):
    args = ["users", "create", "--email", "b@example.com", "--password-stdin"]
    assert runner.invoke(app, args, input="long enough pw\n").exit_code == 0
    r = runner.invoke(app, args, input="long enough pw\n")
    assert r.exit_code == 2 and "already exists" in r.output


def test_worker_and_queue_settings_that_cannot_work_are_clear_errors(env, monkeypatch):
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "IMAGEDESIGNER_JOB_QUEUE=procrastinate" in result.output
    monkeypatch.setenv("IMAGEDESIGNER_JOB_QUEUE", "procrastinate")
    monkeypatch.delenv("IMAGEDESIGNER_DATABASE_URL", raising=False)  # SQLite
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "needs a PostgreSQL IMAGEDESIGNER_DATABASE_URL" in result.output
    monkeypatch.setenv("IMAGEDESIGNER_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1/x")
    result = runner.invoke(app, ["sweep"])  # any command builds the same parts
    assert result.exit_code == 2
    assert "needs a Redis IMAGEDESIGNER_STORAGE_URI" in result.output


def test_several_workers_need_postgresql_and_redis(env, monkeypatch):
    """``serve --workers 2`` refuses, before listening or connecting, what would let each worker
    keep its own rate-limit budget and key cache (a revoked key still open on the other)."""
    import uvicorn

    from imagedesigner.cli.main import several_workers_problem
    from imagedesigner.config import Settings

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(kw))
    monkeypatch.delenv("IMAGEDESIGNER_DATABASE_URL", raising=False)  # SQLite
    monkeypatch.delenv("IMAGEDESIGNER_STORAGE_URI", raising=False)  # memory://
    result = runner.invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 2 and "IMAGEDESIGNER_DATABASE_URL to PostgreSQL" in result.output
    # port 1: nothing listens there, so a connection attempt would be a different error
    monkeypatch.setenv("IMAGEDESIGNER_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/x")
    result = runner.invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 2 and "needs Redis" in result.output, result.output
    assert started == []

    pg = {"data_dir": env / "data", "database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/x"}
    shared = Settings(_env_file=None, **pg, storage_uri="redis://127.0.0.1:6379/0")
    assert several_workers_problem(shared, 2) is None
    assert several_workers_problem(Settings(_env_file=None, **pg), 1) is None
    assert "needs Redis" in several_workers_problem(Settings(_env_file=None, **pg), 2)


def test_the_worker_runs_its_jobs_with_the_serving_memory_settings(env, monkeypatch):
    """``imagedesigner worker`` serves as ``serve`` does: the GC thresholds of the settings while
    it runs jobs, put back when it stops (docs/benchmarks.md: the young-generation threshold was
    40 % of the CPU at 1,000 in flight), and its parts closed."""
    import gc

    from imagedesigner.cli import main as cli_main
    from imagedesigner.generation import worker as worker_module

    monkeypatch.setenv("IMAGEDESIGNER_JOB_QUEUE", "procrastinate")
    monkeypatch.setenv("IMAGEDESIGNER_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/x")
    monkeypatch.setenv("IMAGEDESIGNER_STORAGE_URI", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("IMAGEDESIGNER_GC_YOUNG_THRESHOLD", "12345")
    monkeypatch.setenv("IMAGEDESIGNER_GC_MIDDLE_THRESHOLD", "77")
    monkeypatch.setenv("IMAGEDESIGNER_MEMORY_HEAP_KEEP", "0")  # this test process's malloc as is
    seen: dict = {}

    class Parts:
        runner = registry = blobs = object()

        async def start(self) -> None:
            seen["started"] = True

        async def aclose(self) -> None:
            seen["closed"] = True

    async def build(settings):
        return Parts()

    async def serve_worker(runner, registry, blobs, settings, size):
        seen["threshold"], seen["size"] = gc.get_threshold()[:2], size

    before = gc.get_threshold()
    monkeypatch.setattr(cli_main.Container, "build", build)
    monkeypatch.setattr(worker_module, "serve_worker", serve_worker)
    result = runner.invoke(app, ["worker", "--concurrency", "3"])
    assert result.exit_code == 0, result.output
    assert seen == {"started": True, "threshold": (12345, 77), "size": 3, "closed": True}
    assert gc.get_threshold() == before
