"""Tables for consents, rights requests, support tickets and their messages, legal holds and the audit log
(privacy engine, part 2). See db/base.py for the data map convention every column must follow.

``rights_requests`` and ``audit_log`` tie to no user: they hold only pseudonymous references
(an HMAC of the user id with the server secret), never an id, email or content.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped

from imagedesigner.db.base import Base, field, table_info

UNTIL_DELETED = "until_account_deleted"
TICKETS = "ticket_retention"
HOLD = "until_hold_released"
AUDIT = "audit"


def _user_fk(category: str, retention: str, **kw) -> Mapped[str]:
    return field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        index=True,
        category=category,
        retention=retention,
        **kw,
    )


class Consent(Base):
    """Append-only ledger: a grant or a withdrawal is a new row; the latest row per purpose wins."""

    __tablename__ = "consents"
    __table_args__ = table_info(
        user_link="user_id", description="Consent ledger: grants and withdrawals per purpose"
    )

    id: Mapped[str] = field(
        String(40), primary_key=True, category="consent", retention=UNTIL_DELETED
    )
    user_id: Mapped[str] = _user_fk("consent", UNTIL_DELETED)
    purpose: Mapped[str] = field(String(40), category="consent", retention=UNTIL_DELETED)
    granted: Mapped[bool] = field(Boolean, category="consent", retention=UNTIL_DELETED)
    at: Mapped[datetime] = field(
        DateTime(timezone=True), category="consent", retention=UNTIL_DELETED
    )
    policy_version: Mapped[str] = field(String(40), category="consent", retention=UNTIL_DELETED)


class SupportTicket(Base):
    __tablename__ = "support_tickets"
    __table_args__ = table_info(
        user_link="user_id", description="Support communications", export_as="tickets"
    )

    id: Mapped[str] = field(String(40), primary_key=True, category="support", retention=TICKETS)
    user_id: Mapped[str] = _user_fk("support", TICKETS)
    subject: Mapped[str] = field(String(200), category="support", retention=TICKETS)
    body: Mapped[str] = field(Text, category="support", retention=TICKETS)
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="support", retention=TICKETS
    )
    expires_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), index=True, nullable=True, category="support", retention=TICKETS
    )
    closed_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), nullable=True, category="support", retention=TICKETS
    )


class TicketMessage(Base):
    """A message on a ticket after it was opened: an answer from support, or the person's
    follow-up. Goes with its ticket (a child row: deleted, expired and held with it)."""

    __tablename__ = "ticket_messages"
    __table_args__ = table_info(
        user_link="user_id", description="Support communications: answers and follow-ups"
    )

    id: Mapped[str] = field(String(40), primary_key=True, category="support", retention=TICKETS)
    ticket_id: Mapped[str] = field(
        String(40),
        ForeignKey("support_tickets.id", ondelete="CASCADE"),
        index=True,
        category="support",
        retention=TICKETS,
    )
    user_id: Mapped[str] = _user_fk("support", TICKETS)  # the ticket's owner
    position: Mapped[int] = field(Integer, category="support", retention=TICKETS)  # 1, 2, ...
    author: Mapped[str] = field(String(10), category="support", retention=TICKETS)
    body: Mapped[str] = field(Text, category="support", retention=TICKETS)
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="support", retention=TICKETS
    )


class LegalHold(Base):
    """While a hold is active (``released_at`` NULL) the user's data survives sweeps and erasure.
    Not exported: disclosing a hold could prejudice the legal claim it preserves."""

    __tablename__ = "legal_holds"
    __table_args__ = table_info(user_link="user_id", description="Legal holds on a user's data")

    id: Mapped[str] = field(
        String(40), primary_key=True, category="audit", retention=HOLD, export=False
    )
    user_id: Mapped[str] = _user_fk("audit", HOLD, export=False)
    reason: Mapped[str] = field(String(500), category="audit", retention=HOLD, export=False)
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="audit", retention=HOLD, export=False
    )
    released_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), nullable=True, category="audit", retention=HOLD, export=False
    )
    created_by: Mapped[str] = field(String(80), category="audit", retention=HOLD, export=False)


class PendingErasure(Base):
    """The marker an erasure request leaves while the user is held; the sweep finishes it."""

    __tablename__ = "pending_erasures"
    __table_args__ = table_info(
        user_link="user_id", description="Erasure requested while under a legal hold"
    )

    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        category="account",
        retention=HOLD,
    )
    request_id: Mapped[str] = field(String(40), category="account", retention=HOLD)
    requested_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="account", retention=HOLD
    )


class RightsRequest(Base):
    """Evidence that each data-subject request met its deadline. Pseudonymous: no user link."""

    __tablename__ = "rights_requests"
    __table_args__ = table_info(
        user_link=None, description="Fulfilled data-subject requests (pseudonymous)"
    )

    id: Mapped[str] = field(String(40), primary_key=True, category="audit", retention=AUDIT)
    subject_ref: Mapped[str] = field(String(64), index=True, category="audit", retention=AUDIT)
    type: Mapped[str] = field(String(40), category="audit", retention=AUDIT)
    channel: Mapped[str] = field(String(20), category="audit", retention=AUDIT)
    received_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="audit", retention=AUDIT
    )
    due_at: Mapped[datetime] = field(DateTime(timezone=True), category="audit", retention=AUDIT)
    completed_at: Mapped[datetime | None] = field(
        DateTime(timezone=True), nullable=True, category="audit", retention=AUDIT
    )
    details: Mapped[dict] = field(JSON, default=dict, category="audit", retention=AUDIT)


class AuditEntry(Base):
    """Append-only (database triggers refuse UPDATE and DELETE). References only, no content."""

    __tablename__ = "audit_log"
    __table_args__ = table_info(
        user_link=None, description="Staff audit trail (pseudonymous references, no content)"
    )

    id: Mapped[int] = field(
        Integer, primary_key=True, autoincrement=True, category="audit", retention=AUDIT
    )
    at: Mapped[datetime] = field(DateTime(timezone=True), category="audit", retention=AUDIT)
    actor_ref: Mapped[str] = field(String(80), category="audit", retention=AUDIT)
    action: Mapped[str] = field(String(60), category="audit", retention=AUDIT)
    target_ref: Mapped[str] = field(String(80), category="audit", retention=AUDIT)
