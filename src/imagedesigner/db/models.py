"""Core tables. Each column declares its data category and retention (see ``db/base.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped

from imagedesigner.db.base import Base, field, table_info

UNTIL_DELETED = "until_account_deleted"
CONTENT = "content_ttl_unless_saved"


class User(Base):
    __tablename__ = "users"
    __table_args__ = table_info(user_link="id", description="Accounts")

    id: Mapped[str] = field(
        String(40), primary_key=True, category="account", retention=UNTIL_DELETED
    )
    email: Mapped[str] = field(
        String(320), unique=True, index=True, category="account", retention=UNTIL_DELETED
    )
    password_hash: Mapped[str | None] = field(
        String(200), category="account", retention=UNTIL_DELETED, export=False
    )
    age_confirmed_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="account", retention=UNTIL_DELETED
    )
    role: Mapped[str] = field(
        String(20), default="user", category="account", retention=UNTIL_DELETED
    )
    restricted_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), nullable=True, category="account", retention=UNTIL_DELETED
    )
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="account", retention=UNTIL_DELETED
    )


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = table_info(user_link="user_id", description="API keys (hash only)")

    id: Mapped[str] = field(String(40), primary_key=True, category="key", retention=UNTIL_DELETED)
    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        index=True,
        category="key",
        retention=UNTIL_DELETED,
    )
    name: Mapped[str] = field(String(100), default="", category="key", retention=UNTIL_DELETED)
    prefix: Mapped[str] = field(String(16), category="key", retention=UNTIL_DELETED)
    key_hash: Mapped[str] = field(
        String(64), unique=True, index=True, category="key", retention=UNTIL_DELETED, export=False
    )
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="key", retention=UNTIL_DELETED
    )
    last_used_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), nullable=True, category="key", retention=UNTIL_DELETED
    )
    revoked_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), nullable=True, category="key", retention=UNTIL_DELETED
    )


class Generation(Base):
    """One request: prompt and parameters are content and expire with the outputs."""

    __tablename__ = "generations"
    __table_args__ = table_info(user_link="user_id", description="Prompts and parameters")

    id: Mapped[str] = field(String(40), primary_key=True, category="content", retention=CONTENT)
    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        index=True,
        category="content",
        retention=CONTENT,
    )
    model: Mapped[str] = field(String(100), category="content", retention=CONTENT)
    provider: Mapped[str] = field(String(40), category="content", retention=CONTENT)
    prompt: Mapped[str] = field(Text, category="content", retention=CONTENT)
    params: Mapped[dict] = field(JSON, default=dict, category="content", retention=CONTENT)
    warnings: Mapped[list] = field(JSON, default=list, category="content", retention=CONTENT)
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="content", retention=CONTENT
    )
    expires_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), index=True, nullable=True, category="content", retention=CONTENT
    )
    saved_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), nullable=True, category="content", retention=CONTENT
    )
    # --- the generation as a job (one record: history and jobs are the same row) ---------
    kind: Mapped[str] = field(
        String(12), default="generation", category="content", retention=CONTENT
    )
    status: Mapped[str] = field(
        String(12), default="succeeded", index=True, category="content", retention=CONTENT
    )
    progress: Mapped[dict] = field(JSON, default=dict, category="content", retention=CONTENT)
    error: Mapped[dict | None] = field(JSON, nullable=True, category="content", retention=CONTENT)
    result: Mapped[dict | None] = field(JSON, nullable=True, category="content", retention=CONTENT)
    response_format: Mapped[str] = field(
        String(10), default="b64_json", category="content", retention=CONTENT
    )
    webhook_url: Mapped[str | None] = field(
        Text, nullable=True, category="content", retention=CONTENT
    )
    started_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), nullable=True, category="content", retention=CONTENT
    )
    finished_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), nullable=True, category="content", retention=CONTENT
    )
    cancel_requested: Mapped[bool] = field(
        Boolean, default=False, category="content", retention=CONTENT
    )
    # which instance runs it, and when it last said so (a silent runner's jobs are failed)
    runner: Mapped[str | None] = field(
        String(64), nullable=True, category="content", retention=CONTENT, export=False
    )
    heartbeat_at: Mapped[datetime | None] = field(
        DateTime(timezone=True),
        nullable=True,
        index=True,
        category="content",
        retention=CONTENT,
        export=False,
    )


class StoredImage(Base):
    """An output image in the blob store (``blob_key``); expires with its generation."""

    __tablename__ = "images"
    __table_args__ = table_info(
        user_link="user_id", description="Output images (bytes in the blob store)", blob="blob_key"
    )

    id: Mapped[str] = field(String(40), primary_key=True, category="content", retention=CONTENT)
    generation_id: Mapped[str] = field(
        String(40),
        ForeignKey("generations.id", ondelete="CASCADE"),
        index=True,
        category="content",
        retention=CONTENT,
    )
    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        index=True,
        category="content",
        retention=CONTENT,
    )
    blob_key: Mapped[str] = field(
        String(80), unique=True, category="content", retention=CONTENT, export=False
    )
    media_type: Mapped[str] = field(String(40), category="content", retention=CONTENT)
    width: Mapped[int] = field(Integer, category="content", retention=CONTENT)
    height: Mapped[int] = field(Integer, category="content", retention=CONTENT)
    size_bytes: Mapped[int] = field(Integer, category="content", retention=CONTENT)
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="content", retention=CONTENT
    )
