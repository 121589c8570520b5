"""The audit trail: append-only events, chained by SHA-256.

Each event's hash covers the canonical JSON of its content plus the previous event's
hash, so changing, inserting or removing any event breaks the chain from that point on.
The database refuses UPDATE and DELETE (triggers, migration 0001), and each event's id is
its predecessor's + 1, so two writers can never fork the chain (the primary key refuses
the second).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from regie.clock import to_utc_naive
from regie.engine.storage import AnySession, Tx, as_datetime

GENESIS = "0" * 64
_COLUMNS = "id, at, actor, acting_for, action, proposal_id, meeting_id, payload, prev_hash, hash"


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime  # naive UTC
    actor: str
    acting_for: str | None
    action: str
    proposal_id: str | None
    meeting_id: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    at: datetime,
    actor: str,
    acting_for: str | None,
    action: str,
    proposal_id: str | None,
    meeting_id: str | None,
    payload_text: str,
    prev_hash: str,
) -> str:
    content = canonical(
        {
            "at": _stamp(at),
            "actor": actor,
            "acting_for": acting_for,
            "action": action,
            "proposal": proposal_id,
            "meeting": meeting_id,
            "payload": payload_text,
            "prev": prev_hash,
        }
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def append(
    tx: Tx,
    *,
    at: datetime,
    actor: str,
    action: str,
    proposal_id: str | None = None,
    meeting_id: str | None = None,
    acting_for: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append one event inside the caller's transaction."""
    at = to_utc_naive(at)
    payload = payload or {}
    payload_text = canonical(payload)
    tx.lock_chain()
    head = tx.one("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")
    new_id, prev = (int(head[0]) + 1, str(head[1])) if head else (1, GENESIS)
    digest = event_hash(
        at=at,
        actor=actor,
        acting_for=acting_for,
        action=action,
        proposal_id=proposal_id,
        meeting_id=meeting_id,
        payload_text=payload_text,
        prev_hash=prev,
    )
    # The id is the head's + 1: a second writer that read the same head fails on the primary
    # key instead of forking the chain.
    tx.execute(
        "INSERT INTO audit_event (id, at, actor, acting_for, action, proposal_id, meeting_id, "
        "payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id, at, actor, acting_for, action, proposal_id, meeting_id, payload_text, prev,
         digest),
    )  # fmt: skip
    return Event(
        int(new_id), at, actor, acting_for, action, proposal_id, meeting_id, payload, prev, digest
    )


def _row_to_event(row: tuple[Any, ...]) -> Event:
    at = as_datetime(row[1])
    assert at is not None
    return Event(
        int(row[0]), at, row[2], row[3], row[4], row[5], row[6], json.loads(row[7]), row[8], row[9]
    )


def events_for(session: AnySession, proposal_id: str) -> list[Event]:
    tx = Tx(session)
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM audit_event WHERE proposal_id = ? ORDER BY id", (proposal_id,)
    )
    return [_row_to_event(r) for r in rows]


def iter_events(session: AnySession, batch: int = 2000) -> Iterator[tuple[tuple[Any, ...], Event]]:
    """All events in chain order, read in batches (memory stays flat)."""
    tx = Tx(session)
    last = 0
    while True:
        rows = tx.all(
            f"SELECT {_COLUMNS} FROM audit_event WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
        )
        if not rows:
            return
        for row in rows:
            yield row, _row_to_event(row)
        last = int(rows[-1][0])


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    bad_event: int | None = None
    problem: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "bad_event": self.bad_event,
            "problem": self.problem,
        }


def verify(session: AnySession, progress: Callable[[int], None] | None = None) -> ChainReport:
    """Walk the chain; report the first event whose link or hash does not match."""
    prev = GENESIS
    count = 0
    for row, ev in iter_events(session):
        count += 1
        if ev.prev_hash != prev:
            return ChainReport(False, count, ev.id, "its link to the previous event is broken")
        expected = event_hash(
            at=ev.at,
            actor=ev.actor,
            acting_for=ev.acting_for,
            action=ev.action,
            proposal_id=ev.proposal_id,
            meeting_id=ev.meeting_id,
            payload_text=row[7],
            prev_hash=ev.prev_hash,
        )
        if expected != ev.hash:
            return ChainReport(False, count, ev.id, "its content does not match its hash")
        prev = ev.hash
        if progress is not None:
            progress(1)
    return ChainReport(True, count)


def count_events(session: AnySession) -> int:
    return int(Tx(session).scalar("SELECT COUNT(*) FROM audit_event") or 0)
