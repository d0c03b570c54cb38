"""Webhooks: each account's signing secret (encrypted at rest), one delivery per finished job
that asked for a webhook, and every attempt to deliver it (no bodies, no headers, no URL).

A delivery and its attempts expire ``content_ttl`` after the job finished (the job's own
content may live on in the gallery; its deliveries do not), and go with their job before that.
The secret is a credential: it lives until the account is deleted (or the owner deletes or
replaces it) and is never exported.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped

from imagedesigner.db.base import Base, field, table_info

UNTIL_DELETED = "until_account_deleted"
DELIVERIES = "content_ttl"


class WebhookSecret(Base):
    __tablename__ = "webhook_secrets"
    __table_args__ = table_info(
        user_link="user_id",
        description="Webhook signing secrets (AES-GCM encrypted with a key derived from the "
        "server secret)",
    )

    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        category="key",
        retention=UNTIL_DELETED,
    )
    sealed: Mapped[str] = field(Text, category="key", retention=UNTIL_DELETED, export=False)
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="key", retention=UNTIL_DELETED
    )


class WebhookDelivery(Base):
    """The message for one finished job. ``id`` is the ``webhook-id`` header: the same for
    every retry."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = table_info(
        user_link="user_id", description="Webhook deliveries of finished jobs (state only)"
    )

    id: Mapped[str] = field(String(40), primary_key=True, category="content", retention=DELIVERIES)
    generation_id: Mapped[str] = field(
        String(40),
        ForeignKey("generations.id", ondelete="CASCADE"),
        unique=True,
        category="content",
        retention=DELIVERIES,
    )
    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        index=True,
        category="content",
        retention=DELIVERIES,
    )
    event_type: Mapped[str] = field(String(40), category="content", retention=DELIVERIES)
    # pending (an attempt is due at next_attempt_at), delivered, failed (gave up)
    status: Mapped[str] = field(
        String(12), default="pending", category="content", retention=DELIVERIES
    )
    attempts: Mapped[int] = field(Integer, default=0, category="content", retention=DELIVERIES)
    next_attempt_at: Mapped[datetime | None] = field(
        DateTime(timezone=True),
        nullable=True,
        index=True,
        category="content",
        retention=DELIVERIES,
    )
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="content", retention=DELIVERIES
    )
    finished_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), nullable=True, category="content", retention=DELIVERIES
    )
    expires_at: Mapped[datetime] = field(
        DateTime(timezone=True), index=True, category="content", retention=DELIVERIES
    )


class WebhookAttempt(Base):
    """One try: when, how long, and the answer's status code or the error's type. Nothing of
    what was sent or received."""

    __tablename__ = "webhook_attempts"
    __table_args__ = table_info(
        user_link="user_id",
        description="Webhook delivery attempts: time, duration, status code or error type",
    )

    id: Mapped[int] = field(
        Integer, primary_key=True, autoincrement=True, category="technical", retention=DELIVERIES
    )
    delivery_id: Mapped[str] = field(
        String(40),
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        index=True,
        category="technical",
        retention=DELIVERIES,
    )
    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        index=True,
        category="technical",
        retention=DELIVERIES,
    )
    number: Mapped[int] = field(Integer, category="technical", retention=DELIVERIES)
    attempted_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="technical", retention=DELIVERIES
    )
    status_code: Mapped[int | None] = field(
        Integer, nullable=True, category="technical", retention=DELIVERIES
    )
    error: Mapped[str | None] = field(
        String(40), nullable=True, category="technical", retention=DELIVERIES
    )
    duration_ms: Mapped[int] = field(Integer, category="technical", retention=DELIVERIES)
    expires_at: Mapped[datetime] = field(
        DateTime(timezone=True), index=True, category="technical", retention=DELIVERIES
    )
