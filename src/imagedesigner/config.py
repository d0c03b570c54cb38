"""Settings: environment variables with the ``IMAGEDESIGNER_`` prefix, and a ``.env`` file.

Every setting here is documented in ``docs/settings.md`` (a test checks that).
The bracketed numbers of the privacy policy are these settings; ``/privacy`` renders them live.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from imagedesigner.kit.durations import Duration


def _key(name: str) -> AliasChoices:
    return AliasChoices(f"IMAGEDESIGNER_{name}", name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IMAGEDESIGNER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- storage -------------------------------------------------------------------------
    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: sqlite+aiosqlite:///<data_dir>/imagedesigner.db
    blob_dir: Path | None = None  # default: <data_dir>/blobs
    blob_backend: Literal["local", "s3"] = "local"  # s3: a bucket shared by instances
    s3_bucket: str | None = None  # required when blob_backend is s3
    s3_prefix: str = "blobs/"
    s3_endpoint_url: str | None = None  # MinIO, R2, ...; default: AWS
    s3_region: str | None = None  # default: from the AWS config chain
    s3_access_key_id: SecretStr | None = None  # default: the standard AWS credential chain
    s3_secret_access_key: SecretStr | None = None
    s3_force_path_style: bool = False
    s3_sse: str | None = None  # server-side encryption header, e.g. "AES256"
    s3_provider_name: str = "Amazon Web Services (S3)"  # named on /privacy as a subprocessor
    s3_location: str = "US"  # where the bucket is, for /privacy

    # --- retention (policy: content <= [24 hours], logs <= [30 days], tickets [12 months]) -----
    content_ttl: Duration = timedelta(hours=24)
    sweep_interval: Duration = timedelta(seconds=60)
    store_b64_outputs: bool = False
    image_url_ttl: Duration = timedelta(hours=1)  # signed `url` results; never past the content
    log_retention: Duration = timedelta(days=30)
    ip_retention: Duration = timedelta(days=7)
    ipv4_truncate_prefix: int = 24
    ipv6_truncate_prefix: int = 48
    ticket_retention: Duration = timedelta(days=365)
    session_ttl: Duration = timedelta(days=14)

    # --- server --------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    allowed_hosts: list[str] = Field(default_factory=list)  # Host names trusted for image URLs
    max_request_bytes: int = 64 * 1024 * 1024
    trusted_proxies: list[str] = Field(default_factory=list)
    cloudflare: bool | None = None  # Cloudflare in front? default: yes when trusted_proxies set
    secret_key: SecretStr | None = None  # default: generated once into <data_dir>/secret.key
    rate_limit: str = "60/minute"  # per API key / account, `limits` notation; "" disables
    web_rate_limit: str = "600/minute"  # the account's signed-in browser: a budget of its own
    login_rate_limit: str = "10/minute"
    storage_uri: str = "memory://"  # `limits` storage: memory:// or redis://host:6379
    history_write_batch: Duration = timedelta(milliseconds=20)  # unkept sync jobs' rows, grouped
    key_cache_ttl: Duration = timedelta(seconds=10)  # API keys known without a look-up; 0 off
    request_log_batch: Duration = timedelta(milliseconds=50)  # rows grouped into one INSERT
    # while serving: allocations between young garbage collections (Python's own: 700), and
    # young collections between collections of the middle generation (Python's: 10); 0 leaves it
    gc_young_threshold: int = Field(10_000, ge=0)
    gc_middle_threshold: int = Field(100, ge=0)
    memory_trim_interval: Duration = timedelta(seconds=5)  # freed heap back to the system; 0 off
    memory_heap_keep: int = Field(64 * 2**20, ge=0)  # bytes of freed heap kept between trims; 0 off
    api_docs: bool = False  # serve /docs (a self-contained page); /openapi.json is always on
    metrics_token: SecretStr | None = None  # GET /metrics with "Bearer <token>"; unset: 404
    metrics_port: int | None = None  # also serve /metrics on this port (0: any free one)
    metrics_host: str = "127.0.0.1"  # the interface of metrics_port

    # --- accounts and policy -------------------------------------------------------------
    minimum_age: int = 16
    policy_version: str = "2025-09-12"
    policy_effective_date: str = "September 12, 2025"
    contact_email: str = "privacy@imagedesigner.ai"
    policy_controller: str = "Mirko Jahn"  # the contact named in the policy
    operator_name: str = "ImageDesigner.AI"  # the controller: who runs this server, on /privacy
    processing_location: str = "the United States"  # where this server processes data

    # --- generation ----------------------------------------------------------------------
    default_model: str | None = None  # default: local/sketch unless a provider key is set
    strict_parameters: bool = False
    max_prompt_chars: int = 32000
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_input_images: int = 16
    enable_retired_models: bool = False

    # --- providers -----------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(None, validation_alias=_key("OPENAI_API_KEY"))
    openai_base_url: str = "https://api.openai.com/v1"
    openai_send_safety_identifier: bool = True
    openrouter_api_key: SecretStr | None = Field(None, validation_alias=_key("OPENROUTER_API_KEY"))
    openrouter_base_url: str = "https://openrouter.ai/api/v1"
    fal_key: SecretStr | None = Field(None, validation_alias=_key("FAL_KEY"))
    fal_base_url: str = "https://fal.run"
    fal_queue_url: str = "https://queue.fal.run"
    provider_connect_timeout: Duration = timedelta(seconds=10)
    provider_timeout: Duration = timedelta(seconds=180)
    provider_max_response_bytes: int = 64 * 1024 * 1024
    provider_max_retries: int = 2
    provider_max_connections: int = 1000  # per provider: generations in flight at once

    # jobs: every generation and edit is one; these bound how many run and who may follow them
    job_concurrency: dict[str, int] = Field(
        default_factory=lambda: {"local": 2, "default": 1000}
    )  # jobs running at once per provider ("default": any provider not named)
    max_active_jobs: int = 32  # queued + running per account; past it 429 with Retry-After
    max_event_streams: int = 8  # open GET /v1/jobs/{id}/events streams per account
    job_heartbeat_interval: Duration = timedelta(seconds=2)
    job_stale_after: Duration = timedelta(seconds=15)  # a runner silent this long: interrupted
    job_queue: Literal["inline", "procrastinate"] = "inline"  # procrastinate: dedicated workers
    worker_concurrency: int = 64  # jobs one `imagedesigner worker` process runs at once

    # webhooks: a signed POST (Standard Webhooks) when a job that asked for one is finished
    webhook_allow_loopback: bool = False  # let webhook_url be 127.0.0.1/::1/localhost (tests)
    webhook_max_attempts: int = 5  # tries per delivery, the first one included
    webhook_backoff_base: Duration = timedelta(minutes=1)  # retry n waits base * 2**(n-1)
    webhook_timeout: Duration = timedelta(seconds=15)  # one attempt, connect to last header

    _secret: bytes | None = PrivateAttr(default=None)

    # ---------------------------------------------------------------------------------------
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'imagedesigner.db').resolve()}"

    def resolved_blob_dir(self) -> Path:
        return (self.blob_dir or self.data_dir / "blobs").resolve()

    def resolved_secret(self) -> bytes:
        """Server secret for HMACs. Generated on first use and kept in the data folder;
        read from disk once per process."""
        if self._secret is None:
            self._secret = self._load_secret()
        return self._secret

    def _load_secret(self) -> bytes:
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_hex(32))
            tmp.chmod(0o600)
            tmp.replace(path)
        return path.read_text().strip().encode()
