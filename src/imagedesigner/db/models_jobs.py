"""Job events: what a follower of a running generation sees (progress, partial images,
completion), in order, so ``GET /v1/jobs/{id}/events`` can resume from ``Last-Event-ID``.

Content: partial images are images of the user's prompt. Each event expires ``content_ttl``
after it was written, even when its generation is saved to the gallery (a saved item keeps its
outputs, not its progress), and goes with its generation before that.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped

from imagedesigner.db.base import Base, field, table_info

EVENTS = "content_ttl"


class JobEvent(Base):
    __tablename__ = "job_events"
    __table_args__ = (
        UniqueConstraint("generation_id", "seq"),
        table_info(
            user_link="user_id",
            description="Job events: progress, partial images and completion of a generation",
        ),
    )

    id: Mapped[int] = field(
        Integer, primary_key=True, autoincrement=True, category="content", retention=EVENTS
    )
    generation_id: Mapped[str] = field(
        String(40),
        ForeignKey("generations.id", ondelete="CASCADE"),
        index=True,
        category="content",
        retention=EVENTS,
    )
    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        index=True,
        category="content",
        retention=EVENTS,
    )
    seq: Mapped[int] = field(Integer, category="content", retention=EVENTS)
    type: Mapped[str] = field(String(40), category="content", retention=EVENTS)
    data: Mapped[dict] = field(JSON, default=dict, category="content", retention=EVENTS)
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="content", retention=EVENTS
    )
    expires_at: Mapped[datetime] = field(
        DateTime(timezone=True), index=True, category="content", retention=EVENTS
    )


class QueuedInput(Base):
    """A job's input while it waits for a dedicated worker (``job_queue = "procrastinate"``):
    the prompt, the parameters and an edit's uploads, AES-GCM-sealed in the blob store
    (``generation/sealed.py``). Deleted, blob first, the moment a worker reads it into memory,
    or when the job is cancelled, erased or expires. Not exported: a transient, encrypted copy
    of what the generation row and the request already hold."""

    __tablename__ = "queued_inputs"
    __table_args__ = table_info(
        user_link="user_id",
        description="Sealed inputs of jobs waiting for a worker (bytes in the blob store)",
        blob="blob_key",
    )

    generation_id: Mapped[str] = field(
        String(40),
        ForeignKey("generations.id", ondelete="CASCADE"),
        primary_key=True,
        category="content",
        retention=EVENTS,
        export=False,
    )
    user_id: Mapped[str] = field(
        String(40),
        ForeignKey("users.id", ondelete="CASCADE"),
        index=True,
        category="content",
        retention=EVENTS,
        export=False,
    )
    blob_key: Mapped[str] = field(String(80), category="content", retention=EVENTS, export=False)
    created_at: Mapped[datetime] = field(
        DateTime(timezone=True), category="content", retention=EVENTS, export=False
    )
    expires_at: Mapped[datetime] = field(
        DateTime(timezone=True), index=True, category="content", retention=EVENTS, export=False
    )
