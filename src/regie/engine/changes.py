"""One change = one transaction: state update, audit event and outbox rows together.

:func:`begin` opens the write path for a service call: it resolves the acting person,
reads the region's facts, and returns a :class:`Change` whose :meth:`Change.record`
appends the audit event and queues the notices for it in the same transaction. The
service commits with :meth:`Change.commit`; any exception rolls everything back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from regie.clock import Clock, to_utc_naive
from regie.dispute import index as search_index
from regie.engine import audit
from regie.engine.facts import Actor, BodyFacts, RegionFacts, Roles, load_actor, region_facts
from regie.engine.storage import AnySession, Tx
from regie.notifications import outbox

# The region's facts live in regie.engine.facts; importers may still name them here.
__all__ = [
    "Actor",
    "BodyFacts",
    "Change",
    "RegionFacts",
    "Roles",
    "begin",
    "load_actor",
    "region_facts",
]


class Change:
    """The write path of one service call."""

    def __init__(self, session: AnySession, clock: Clock, actor_id: str | None) -> None:
        self.session = session
        self.tx = Tx(session)
        self.now: datetime = to_utc_naive(clock.now())
        self.facts = region_facts(self.tx)
        self.actor = self._actor(actor_id)
        self.events: list[audit.Event] = []  # recorded in this change, in order

    def _actor(self, actor_id: str | None) -> Actor:
        return load_actor(self.facts, actor_id)

    def _acting_for(self, acting_for: str | None) -> str | None:
        """Whom an event speaks for when the service does not say: the actor's party."""
        return acting_for or self.actor.party_id

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
            acting_for=self._acting_for(acting_for),
            action=action,
            proposal_id=proposal_id,
            meeting_id=meeting_id,
            payload=payload,
        )
        outbox.enqueue_for_event(self.tx, event)
        search_index.on_event(self.tx, event)  # the texts it carries, searchable (issue 19)
        self.events.append(event)
        return event

    def commit(self) -> None:
        self.session.commit()


def begin(session: AnySession, clock: Clock, actor_id: str | None) -> Change:
    return Change(session, clock, actor_id)
