"""Staff CLI (Children's Privacy, legal holds, staff-run rights requests, the audit log), run
through typer's CliRunner against a temporary data folder."""

from __future__ import annotations

import json
import zipfile

import pytest
from typer.testing import CliRunner

from imagedesigner.cli.main import app
from tests.conftest import find_in_files

runner = CliRunner()
EMAIL = "teen.canary.31@example.com"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMAGEDESIGNER_DATA_DIR", str(tmp_path / "data"))
    for name in ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "FAL_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def ok(args, **kw):
    r = runner.invoke(app, args, **kw)
    assert r.exit_code == 0, r.output
    return r.output


def _user(email=EMAIL):
    ok(["users", "create", "--email", email])


def _files_with(folder, needle: bytes):
    return find_in_files(folder, needle)


def test_underage_flag_erases_immediately(env):
    _user()
    _user("adult@example.com")
    out = ok(["users", "flag-underage", "--email", EMAIL])
    assert json.loads(out)["status"] == "erased"
    assert _files_with(env / "data", EMAIL.encode()) == []
    assert _files_with(env / "data", b"adult@example.com")
    audit = json.loads(ok(["audit", "--json"]))
    assert [e["action"] for e in audit] == ["underage-erasure"]
    assert audit[0]["actor"].startswith("cli:") and audit[0]["target"].startswith("subj_")
    r = runner.invoke(app, ["users", "flag-underage", "--email", EMAIL])
    assert r.exit_code == 2 and "no user" in r.output


def test_holds_cli_and_staff_rights_requests(env):
    _user()
    out = ok(["holds", "add", "--email", EMAIL, "--reason", "court order 7"])
    hold_id = out.split()[1]
    listing = ok(["holds", "list"])
    assert hold_id in listing and "ACTIVE" in listing and "court order 7" in listing

    zpath = env / "export.zip"
    ok(["rights", "export", "--email", EMAIL, "-o", str(zpath)])
    with zipfile.ZipFile(zpath) as zf:
        assert json.loads(zf.read("account.json"))["email"] == EMAIL

    assert json.loads(ok(["rights", "erase", "--email", EMAIL]))["status"] == "pending_legal_hold"
    assert _files_with(env / "data", EMAIL.encode()), "held: kept"
    ok(["holds", "release", hold_id])
    assert "released" in ok(["holds", "list"])
    r = runner.invoke(app, ["holds", "release", hold_id])
    assert r.exit_code == 2 and "already released" in r.output
    ok(["sweep"])
    assert _files_with(env / "data", EMAIL.encode()) == []

    actions = [e["action"] for e in json.loads(ok(["audit", "--json"]))]
    assert actions == [
        "hold-added",
        "rights-export",
        "rights-erasure-pending",
        "hold-released",
        "rights-erasure-completed",
    ]
    report = ok(["rights", "report"])
    assert "access" in report and "erasure" in report and "staff" in report
    assert "0 late or overdue" in report
    text = ok(["audit"])
    assert EMAIL not in text and "court order" not in text


def test_records_cli(env):
    body = json.loads(ok(["records"]))
    assert body["object"] == "records_of_processing"
    assert any(a["category"] == "support" for a in body["activities"])
