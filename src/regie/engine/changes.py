"""One change = one transaction: state update, audit event and outbox rows together.

:func:`begin` opens the write path for a service call: it resolves the acting person,
reads the region's facts, and returns a :class:`Change` whose :meth:`Change.record`
appends the audit event and queues the notices for it in the same transaction. The
service commits with :meth:`Change.commit`; any exception rolls everything back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from regie.clock import Clock, to_utc_naive
from regie.engine import audit
from regie.engine.calendar import WorkCalendar
from regie.engine.storage import Tx
from regie.errors import NotFound, UsageError
from regie.notifications import outbox


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    party_id: str
    language: str


@dataclass(frozen=True)
class RegionFacts:
    name: str
    coordinator: str
    calendar: WorkCalendar


def region_facts(tx: Tx) -> RegionFacts:
    cached = tx.session.info.get("regie_facts")
    if isinstance(cached, RegionFacts):
        return cached
    rows = dict(tx.all("SELECT key, value FROM region_setting"))
    if "coordinator" not in rows:
        raise UsageError("the database holds no region yet; run 'regie init --config FILE'")
    cal = json.loads(rows.get("calendar", "{}"))
    facts = RegionFacts(
        name=json.loads(rows.get("name", '""')),
        coordinator=json.loads(rows["coordinator"]),
        calendar=WorkCalendar(
            frozenset(date.fromisoformat(d) for d in cal.get("extra_closed_days", [])),
            frozenset(date.fromisoformat(d) for d in cal.get("open_days", [])),
        ),
    )
    tx.session.info["regie_facts"] = facts
    return facts


def load_actor(tx: Tx, person_id: str | None) -> Actor:
    if not person_id:
        raise UsageError(
            "who is acting? pass --as PERSON-ID or set REGIE_USER (see 'regie people')"
        )
    row = tx.one(
        "SELECT id, name, party_id, language FROM person WHERE id = ? AND active = ?",
        (person_id, True),
    )
    if row is None:
        raise NotFound("person", person_id, "see the people in your region config")
    return Actor(*row)


class Change:
    """The write path of one service call."""

    def __init__(self, session: Session, clock: Clock, actor_id: str | None) -> None:
        self.session = session
        self.tx = Tx(session)
        self.now: datetime = to_utc_naive(clock.now())
        self.facts = region_facts(self.tx)
        self.actor = load_actor(self.tx, actor_id)

    @property
    def is_coordinator(self) -> bool:
        return self.actor.id == self.facts.coordinator

    def record(
        self,
        action: str,
        *,
        proposal_id: str | None = None,
        meeting_id: str | None = None,
        acting_for: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> audit.Event:
        event = audit.append(
            self.tx,
            at=self.now,
            actor=self.actor.id,
            acting_for=acting_for or self.actor.party_id,
            action=action,
            proposal_id=proposal_id,
            meeting_id=meeting_id,
            payload=payload,
        )
        outbox.enqueue_for_event(self.tx, event)
        return event

    def commit(self) -> None:
        self.session.commit()


def begin(session: Session, clock: Clock, actor_id: str | None) -> Change:
    return Change(session, clock, actor_id)
