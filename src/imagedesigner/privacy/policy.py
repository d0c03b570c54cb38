"""The published policy rendered with the live settings (pages: ``web/policy.py``).

The text is ``privacy/policy.txt`` (a Jinja template of the published policy). Its bracketed
numbers are the settings (``content_ttl``, ``log_retention``, ``ticket_retention`` ...); the
provider list and the subprocessor table come from the model catalogue (only providers this
server has enabled receive content); Cloudflare is listed when it is in front
(``IMAGEDESIGNER_CLOUDFLARE``, default: when ``IMAGEDESIGNER_TRUSTED_PROXIES`` is set).

Served as ``GET /privacy`` and ``/privacy.txt`` (``web/policy.py``) and as JSON at
``GET /v1/privacy/policy`` (``api/policy.py``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import jinja2
from markupsafe import Markup, escape

from imagedesigner.config import Settings
from imagedesigner.kit.durations import humanize
from imagedesigner.providers.registry import ProviderRegistry


class Container(Protocol):
    """What the policy is rendered from: the live settings and the model catalogue."""

    settings: Settings
    registry: ProviderRegistry


TEXT = Path(__file__).with_name("policy.txt")
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEXT.parent)),
    autoescape=False,  # noqa: S701 - plain text; the HTML page escapes every line it shows
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)

GENERATION = "Prompts, parameters, uploads"
CLOUDFLARE = {
    "key": "cloudflare",
    "name": "Cloudflare",
    "purpose": "CDN, DDoS protection, edge security, caching",
    "location": "US/EU (global network)",
    "data": "IP address, request metadata, logs, cached assets",
    "policy": "https://www.cloudflare.com/privacypolicy/",
    "enabled": True,
    "detail": "",
}


def human(value: timedelta) -> str:
    """``humanize``, but a day-sized content TTL reads as the policy does: "24 hours"."""
    seconds = int(value.total_seconds())
    if seconds == 86400:
        return "24 hours"
    return humanize(value)


def cloudflare_in_front(settings: Settings) -> bool:
    if settings.cloudflare is not None:
        return settings.cloudflare
    return bool(settings.trusted_proxies)


def subprocessors(c: Container) -> list[dict]:
    """One row per external provider in the model catalogue (+ Cloudflare when in front);
    each provider's row is its own metadata (``registry.subprocessors()``)."""
    rows = [
        {
            "key": sub.provider,
            "name": sub.info.name,
            "models": sub.info.models,
            "purpose": sub.info.purpose,
            "location": "US",
            "data": f"{GENERATION}. {sub.info.note}" if sub.info.note else GENERATION,
            "policy": sub.info.policy_url,
            "enabled": sub.enabled,
            "detail": "; ".join(sub.details),
        }
        for sub in c.registry.subprocessors()
    ]
    if c.settings.blob_backend == "s3":
        rows.append(
            {
                "key": "object-storage",
                "name": c.settings.s3_provider_name,
                "purpose": "Storage of generated images until they expire or are deleted",
                "location": c.settings.s3_location,
                "data": "Generated images (no prompts, no account data)",
                "policy": "see the provider's website",
                "enabled": True,
                "detail": f"bucket {c.settings.s3_bucket}",
            }
        )
    if cloudflare_in_front(c.settings):
        rows.append(dict(CLOUDFLARE))
    return rows


def values(c: Container) -> dict:
    s = c.settings
    rows = subprocessors(c)
    return {
        "version": s.policy_version,
        "effective_date": s.policy_effective_date,
        "contact_email": s.contact_email,
        "controller": s.policy_controller,
        "content_ttl": human(s.content_ttl),
        "log_retention": human(s.log_retention),
        "ip_retention": human(s.ip_retention),
        "ticket_retention": human(s.ticket_retention),
        "session_ttl": human(s.session_ttl),
        "ipv4_prefix": s.ipv4_truncate_prefix,
        "ipv6_prefix": s.ipv6_truncate_prefix,
        "minimum_age": s.minimum_age,
        "enabled_providers": [
            r for r in rows if r["enabled"] and r["key"] not in ("cloudflare", "object-storage")
        ],
        "local_enabled": any(m.provider == "local" and a for m, a in c.registry.models()),
        "subprocessors": rows,
        "cloudflare": cloudflare_in_front(s),
    }


def render_text(c: Container) -> str:
    return _env.get_template(TEXT.name).render(**values(c))


_URL = re.compile(r"https?://[^\s|)]+")


def _inline(text: str) -> Markup:
    """Escape a line; turn URLs into links."""
    out, last = [], 0
    for m in _URL.finditer(text):
        out.append(escape(text[last : m.start()]))
        url = m.group(0)
        out.append(Markup('<a href="{0}" rel="noopener noreferrer">{0}</a>').format(url))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def blocks(text: str) -> list[dict]:
    """The policy text as blocks for the HTML page: h1/h2/h3, p, ul, table."""
    out: list[dict] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        if line.startswith("|"):
            cells = [_inline(cell.strip()) for cell in line.strip("|").split("|")]
            if all(set(str(cell)) <= {"-", ":", " "} for cell in cells):
                continue  # the |---| separator
            if out and out[-1]["kind"] == "table":
                out[-1]["rows"].append(cells)
            else:
                out.append({"kind": "table", "head": cells, "rows": []})
        elif line.startswith("- "):
            if out and out[-1]["kind"] == "ul":
                out[-1]["items"].append(_inline(line[2:]))
            else:
                out.append({"kind": "ul", "items": [_inline(line[2:])]})
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append({"kind": f"h{min(level, 3)}", "text": _inline(line.lstrip("#").strip())})
        else:
            out.append({"kind": "p", "text": _inline(line)})
    return out
