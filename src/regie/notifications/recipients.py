"""Who gets what: the notices an audit event causes.

Runs inside the event's transaction on the hot write path, so it stays lean: events
that cause no mail cost no query; the others read the proposal and the meeting (one
query each), then every recipient group in one UNION query. A person gets one notice
per event, of the first kind whose groups include them (see ``EVENT_KINDS``); the person
who acted gets none, unless through the group ``actor`` (the receipt of a submission).

The notice's context holds the facts as they were when the event happened, so a mail
sent later tells what happened then; it is JSON-able and enough to render the mail,
including the region's words for it (:mod:`regie.notifications.words`, cached per config
generation: no query on the hot path).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from regie.clock import to_local
from regie.engine.audit import Event
from regie.engine.calendar import WorkCalendar, working_days_after
from regie.engine.facts import RegionFacts, region_facts
from regie.engine.storage import Tx, as_datetime
from regie.notifications.kinds import CONFIRM_WORKING_DAYS, EVENT_KINDS, rules_from_setting
from regie.notifications.types import Notice
from regie.notifications.words import context_words

_RULES_KEY = "regie_notify_rules"
_ACTOR_RANK = -1  # the actor's row only gives their name; it is not a recipient
_COORDINATOR_RANK = -2  # nor is this row: the coordinator's name and address, for footers
_CONFIRM_KINDS = frozenset({"decision_recorded", "decision_amended"})  # get confirm_by


def notices_for_event(tx: Tx, event: Event) -> list[Notice]:
    """The notices ``event`` causes, one per person; [] for events that cause none."""
    return event_notices(tx, event)[0]


def event_notices(tx: Tx, event: Event) -> tuple[list[Notice], list[str]]:
    """The notices ``event`` causes and, for each, its context as the outbox stores it:
    what :func:`context_json` gives, with the part all recipients share written once."""
    kinds = EVENT_KINDS.get(event.action) or EVENT_KINDS.get(
        f"{event.action}:{event.payload.get('rule', '')}"  # the scheduler's events
    )
    if not kinds:
        return [], []
    rules = _rules(tx)
    wanted = [(kind, rules[kind]) for kind in kinds if rules[kind]]
    if not wanted:
        return [], []
    facts = _facts(tx, event)
    rows = _people(tx, event, facts, wanted)
    base = _context(tx, event, facts)
    if _CONFIRM_KINDS.intersection(kinds):
        day = to_local(event.at).date()
        base["confirm_by"] = working_days_after(
            region_facts(tx).calendar, day, CONFIRM_WORKING_DAYS
        ).isoformat()
    notices: list[Notice] = []
    texts: list[str] = []
    shared: _SharedJSON | None = None
    seen: set[str] = set()
    for rank, person_id, email, language, name, detail in rows:
        if rank < 0:
            base.update(
                {"actor_name": name}
                if rank == _ACTOR_RANK
                else {"coordinator_name": name, "coordinator_email": email}
            )
            shared = None
            continue
        kind, groups = wanted[rank // 100]
        if person_id in seen or (person_id == event.actor and groups[rank % 100] != "actor"):
            continue  # one notice per person; none of their own action but a receipt
        seen.add(person_id)
        context = {**base, "recipient_name": name}
        if detail:
            context["news_body"] = detail  # the recipient's body that gets the news
        shared = shared or _SharedJSON(base)
        texts.append(shared.text(name, detail or None))
        notices.append(
            Notice(
                kind=kind,
                person_id=person_id,
                email=email,
                language=language if language in ("nl", "en") else "nl",
                proposal_id=event.proposal_id,
                meeting_id=facts.get("meeting_id"),
                context=context,
            )
        )
    return notices, texts


# The stored form of a notice's context (outbox.context): json.dumps(context,
# ensure_ascii=False, sort_keys=True, default=str), with one encoder for all calls.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
_OWN = ("news_body", "recipient_name")  # each recipient's own keys, in sorted order


def context_json(context: dict[str, Any]) -> str:
    return _ENCODER.encode(context)


class _SharedJSON:
    """The JSON of one event's contexts: the shared keys are written once, split where
    each recipient's own keys fall in the sorted order, and joined with those per
    recipient; the text is that of :func:`context_json` of the whole context."""

    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base if any(k in base for k in _OWN) else None  # then: no splitting
        groups: list[dict[str, Any]] = [{}, {}, {}]
        for key, value in base.items():
            groups[sum(key > own for own in _OWN)][key] = value
        self.parts = [_ENCODER.encode(g)[1:-1] for g in groups]

    def text(self, name: str, news_body: str | None) -> str:
        if self.base is not None:
            own = {"recipient_name": name} | ({"news_body": news_body} if news_body else {})
            return context_json({**self.base, **own})
        first, middle, last = self.parts
        items = [first]
        if news_body:
            items.append('"news_body": ' + _ENCODER.encode(news_body))
        items += [middle, '"recipient_name": ' + _ENCODER.encode(name), last]
        return "{" + ", ".join(item for item in items if item) + "}"


def _rules(tx: Tx) -> dict[str, tuple[str, ...]]:
    cached = tx.session.info.get(_RULES_KEY)
    if isinstance(cached, dict):
        return cached
    facts = tx.session.info.get("regie_facts")  # read by the change that caused the event
    if isinstance(facts, RegionFacts):
        rules = _parsed_rules(facts.settings.get("notifications"))
    else:
        value = tx.scalar("SELECT value FROM region_setting WHERE key = 'notifications'")
        rules = rules_from_setting(value)
    tx.session.info[_RULES_KEY] = rules
    return rules


@lru_cache(maxsize=8)
def _parsed_rules(value: str | None) -> dict[str, tuple[str, ...]]:
    return rules_from_setting(value)


# -- facts ------------------------------------------------------------------------------


def _facts(tx: Tx, event: Event) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if event.proposal_id:
        facts.update(_proposal_facts(tx, event.proposal_id))
        if facts.get("addressee") and event.action == "confirmed":  # the advice's mail
            facts["addressee_name"] = _addressee_name(tx, str(facts["addressee"]))
    meeting_id = event.payload.get("meeting") or event.meeting_id
    if isinstance(meeting_id, str):
        facts.update(_meeting_facts(tx, meeting_id, region_facts(tx).calendar))
    return facts


def _addressee_name(tx: Tx, addressee: str) -> str:
    """``party:<id>`` or ``body:<id>`` as people name it (a party's short name)."""
    kind, _, ident = addressee.partition(":")
    column = "COALESCE(short_name, name)" if kind == "party" else "name"
    table = "party" if kind == "party" else "body"
    return str(tx.scalar(f"SELECT {column} FROM {table} WHERE id = ?", (ident,)) or "")


def _proposal_facts(tx: Tx, proposal_id: str) -> dict[str, Any]:
    row = tx.one(
        "SELECT p.title, p.purpose, p.summary, p.documents, p.table_id, b.name, b.chair_id, "
        "p.admin_lead, p.official_lead, p.stage, p.state, p.workflow_digest, p.addressee, "
        "b.article, r.earlier_id, e.title, r.reason FROM proposal p "
        "JOIN body b ON b.id = p.table_id LEFT JOIN revisit r ON r.proposal_id = p.id "
        "LEFT JOIN proposal e ON e.id = r.earlier_id WHERE p.id = ?",
        (proposal_id,),
    )
    if row is None:
        return {}
    return {
        "proposal_id": proposal_id,
        "title": row[0],
        "purpose": row[1],
        "summary": row[2],
        "documents": json.loads(row[3] or "[]"),
        "table_id": row[4],
        "table_name": row[5],
        "table_article": row[13] or "de",
        "table_chair": row[6],
        "leads": [lead for lead in (row[7], row[8]) if lead],
        "stage": row[9],
        "state": row[10],
        "workflow_digest": row[11],
        "addressee": row[12],
        # the earlier decision it consciously reopens (regie submit --revisits, issue 19):
        # every mail about the proposal says so
        "reopens": {"proposal": row[14], "title": row[15], "reason": row[16]} if row[14] else None,
    }


def _meeting_facts(tx: Tx, meeting_id: str, calendar: WorkCalendar) -> dict[str, Any]:
    row = tx.one(
        "SELECT m.body_id, b.name, b.kind, b.chair_id, m.starts_at, m.ends_at, m.location, "
        "m.sequence, m.status, b.article, b.deadline_working_days "
        "FROM meeting m JOIN body b ON b.id = m.body_id WHERE m.id = ?",
        (meeting_id,),
    )
    if row is None:
        return {}
    starts, ends = as_datetime(row[4]), as_datetime(row[5])
    assert starts is not None and ends is not None
    due = calendar.deadline(to_local(starts).date(), int(row[10] or 0))
    return {
        "meeting_id": meeting_id,
        "body_id": row[0],
        "body_name": row[1],
        "body_article": row[9] or "de",
        "body_kind": row[2],
        "body_chair": row[3],
        "starts_at": to_local(starts).isoformat(),
        "ends_at": to_local(ends).isoformat(),
        "location": row[6] or "",
        "sequence": int(row[7] or 0),
        "meeting_status": row[8],
        "documents_due": due.isoformat(),  # the body's document deadline for this meeting
    }


def _context(tx: Tx, event: Event, facts: dict[str, Any]) -> dict[str, Any]:
    """What the templates see: facts at event time, the event's own payload and the
    region's words for them."""
    hidden = ("table_chair", "body_chair", "workflow_digest")
    context = {k: v for k, v in facts.items() if k not in hidden}
    context.update(
        {
            "event_id": event.id,
            "action": event.action,
            "actor": event.actor,
            "actor_name": event.actor,
            "at": event.at.isoformat() + "Z",
            "region": region_facts(tx).name,
            "coordinator_name": region_facts(tx).coordinator,  # the query gives the name
            "coordinator_email": "",
            "payload": event.payload,
        }
    )
    context.update(context_words(tx, digest=facts.get("workflow_digest"), payload=event.payload))
    return context


# -- recipient groups ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    sql: str  # selects (pid, detail) for one group
    params: tuple[Any, ...]


_MEMBERS = "SELECT person_id AS pid, '' AS detail FROM body_member WHERE body_id = ?"
_CHAIR = "SELECT chair_id AS pid, '' AS detail FROM body WHERE id = ?"
_PERSON = "SELECT id AS pid, '' AS detail FROM person WHERE id = ?"
_OF_BODIES = (
    "SELECT bm.person_id AS pid, {detail} AS detail FROM body_member bm "
    "JOIN body b ON b.id = bm.body_id WHERE b.id IN ({marks}) AND b.active = ?"
)
_REPRESENTATIVES = (
    "SELECT md.person_id AS pid, '' AS detail FROM mandate md JOIN proposal_party pp "
    "ON pp.party_id = md.party_id WHERE pp.proposal_id = ? AND md.body_id = ? "
    "AND md.valid_from <= ? AND (md.valid_until IS NULL OR md.valid_until >= ?)"
)


_PEOPLE_OF_PARTY = "SELECT id AS pid, '' AS detail FROM person WHERE party_id = ?"
# Everyone the proposal's submission reached: its outbox rows, whatever their status now
# (sent, failed, cancelled, waiting for or bundled into a digest).
_SUBMISSION_RECIPIENTS = (
    "SELECT o.person_id AS pid, '' AS detail FROM outbox o JOIN audit_event e "
    "ON e.id = o.event_id WHERE e.proposal_id = ? AND e.action = 'submitted'"
)


def _addressee(value: Any) -> _Part | None:
    """The people an advice is for: those of a party, or the members of a body."""
    kind, _, ident = str(value or "").partition(":")
    if kind == "party" and ident:
        return _Part(_PEOPLE_OF_PARTY, (ident,))
    if kind == "body" and ident:
        return _Part(_MEMBERS, (ident,))
    return None


def _of_bodies(bodies: Sequence[str], detail: str) -> _Part | None:
    if not bodies:
        return None
    sql = _OF_BODIES.format(detail=detail, marks=", ".join("?" for _ in bodies))
    return _Part(sql, (*bodies, True))


def _group(group: str, event: Event, facts: dict[str, Any], region: RegionFacts) -> _Part | None:
    """The SELECT of one recipient group, or None if the event has nothing for it."""
    body, table = facts.get("body_id"), facts.get("table_id")
    coordinator = region.coordinator
    if group in ("table_members", "body_members", "table_chair", "body_chair"):
        target = table if group.startswith("table") else body
        sql = _MEMBERS if group.endswith("members") else _CHAIR
        return _Part(sql, (target,)) if target else None
    if group == "coordinator":
        return _Part(_PERSON, (coordinator,))
    if group == "actor":
        return _Part(_PERSON, (event.actor,))
    if group == "named":  # the people the event's payload lists in "to" (the scheduler)
        named = [p for p in event.payload.get("to") or () if isinstance(p, str)]
        marks = ", ".join("?" for _ in named)
        sql = f"SELECT id AS pid, '' AS detail FROM person WHERE id IN ({marks})"
        return _Part(sql, tuple(named)) if named else None
    if group == "submission_recipients":
        return _Part(_SUBMISSION_RECIPIENTS, (event.proposal_id,)) if event.proposal_id else None
    if group == "addressee":
        return _addressee(facts.get("addressee"))
    if group == "routing_members":
        routing = region.roles.routing_body
        return _of_bodies([routing] if routing else [], "''")
    if group == "news_members":
        return _of_bodies(region.roles.news_bodies, "b.name")
    if group == "leads":
        leads = facts.get("leads") or []
        marks = ", ".join("?" for _ in leads)
        sql = f"SELECT id AS pid, '' AS detail FROM person WHERE id IN ({marks})"
        return _Part(sql, tuple(leads)) if leads else None
    if group == "representatives" and body and event.proposal_id and facts.get("starts_at"):
        day = str(facts["starts_at"])[:10]
        return _Part(_REPRESENTATIVES, (event.proposal_id, body, day, day))
    return None


def _people(
    tx: Tx, event: Event, facts: dict[str, Any], wanted: list[tuple[str, tuple[str, ...]]]
) -> list[tuple[Any, ...]]:
    """(rank, id, email, language, name, detail) of every recipient, best rank first.

    rank = 100 * kind index + group index, so the first kind that names a person wins.
    The acting person comes along with rank -1 (their name is in the mails), the
    coordinator with rank -2 (named in every footer).
    """
    region = region_facts(tx)
    parts = [
        (_COORDINATOR_RANK, _Part(_PERSON, (region.coordinator,))),
        (_ACTOR_RANK, _Part(_PERSON, (event.actor,))),
    ]
    for k, (_kind, groups) in enumerate(wanted):
        for g, group in enumerate(groups):
            part = _group(group, event, facts, region)
            if part is not None:
                parts.append((100 * k + g, part))
    selects = [
        f"SELECT {rank} AS rank, pid, detail FROM ({part.sql}) q{i}"
        for i, (rank, part) in enumerate(parts)
    ]
    sql = (
        "SELECT g.rank, p.id, p.email, p.language, p.name, g.detail FROM ("
        + " UNION ALL ".join(selects)
        + ") g JOIN person p ON p.id = g.pid WHERE p.active = ? ORDER BY g.rank, p.id"
    )
    params = [value for _rank, part in parts for value in part.params]
    return tx.all(sql, [*params, True])
