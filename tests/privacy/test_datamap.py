"""Data map as code: every column of the migrated database is declared (category, retention),
every table with personal data says how it ties to a user, every retention rule resolves
against the live settings, and the map feeds the records of processing (admin only)."""

from __future__ import annotations

from sqlalchemy import text

from imagedesigner.privacy import datamap


async def test_every_db_column_is_declared_in_the_datamap(container):
    assert await datamap.scan(container.engine) == []


def test_personal_tables_have_user_link_and_rules_resolve(settings):
    assert datamap.problems(settings) == []
    personal = [e.name for e in datamap.data_map().values() if e.personal]
    assert {"users", "generations", "images", "consents", "support_tickets"} <= set(personal)
    content = datamap.resolve("content_ttl_unless_saved", settings)
    assert content.duration == settings.content_ttl
    assert datamap.resolve("ticket_retention", settings).duration == settings.ticket_retention


async def test_unmapped_column_fails_datamap(container):
    async with container.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE generations ADD COLUMN negative_prompt TEXT"))
        await conn.execute(text("CREATE TABLE shadow_copy (id TEXT, prompt TEXT)"))
    gaps = await datamap.scan(container.engine)
    assert "generations.negative_prompt: column not in the data map" in gaps
    assert "shadow_copy: table not in the data map" in gaps


def test_deletion_order_is_children_first():
    order = [e.name for e in datamap.deletion_order()]
    assert order.index("images") < order.index("generations") < order.index("users")
    assert order[-1] == "users"


async def test_records_of_processing_admin_only(client, auth, admin, support):
    assert (await client.get("/v1/admin/records-of-processing", headers=auth)).status_code == 403
    r = await client.get("/v1/admin/records-of-processing", headers=support[1])
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
    r = await client.get("/v1/admin/records-of-processing", headers=admin[1])
    assert r.status_code == 200
    body = r.json()
    cats = {a["category"]: a for a in body["activities"]}
    assert "content" in cats and "generations" in cats["content"]["tables"]
    assert any("24 hours" in rule for rule in cats["content"]["retention"])
    assert {t["table"] for t in body["data_map"]} >= {"users", "support_tickets", "audit_log"}
