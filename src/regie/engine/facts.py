"""The region's facts as the config put them in the database: the people, the bodies, the
roles, the calendar and the settings, read once per config generation and cached per
process (:func:`region_facts`).

Its own module because both sides of a change use them: the engine (:mod:`changes`, the
services) and the notices (:mod:`regie.notifications.recipients`, ``words``), which the
engine calls inside the change's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from regie.engine.calendar import WorkCalendar
from regie.engine.storage import Tx
from regie.errors import NotFound, UsageError


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
        calendar=WorkCalendar.from_setting(cal),
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
