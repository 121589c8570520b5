"""The outbox table (SQLModel). The schema is owned by migration 0002.

One row is one mail to one person. Rows are written with the lean ``Tx`` cursor in the
same transaction as the audit event that causes them (see :mod:`regie.notifications.outbox`);
this class describes the table for autogenerate and for readers.

Status: ``queued`` → ``sending`` (claimed for one attempt: ``attempt_id``, ``lease_until``;
``data_started_at`` once DATA was started) → ``sent`` | ``failed``;
``queued``/``failed`` → ``cancelled`` by hand; ``digest`` rows wait for the person's daily
digest and become ``digested`` (``digest_id`` names the digest row that carries them).
"""

from __future__ import annotations

from pydantic import NaiveDatetime as datetime  # stored as naive UTC
from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class Outbox(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_person_status", "person_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="audit_event.id", index=True)
    kind: str
    person_id: str = Field(foreign_key="person.id")
    email: str
    language: str = "nl"
    proposal_id: str | None = Field(default=None, index=True)
    meeting_id: str | None = None
    context: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    message_id: str | None = Field(default=None, unique=True)  # fixed at the first claim
    status: str = "queued"
    attempts: int = 0
    recovered: int = 0  # attempts stopped after DATA had started: it may have arrived (max 1)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_attempt_at: datetime
    lease_until: datetime | None = None
    attempt_id: str | None = None  # the claim now in progress (migration 0006)
    data_started_at: datetime | None = None  # DATA was started for that attempt (0006)
    created_at: datetime
    sent_at: datetime | None = None
    digest_id: int | None = Field(default=None, foreign_key="outbox.id")
