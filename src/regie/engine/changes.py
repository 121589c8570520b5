"""One change = one transaction: state update, audit event and outbox rows together.

:func:`begin` opens the write path for a service call: it resolves the acting person,
reads the region's facts, and returns a :class:`Change` whose :meth:`Change.record`
appends the audit event and queues the notices for it in the same transaction. The
service commits with :meth:`Change.commit`; any exception rolls everything back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from regie.clock import Clock, to_utc_naive
from regie.engine import audit
from regie.engine.calendar import WorkCalendar
from regie.engine.storage import AnySession, Tx
from regie.errors import NotFound, UsageError
from regie.notifications import outbox


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    party_id: str
    language: str


@dataclass(frozen=True)
class BodyFacts:
    id: str
    kind: str
    chair: str
    deadline_working_days: int


@dataclass(frozen=True)
class Roles:
    """The bodies that play a role in the rules of conduct (see region_structure)."""

    routing_body: str | None = None  # decides routes, sets the top meeting's agenda
    top_body: str | None = None  # the top meeting: news goes out after it
    news_bodies: tuple[str, ...] = ()  # whose members get the news from the top meeting


@dataclass(frozen=True)
class RegionFacts:
    """What the config put in the database, cached per process until the next init."""

    name: str
    coordinator: str
    language: str
    calendar: WorkCalendar
    bodies: dict[str, BodyFacts]
    roles: Roles
    people: dict[str, Actor]  # active people
    settings: dict[str, str]  # every region_setting row, JSON text
    cache: dict[Any, Any] = field(default_factory=dict)  # derived facts, same lifetime


_FACTS: dict[tuple[str, str], RegionFacts] = {}


def _database_key(tx: Tx) -> str:
    session: Any = tx.session
    db = getattr(session, "db", None)
    return str(db.url) if db is not None else str(session.get_bind().url)


def region_facts(tx: Tx) -> RegionFacts:
    cached = tx.session.info.get("regie_facts")
    if isinstance(cached, RegionFacts):
        return cached
    generation = tx.scalar("SELECT value FROM region_setting WHERE key = 'generation'")
    key = (_database_key(tx), str(generation))
    facts = _FACTS.get(key) if generation is not None else None
    if facts is None:
        facts = _load_facts(tx)
        if generation is not None:
            _FACTS[key] = facts
    tx.session.info["regie_facts"] = facts
    return facts


def _load_facts(tx: Tx) -> RegionFacts:
    rows = dict(tx.all("SELECT key, value FROM region_setting"))
    if "coordinator" not in rows:
        raise UsageError("the database holds no region yet; run 'regie init --config FILE'")
    cal = json.loads(rows.get("calendar", "{}"))
    bodies = {
        r[0]: BodyFacts(r[0], r[1], r[2], int(r[3]))
        for r in tx.all(
            "SELECT id, kind, chair_id, deadline_working_days FROM body WHERE active = ?", (True,)
        )
    }
    roles = json.loads(rows.get("roles", "{}"))
    return RegionFacts(
        name=json.loads(rows.get("name", '""')),
        coordinator=json.loads(rows["coordinator"]),
        language=json.loads(rows.get("language", '"nl"')),
        calendar=WorkCalendar(
            frozenset(date.fromisoformat(d) for d in cal.get("extra_closed_days", [])),
            frozenset(date.fromisoformat(d) for d in cal.get("open_days", [])),
        ),
        bodies=bodies,
        roles=Roles(
            routing_body=roles.get("routing_body"),
            top_body=roles.get("top_body"),
            news_bodies=tuple(roles.get("news_bodies", ())),
        ),
        settings=rows,
        people={
            r[0]: Actor(*r)
            for r in tx.all(
                "SELECT id, name, party_id, language FROM person WHERE active = ?", (True,)
            )
        },
    )


def load_actor(facts: RegionFacts, person_id: str | None) -> Actor:
    if not person_id:
        raise UsageError(
            "who is acting? pass --as PERSON-ID or set REGIE_USER (see 'regie people')"
        )
    actor = facts.people.get(person_id)
    if actor is None:
        raise NotFound("person", person_id, "see the people in your region config")
    return actor


class Change:
    """The write path of one service call."""

    def __init__(self, session: AnySession, clock: Clock, actor_id: str | None) -> None:
        self.session = session
        self.tx = Tx(session)
        self.now: datetime = to_utc_naive(clock.now())
        self.facts = region_facts(self.tx)
        self.actor = load_actor(self.facts, actor_id)

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


def begin(session: AnySession, clock: Clock, actor_id: str | None) -> Change:
    return Change(session, clock, actor_id)


def prepare(session: AnySession, clock: Clock) -> None:
    """Load, in a read transaction, what a write service would otherwise import, read or
    compute while it holds the write lock (issue 15): the region's facts and key, the
    modules the notices need, the workflows compiled, the public holidays around now.
    Everything lands in the per-process caches, so the write transaction that follows only
    reads rows, checks and writes. Nothing here fails a command: a problem (no region yet,
    an unknown workflow) is met again, and reported, inside the service."""
    from regie.engine import agenda_approval, keys, repository  # noqa: F401
    from regie.notifications import recipients  # words, labels, Jinja  # noqa: F401
    from regie.notifications.words import context_words

    tx = Tx(session)
    audit.origin()
    keys.session_key(session)
    if tx.scalar("SELECT value FROM region_setting WHERE key = 'coordinator'") is None:
        return
    facts = region_facts(tx)
    year = clock.now().year
    for y in (year - 1, year, year + 1):
        facts.calendar.is_working_day(date(y, 1, 1))  # loads the holidays library's tables
    for (digest,) in tx.all("SELECT digest FROM workflow_version"):
        repository.workflow_for(tx, digest)
        context_words(tx, digest=digest, payload={})
