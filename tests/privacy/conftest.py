"""Helpers for the privacy tests: generate through the API, scan every table for a value."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from tests.conftest import make_user


async def generate(client, headers, prompt: str, n: int = 1) -> dict:
    r = await client.post(
        "/v1/images/generations",
        json={"prompt": prompt, "response_format": "url", "size": "256x256", "n": n},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def rows_mentioning(container, needle: str) -> list[str]:
    """``table`` names of every row, in every table of the live database, containing ``needle``."""

    def scan(conn) -> list[str]:
        hits = []
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                if any(needle in str(v) for v in row):
                    hits.append(table)
        return hits

    async with container.engine.connect() as conn:
        return await conn.run_sync(scan)


@pytest.fixture
async def other(container):
    """A second user: the negative control whose data must stay untouched."""
    user, token = await make_user(container, email="grace@example.com")
    return user, bearer(token)


@pytest.fixture
async def admin(container):
    user, token = await make_user(container, email="admin@example.com", role="admin")
    return user, bearer(token)


@pytest.fixture
async def support(container):
    user, token = await make_user(container, email="support@example.com", role="support")
    return user, bearer(token)
