"""Tables for request logs and web sessions (privacy engine, part 1). See db/base.py for the
data map convention every column must follow.

- ``request_logs``: the policy's "Technical and usage data (minimal)": one row per request, no
  body, no query string, no path parameters. The IP is truncated after ``ip_retention`` and the
  row deleted after ``log_retention`` (``privacy/requestlog.py`` sweep steps).
- ``web_sessions``: server-side browser sessions; the cookie holds a random token, the table
  only its SHA-256. Deleted at logout and when expired (sweep step).
- ``policy_acknowledgements``: the last policy version a signed-in user was shown, so a
  version bump shows a notice once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped

from imagedesigner.db.base import Base, field, table_info

LOGS = "log_retention"
IPS = "ip_retention"
SESSIONS = "session_ttl"
UNTIL_DELETED = "until_account_deleted"


class RequestLog(Base):
    __tablename__ = "request_logs"
    __table_args__ = table_info(
        user_link="user_id",
        description="Request log: time, client IP, method, route template, status, sizes, "
        "model, error code, latency, request id (no bodies, query strings or path parameters)",
    )

    id: Mapped[int] = field(
        Integer, primary_key=True, autoincrement=True, category="technical", retention=LOGS
    )
    time: Mapped[datetime] = field(
        DateTime(timezone=True), index=True, category="technical", retention=LOGS
    )
    ip: Mapped[str | None] = field(String(45), nullable=True, category="technical", retention=IPS)
    ip_truncated: Mapped[bool] = field(Boolean, default=False, category="technical", retention=LOGS)
    method: Mapped[str] = field(String(10), category="technical", retention=LOGS)
    route: Mapped[str] = field(String(200), category="technical", retention=LOGS)
    status: Mapped[int] = field(Integer, category="technical", retention=LOGS)
    request_bytes: Mapped[int] = field(Integer, default=0, category="technical", retention=LOGS)
    response_bytes: Mapped[int] = field(Integer, default=0, category="technical", retention=LOGS)
    model: Mapped[str | None] = field(
        String(100), nullable=True, category="technical", retention=LOGS
    )
    error_code: Mapped[str | None] = field(
        String(60), nullable=True, category="technical", retention=LOGS
    )
    latency_ms: Mapped[int] = field(Integer, default=0, category="technical", retention=LOGS)
    gpc: Mapped[bool] = field(Boolean, default=False, category="technical", retention=LOGS)
    # the random id sent back as ``x-request-id``: what a user quotes to support
    request_id: Mapped[str | None] = field(
        String(40), nullable=True, index=True, category="technical", retention=LOGS
    )
    user_id: Mapped[str | None] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
        category="technical",
        retention=LOGS,
    )


class WebSession(Base):
    __tablename__ = "web_sessions"
    __table_args__ = table_info(
        user_link="user_id",
        description="Browser sessions (SHA-256 of the cookie token only)",
    )

    id: Mapped[str] = field(
        String(64), primary_key=True, category="key", retention=SESSIONS, export=False
    )
    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        index=True,
        category="key",
        retention=SESSIONS,
    )
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="key", retention=SESSIONS
    )
    expires_at: Mapped[datetime] = field(
        DateTime(timezone=True), index=True, category="key", retention=SESSIONS
    )
    last_seen_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="key", retention=SESSIONS
    )


class PolicyAcknowledgement(Base):
    __tablename__ = "policy_acknowledgements"
    __table_args__ = table_info(
        user_link="user_id",
        description="Last privacy-policy version shown to the user (for the change notice)",
    )

    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        category="account",
        retention=UNTIL_DELETED,
    )
    policy_version: Mapped[str] = field(String(40), category="account", retention=UNTIL_DELETED)
    seen_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="account", retention=UNTIL_DELETED
    )
