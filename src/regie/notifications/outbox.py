"""The durable outbox: notice rows written in the same transaction as their event.

Until the e-mail issue lands this only defines the hook the engine calls; it queues
nothing.
"""

from __future__ import annotations

from regie.engine.audit import Event
from regie.engine.storage import Tx


def enqueue_for_event(tx: Tx, event: Event) -> int:
    """Queue the notices an event causes; returns how many were queued."""
    del tx, event
    return 0
