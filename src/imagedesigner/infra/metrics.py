"""Prometheus instruments, in one registry, for any package to observe without the web framework.

Every label value is one of a small, fixed set that this code chooses: a route *template*
(``/v1/jobs/{job_id}``, never the raw path; ``unmatched`` when no route matched), an HTTP method
from a fixed list (else ``OTHER``), a status class (``2xx``), an error code of ours, a provider
name and model id from the catalog, a sweep item kind. No label carries a user, key, IP, prompt
or path: nothing a client sends becomes a label value as it was sent.

Multi-process (``serve --workers N``): the CLI sets ``PROMETHEUS_MULTIPROC_DIR`` to a fresh
folder before the workers start, and a scrape of any worker then adds up every worker's values
(prometheus-client's multiprocess mode). Without it each process counts for itself.

Jobs queued and running are not counted here: a scrape reads them from the database (see
:func:`render`), so every instance reports the same numbers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

__all__ = ["CONTENT_TYPE_LATEST", "render"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STATUS_CLASSES = ("0xx", "1xx", "2xx", "3xx", "4xx", "5xx")
_CODE = re.compile(r"[a-z0-9_]{1,48}")
JOB_STATES = ("queued", "running")

# request latencies: from well under a millisecond (the gateway's own overhead) to minutes
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
PROVIDER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 180, 300)
SWEEP_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800)

REGISTRY = CollectorRegistry()
if not os.environ.get(MULTIPROC_ENV):  # these two cannot add up across processes
    from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

    for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        REGISTRY.register(_collector)

REQUEST_SECONDS = Histogram(
    "imagedesigner_http_request_duration_seconds",
    "HTTP requests: time to the end of the response, by route template, method, status class.",
    ["route", "method", "status"],
    buckets=REQUEST_BUCKETS,
    registry=REGISTRY,
)
ERRORS = Counter(
    "imagedesigner_errors",
    "Error responses by their OpenAI error code (http_<status> where none was set).",
    ["code"],
    registry=REGISTRY,
)
GENERATION_SECONDS = Histogram(
    "imagedesigner_generation_duration_seconds",
    "Provider calls (retries included) by provider, model and outcome (ok or an error code).",
    ["provider", "model", "outcome"],
    buckets=PROVIDER_BUCKETS,
    registry=REGISTRY,
)
SWEEP_SECONDS = Histogram(
    "imagedesigner_sweep_duration_seconds",
    "Retention sweeps: how long each took, by outcome (ok or failed).",
    ["outcome"],
    buckets=SWEEP_BUCKETS,
    registry=REGISTRY,
)
SWEEP_ITEMS = Counter(
    "imagedesigner_sweep_items",
    "Items the retention sweeps removed or truncated, by kind.",
    ["kind"],
    registry=REGISTRY,
)

# label children by label tuple: the hot path is one dict look-up and one observe
_request_children: dict[tuple[str, str, int], object] = {}
_error_children: dict[str, object] = {}


def observe_request(
    route: str, method: str, status: int, seconds: float, code: str | None = None
) -> None:
    """One finished HTTP request (``route`` a template, or :data:`UNMATCHED`)."""
    key = (route, method, status)
    child = _request_children.get(key)
    if child is None:
        if method not in METHODS:
            method = "OTHER"
        klass = STATUS_CLASSES[status // 100] if 0 <= status < 600 else "0xx"
        child = REQUEST_SECONDS.labels(route, method, klass)
        if len(_request_children) < 4096:  # routes × methods × statuses: small, but bounded
            _request_children[key] = child
    child.observe(seconds)  # type: ignore[attr-defined]
    if status >= 400:
        count_error(code or f"http_{status}")


def count_error(code: str) -> None:
    child = _error_children.get(code)
    if child is None:
        child = ERRORS.labels(code if _CODE.fullmatch(code) else "other")
        if len(_error_children) < 1024:
            _error_children[code] = child
    child.inc()  # type: ignore[attr-defined]


def observe_generation(provider: str, model: str, outcome: str, seconds: float) -> None:
    outcome = outcome if _CODE.fullmatch(outcome) else "other"
    GENERATION_SECONDS.labels(provider, model, outcome).observe(seconds)


def observe_sweep(seconds: float, report: Mapping[str, int] | None) -> None:
    """A sweep that finished (``report``: its counts by kind) or failed (``None``)."""
    SWEEP_SECONDS.labels("ok" if report is not None else "failed").observe(seconds)
    for kind, n in (report or {}).items():
        if n:
            SWEEP_ITEMS.labels(kind).inc(n)


class _JobsSnapshot:
    """The job gauges as read from the database for this scrape."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "imagedesigner_jobs",
            "Jobs by state, read from the database at scrape time (the same on every instance).",
            labels=["state"],
        )
        for state in JOB_STATES:
            gauge.add_metric([state], self.counts.get(state, 0))
        yield gauge


def render(job_counts: Mapping[str, int]) -> bytes:
    """The exposition text: this process's (or, in multiprocess mode, every worker's)
    instruments, then the job gauges."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry = REGISTRY
    jobs = CollectorRegistry(auto_describe=False)
    jobs.register(_JobsSnapshot(job_counts))
    return generate_latest(registry) + generate_latest(jobs)
