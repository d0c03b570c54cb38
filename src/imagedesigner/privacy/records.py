"""Records of processing (GDPR Art. 30), built from the data map and the live settings, so
it cannot drift from what the code stores: per data category, its purpose and legal basis,
the tables and columns holding it, who receives it and how long it is kept."""

from __future__ import annotations

from imagedesigner.config import Settings
from imagedesigner.privacy.datamap import data_map, describe, resolve

PURPOSES = {
    "content": (
        "Generate the images you request and deliver them; keep saved gallery items",
        "Contract (Art. 6(1)(b)); consent for the gallery (Art. 6(1)(a))",
    ),
    "account": ("Run your account and authenticate you", "Contract (Art. 6(1)(b))"),
    "key": ("Authenticate API clients", "Contract (Art. 6(1)(b))"),
    "technical": (
        "Secure, rate-limit and debug the service",
        "Legitimate interests (Art. 6(1)(f))",
    ),
    "support": ("Resolve your support requests", "Contract / legitimate interests"),
    "consent": ("Prove consent and its withdrawal", "Legal obligation (Art. 7(1))"),
    "audit": (
        "Accountability: staff access, legal holds, rights requests",
        "Legal obligation (Art. 5(2), 17(3)(e)) / legitimate interests",
    ),
}
SECURITY = [
    "TLS in transit",
    "least-privilege staff roles (support, admin) with an append-only audit log",
    "API keys stored as SHA-256 hashes; passwords as argon2",
    "webhook signing secrets encrypted at rest (AES-256-GCM, key derived from the server "
    "secret); webhooks only to public https URLs, checked again at connect time",
    "SQLite secure_delete and WAL truncation after deletions",
]


def _recipients(registry) -> list[dict]:
    if registry is None:
        return []
    seen: dict[str, dict] = {}
    for model, available in registry.models():
        entry = seen.setdefault(
            model.provider,
            {
                "provider": model.provider,
                "subprocessor": model.subprocessor,
                "enabled": False,
                "data": "prompts, parameters, uploads",
            },
        )
        entry["enabled"] = entry["enabled"] or bool(available)
    return sorted(seen.values(), key=lambda e: e["provider"])


def records_of_processing(settings: Settings, registry=None) -> dict:
    by_category: dict[str, dict] = {}
    for entry in data_map().values():
        for col in entry.columns:
            purpose, basis = PURPOSES.get(col.category, ("unspecified", "unspecified"))
            item = by_category.setdefault(
                col.category,
                {
                    "category": col.category,
                    "purpose": purpose,
                    "legal_basis": basis,
                    "tables": {},
                    "retention": set(),
                },
            )
            item["tables"].setdefault(entry.name, []).append(col.name)
            item["retention"].add(resolve(col.retention, settings).description)
    activities = [
        {**v, "retention": sorted(v["retention"])} for _, v in sorted(by_category.items())
    ]
    return {
        "object": "records_of_processing",
        "controller_contact": settings.contact_email,
        "policy_version": settings.policy_version,
        "activities": activities,
        "recipients": _recipients(registry),
        "transfers": "United States (model providers), US/EU (Cloudflare); SCCs where required",
        "security_measures": SECURITY,
        "data_map": describe(settings),
    }
