"""Human durations for settings: ``90s``, ``15m``, ``24h``, ``30d`` (also plain seconds)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError("duration must be a string such as 90s, 15m, 24h or 30d")
    match = _PATTERN.match(value)
    if not match:
        raise ValueError(
            f"invalid duration {value!r}: use a number with s, m, h, d or w (e.g. 24h)"
        )
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNITS[(unit or "s").lower()])


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def humanize(value: timedelta) -> str:
    """'24 hours', '30 days', '12 months' for the rendered policy."""
    seconds = int(value.total_seconds())
    if seconds % 86400 == 0:
        days = seconds // 86400
        if days % 365 == 0:
            months = days // 365 * 12
            return f"{months} months"
        return f"{days} day" + ("s" if days != 1 else "")
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute" + ("s" if minutes != 1 else "")
    return f"{seconds} seconds"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
