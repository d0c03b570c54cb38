from datetime import timedelta

import pytest

from imagedesigner.config import Settings
from imagedesigner.kit.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", 90), ("15m", 900), ("24h", 86400), ("30d", 2592000), ("45", 45), ("1.5h", 5400)],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == timedelta(seconds=expected)


@pytest.mark.parametrize("bad", ["", "soon", "10y", "-5m", "h"])
def test_bad_durations_are_refused(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_settings_read_durations_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("IMAGEDESIGNER_CONTENT_TTL", "90s")
    monkeypatch.setenv("IMAGEDESIGNER_SWEEP_INTERVAL", "15m")
    s = Settings(_env_file=None)
    assert s.content_ttl == timedelta(seconds=90)
    assert s.sweep_interval == timedelta(minutes=15)
    assert format_duration(s.content_ttl) == "90s"


def test_env_file_is_honoured(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("IMAGEDESIGNER_CONTENT_TTL=2h\nIMAGEDESIGNER_DATA_DIR=/tmp/x\n")
    s = Settings(_env_file=env)
    assert s.content_ttl == timedelta(hours=2)
    assert str(s.data_dir) == "/tmp/x"
