"""Docs keep up with the code: every setting is documented."""

from pathlib import Path

from imagedesigner.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented():
    text = (ROOT / "docs" / "settings.md").read_text()
    missing = [n for n in Settings.model_fields if f"IMAGEDESIGNER_{n.upper()}`" not in text]
    assert missing == []


def test_readme_states_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "scripts/serve" in readme and "scripts/test" in readme
    assert (ROOT / ".ci" / "run").read_text().count("scripts/test") >= 1
