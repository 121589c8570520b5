"""The contract between the parts of notifications.

engine Change.record(event) ──► outbox.enqueue_for_event(tx, event)
                                    │ recipients.notices_for_event(tx, event) -> [Notice]
                                    ▼
                               outbox rows (same transaction as the event)
sender (after commit) ──► claims rows ──► render.render_notice(tx, row) -> EmailMessage
                                    ──► SMTP ──► marks sent / retry / failed
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# What an outbox row can be (outbox.py); here so the CLI offers them without the engine.
QUEUED, SENDING, SENT, FAILED, CANCELLED = "queued", "sending", "sent", "failed", "cancelled"
DIGEST, DIGESTED = "digest", "digested"
STATUSES = (QUEUED, SENDING, SENT, FAILED, CANCELLED, DIGEST, DIGESTED)

SINK_PORT = 8025  # the local mail sink's port and the SMTP settings' default port


@dataclass(frozen=True)
class Notice:
    """One mail to one person, decided when the event happens; rendered when sent."""

    kind: str  # e.g. "submitted", "placed", "agenda", "decision_recorded", "decision_final"
    person_id: str
    email: str
    language: str  # "nl" | "en"
    proposal_id: str | None = None
    meeting_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)  # JSON-able facts for the template


@dataclass(frozen=True)
class OutboxRow:
    """A stored notice as the sender and the renderer see it."""

    id: int
    event_id: int
    kind: str
    person_id: str
    email: str
    language: str
    proposal_id: str | None
    meeting_id: str | None
    context: dict[str, Any]
    message_id: str  # stable, derived from the row: the same on every attempt
    status: str  # queued | sending | sent | failed | cancelled | digest
    attempts: int
    created_at: datetime
