"""Shared fixtures: a fake clock, a temporary data folder, the local provider only, and an
in-process HTTP client over ASGI. Tests move time with ``clock.advance`` instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from imagedesigner.accounts import service as accounts
from imagedesigner.app import create_app
from imagedesigner.config import Settings
from imagedesigner.container import Container
from imagedesigner.kit.clock import FrozenClock
from imagedesigner.providers.registry import ProviderRegistry

NO_KEYS = {"openai_api_key": None, "openrouter_api_key": None, "fal_key": None}


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = {
        "data_dir": data_dir,
        "secret_key": "test-secret",
        "rate_limit": "10000/minute",
        **NO_KEYS,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings_overrides() -> dict:
    return {}


@pytest.fixture
def settings(data_dir: Path, settings_overrides: dict) -> Settings:
    return make_settings(data_dir, **settings_overrides)


@pytest.fixture
async def container(settings: Settings, clock: FrozenClock):
    registry = ProviderRegistry.from_settings(settings, clock, only=["local"])
    c = await Container.build(settings, clock=clock, registry=registry)
    yield c
    await c.aclose()


@pytest.fixture
def app(container: Container):
    return create_app(container=container, run_sweeper=False)


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def make_user(container: Container, email: str = "ada@example.com", role: str = "user"):
    async with container.sessions() as session, session.begin():
        user = await accounts.create_user(
            session,
            container.clock,
            email=email,
            password="correct horse battery",
            age_confirmed=True,
            role=role,
        )
        new = await accounts.create_key(session, container.clock, user)
    return user, new.token


@pytest.fixture
async def user_and_key(container: Container):
    return await make_user(container)


@pytest.fixture
def auth(user_and_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {user_and_key[1]}"}


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def find_in_files(folder: Path, needle: bytes) -> list[Path]:
    """Every file under ``folder`` whose bytes contain ``needle`` (DB, WAL, journal, blobs)."""
    return [p for p in files_under(folder) if needle in p.read_bytes()]
