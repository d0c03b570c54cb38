"""The data map as code: every table and column of ``Base.metadata`` with its data category,
retention rule (resolved against the live settings), export flag, user link and blob column.

Export, erasure and the sweeper walk this map instead of hand-written table lists, and
:func:`scan` compares it with a real database the way a Fides-style scanner does: a column
that exists in the schema but is not declared here is reported, so it cannot silently escape
export or deletion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import Table, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from imagedesigner.config import Settings
from imagedesigner.db import all_models  # noqa: F401  (registers every table)
from imagedesigner.db.base import CATEGORIES, Base
from imagedesigner.kit.durations import humanize

# Categories holding personal data: such a table must say how it ties to a user.
PERSONAL = {"content", "account", "technical", "support", "consent", "key"}
# Tables the map does not govern (framework bookkeeping, no personal data).
IGNORED_TABLES = {"alembic_version"}

# Rules that are not one setting. Anything else must name a duration setting.
FIXED_RULES = {
    "until_account_deleted": "until the account is deleted",
    "until_hold_released": "while a legal hold is active, then with the account",
    "audit": "kept for accountability; pseudonymous references only, no content",
}
SETTING_RULES = {"content_ttl_unless_saved": "content_ttl"}


class UnknownRetentionRule(ValueError):
    pass


@dataclass(frozen=True)
class Retention:
    rule: str
    duration: timedelta | None
    description: str


@dataclass(frozen=True)
class ColumnEntry:
    name: str
    category: str
    retention: str
    export: bool


@dataclass(frozen=True)
class TableEntry:
    name: str
    table: Table
    user_link: str | None
    description: str
    blob: str | None
    columns: tuple[ColumnEntry, ...]
    export_as: str
    credential: bool

    @property
    def categories(self) -> set[str]:
        return {col.category for col in self.columns}

    @property
    def retention_rules(self) -> set[str]:
        return {col.retention for col in self.columns}

    @property
    def personal(self) -> bool:
        return bool(self.categories & PERSONAL)

    @property
    def exported_columns(self) -> list[str]:
        return [col.name for col in self.columns if col.export]

    def has(self, column: str) -> bool:
        return column in self.table.c


def _human(value: timedelta) -> str:
    """As the policy words it: '24 hours' rather than '1 day'."""
    seconds = int(value.total_seconds())
    if seconds < 2 * 86400 and seconds % 3600 == 0:
        return f"{seconds // 3600} hours"
    return humanize(value)


def resolve(rule: str, settings: Settings) -> Retention:
    if rule in FIXED_RULES:
        return Retention(rule, None, FIXED_RULES[rule])
    name = SETTING_RULES.get(rule, rule)
    value = getattr(settings, name, None)
    if not isinstance(value, timedelta):
        raise UnknownRetentionRule(f"retention rule {rule!r} names no duration setting")
    text = _human(value)
    if rule == "content_ttl_unless_saved":
        return Retention(rule, value, f"{text}, unless saved to the gallery (then until deleted)")
    return Retention(rule, value, f"{text} ({name.upper()})")


def _entry(table: Table) -> TableEntry:
    info = table.info or {}
    columns = tuple(
        ColumnEntry(
            name=col.name,
            category=col.info.get("category", ""),
            retention=col.info.get("retention", ""),
            export=bool(col.info.get("export", True)),
        )
        for col in table.columns
    )
    cats = {c.category for c in columns}
    return TableEntry(
        name=table.name,
        table=table,
        user_link=info.get("user_link"),
        description=info.get("description", ""),
        blob=info.get("blob"),
        columns=columns,
        export_as=info.get("export_as", table.name),
        credential=bool(info.get("credential")) or cats == {"key"},
    )


@cache
def data_map() -> dict[str, TableEntry]:
    """Every table, in dependency order (a table comes after the tables it references)."""
    return {t.name: _entry(t) for t in Base.metadata.sorted_tables}


def user_tables() -> list[TableEntry]:
    return [e for e in data_map().values() if e.user_link]


def deletion_order() -> list[TableEntry]:
    """User-linked tables, deepest first: children are deleted before the rows they reference."""
    return list(reversed(user_tables()))


def children(table_name: str) -> list[TableEntry]:
    """Tables with a foreign key to ``table_name`` (direct only)."""
    out = []
    for entry in data_map().values():
        if entry.name == table_name:
            continue
        if any(fk.column.table.name == table_name for fk in entry.table.foreign_keys):
            out.append(entry)
    return out


def problems(settings: Settings) -> list[str]:
    """Declarations that are missing or wrong in the map itself."""
    out = []
    for entry in data_map().values():
        for col in entry.columns:
            where = f"{entry.name}.{col.name}"
            if col.category not in CATEGORIES:
                out.append(f"{where}: no data category")
            try:
                resolve(col.retention, settings)
            except UnknownRetentionRule:
                out.append(f"{where}: retention rule {col.retention!r} does not resolve")
        if entry.personal and not entry.user_link:
            out.append(f"{entry.name}: personal data without a user_link")
        if entry.user_link and not entry.has(entry.user_link):
            out.append(f"{entry.name}: user_link {entry.user_link!r} is not a column")
        if entry.blob and not entry.has(entry.blob):
            out.append(f"{entry.name}: blob {entry.blob!r} is not a column")
    return out


def _db_columns(sync_conn) -> dict[str, list[str]]:
    insp = inspect(sync_conn)
    return {
        name: [c["name"] for c in insp.get_columns(name)]
        for name in insp.get_table_names()
        if name not in IGNORED_TABLES
    }


async def scan(engine: AsyncEngine) -> list[str]:
    """Every table or column in the live database that the map does not declare."""
    async with engine.connect() as conn:
        live = await conn.run_sync(_db_columns)
    known = data_map()
    gaps = []
    for table, cols in sorted(live.items()):
        entry = known.get(table)
        if entry is None:
            gaps.append(f"{table}: table not in the data map")
            continue
        declared = {c.name for c in entry.columns if c.category and c.retention}
        gaps.extend(
            f"{table}.{col}: column not in the data map" for col in cols if col not in declared
        )
    return gaps


def describe(settings: Settings) -> list[dict]:
    """The map as plain data (records of processing, docs)."""
    out = []
    for entry in data_map().values():
        out.append(
            {
                "table": entry.name,
                "description": entry.description,
                "user_link": entry.user_link,
                "blob": entry.blob,
                "categories": sorted(entry.categories),
                "columns": [
                    {
                        "name": c.name,
                        "category": c.category,
                        "retention": resolve(c.retention, settings).description,
                        "retention_rule": c.retention,
                        "export": c.export,
                    }
                    for c in entry.columns
                ],
            }
        )
    return out
