"""Who runs this server: /privacy names the controller, its contact and where processing happens
from the settings; ``imagedesigner serve`` warns when it listens beyond loopback with the
published policy's example company still configured."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from imagedesigner.cli.main import app as cli
from imagedesigner.privacy.policy import is_loopback, operator_warning
from tests.conftest import make_settings

OPERATOR = {
    "operator_name": "Bildwerk GmbH",
    "policy_controller": "Erika Mustermann",
    "contact_email": "datenschutz@bildwerk.example",
    "processing_location": "Germany (Falkenstein)",
}


@pytest.mark.parametrize("settings_overrides", [OPERATOR])
async def test_privacy_names_the_operator_from_settings(client):
    html = (await client.get("/privacy")).text
    text = (await client.get("/privacy.txt")).text
    for expected in OPERATOR.values():
        assert expected in text and expected in html, expected
    assert "Controller: Bildwerk GmbH" in text
    assert "This server processes data in Germany (Falkenstein)." in text
    assert "ImageDesigner.AI (the “Service”)" in text, "the service keeps its name"
    assert "Mirko Jahn" not in text and "privacy@imagedesigner.ai" not in text
    data = (await client.get("/v1/privacy/policy")).json()
    assert data["operator"] == {
        "name": "Bildwerk GmbH",
        "contact_person": "Erika Mustermann",
        "contact_email": "datenschutz@bildwerk.example",
        "processing_location": "Germany (Falkenstein)",
    }


def test_operator_warning_only_beyond_loopback_with_the_example(tmp_path):
    example = make_settings(tmp_path)
    assert operator_warning(example, "127.0.0.1") is None
    assert operator_warning(example, "::1") is None
    assert operator_warning(example, "localhost") is None
    warning = operator_warning(example, "0.0.0.0")  # noqa: S104 - the case under test
    assert warning and "IMAGEDESIGNER_OPERATOR_NAME" in warning
    assert "IMAGEDESIGNER_CONTACT_EMAIL" in warning
    own = make_settings(tmp_path, **OPERATOR)
    assert operator_warning(own, "0.0.0.0") is None  # noqa: S104
    half = make_settings(tmp_path, operator_name="Bildwerk GmbH")
    assert "IMAGEDESIGNER_CONTACT_EMAIL" in operator_warning(half, "203.0.113.5")
    assert "IMAGEDESIGNER_OPERATOR_NAME" not in operator_warning(half, "203.0.113.5")
    assert not is_loopback("example.org") and is_loopback("[::1]")


@pytest.fixture
def serve_env(tmp_path, monkeypatch):
    """``imagedesigner serve`` up to the point where uvicorn would listen."""
    import uvicorn

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMAGEDESIGNER_DATA_DIR", str(tmp_path / "data"))
    for name in ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "FAL_KEY", *map(str.upper, OPERATOR)):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"IMAGEDESIGNER_{name}", raising=False)
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    return calls


def _serve(args) -> list[str]:
    """The warnings ``serve`` logs (to standard error, through the service's log handler)."""
    result = CliRunner().invoke(cli, ["serve", *args])
    assert result.exit_code == 0, result.output
    logging.getLogger().handlers.clear()  # serve configured logging for the process
    return [line for line in result.stderr.splitlines() if "WARNING imagedesigner.serve" in line]


def test_serve_warns_on_a_public_address_with_the_example_company(serve_env, monkeypatch):
    public = _serve(["--host", "0.0.0.0"])  # noqa: S104
    assert len(public) == 1 and "example operator" in public[0], public
    assert serve_env[-1]["host"] == "0.0.0.0"  # noqa: S104
    assert _serve(["--host", "127.0.0.1"]) == [], "loopback: a laptop, no warning"
    for name, value in OPERATOR.items():
        monkeypatch.setenv(f"IMAGEDESIGNER_{name.upper()}", value)
    assert _serve(["--host", "0.0.0.0"]) == [], "configured: no warning"  # noqa: S104
