"""Declarative base and the data map convention.

Every column is declared with :func:`field`, which records its data category and the retention
rule that governs it in ``Column.info``. Every table declares how it ties to a user in
``__table_args__["info"]``. Export, erasure and the sweeper walk this map (``privacy/datamap.py``),
and a test fails when a column exists without a declaration.

Categories: ``content`` (prompts, parameters, images), ``account``, ``technical`` (logs),
``support``, ``audit``, ``consent``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CATEGORIES = {"content", "account", "technical", "support", "audit", "consent", "key"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def field(*args: Any, category: str, retention: str, export: bool = True, **kwargs: Any) -> Any:
    """``mapped_column`` that declares the column's data category and retention rule.

    ``retention`` names the rule (e.g. ``content_ttl``, ``until_account_deleted``,
    ``log_retention``) that ``privacy/datamap.py`` resolves against the live settings.
    ``export=False`` marks secrets (password hashes, key hashes) left out of exports.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown data category {category!r}")
    info = dict(kwargs.pop("info", {}) or {})
    info.update(category=category, retention=retention, export=export)
    return mapped_column(*args, info=info, **kwargs)


def table_info(*, user_link: str | None, description: str, **extra: Any) -> dict[str, Any]:
    """Table-level data map entry. ``user_link``: the column tying a row to a user
    (``"id"`` for the users table itself, ``None`` for tables with no personal link)."""
    return {"info": {"user_link": user_link, "description": description, **extra}}
