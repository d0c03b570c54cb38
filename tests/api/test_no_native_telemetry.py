"""FastAPI's native OpenTelemetry stays off even where the environment configures a provider:
spans and HTTP metrics would carry paths and addresses to whatever exporter is set up (our own
metrics are /metrics, with checked labels)."""

from __future__ import annotations

from opentelemetry import trace


class RecordingProvider(trace.TracerProvider):
    """A configured provider (not the API's deferred proxy) that records every tracer asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get_tracer(self, instrumenting_module_name, *args, **kwargs):
        self.asked.append(instrumenting_module_name)
        return trace.NoOpTracer()


async def test_no_request_reaches_a_configured_tracer_provider(client, auth, monkeypatch):
    provider = RecordingProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/v1/models", headers=auth)).status_code == 200
    assert (await client.get("/v1/nothing-here")).status_code == 404
    assert provider.asked == []
