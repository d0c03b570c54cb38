"""Shared by the benchmarks: a served `imagedesigner` on loopback with a fresh data folder, one
user and one API key, stopped on exit."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).with_name("imagedesigner")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


@dataclass
class Served:
    url: str
    key: str
    pid: int


@contextlib.contextmanager
def served(extra_env: dict[str, str] | None = None) -> Iterator[Served]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "IMAGEDESIGNER_DATA_DIR": tmp,
            "IMAGEDESIGNER_RATE_LIMIT": "",
            **(extra_env or {}),
        }
        subprocess.run(
            [BIN, "users", "create", "--email", "bench@example.com", "--password-stdin"],
            input=b"benchmark password\n",
            env=env,
            check=True,
            capture_output=True,
        )
        key = subprocess.run(
            [BIN, "keys", "create", "--email", "bench@example.com"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[0]
        port = free_port()
        server = subprocess.Popen(
            [BIN, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_up(f"{url}/healthz")
            yield Served(url=url, key=key, pid=server.pid)
        finally:
            server.terminate()
            server.wait(10)


def offline_settings(data_dir: Path, **overrides):
    """In-process settings for a benchmark: its own data folder, no rate limit, no provider
    keys (nothing can leave the machine)."""
    from imagedesigner.config import Settings

    return Settings(
        _env_file=None,
        data_dir=data_dir,
        secret_key="bench",
        rate_limit="",
        openai_api_key=None,
        openrouter_api_key=None,
        fal_key=None,
        **overrides,
    )
