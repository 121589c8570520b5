"""Rule 2 of issue 18, mandate coverage: before a meeting that decides, every concerned
party of each item must be covered; the representatives of a party that is not get
reminders, and the chair and the coordinator one escalation.

An item **needs a mandate** where :mod:`regie.engine.decisions` checks one: a proposal
whose workflow has ``requires_mandate`` and that stands at the end of its route (the
stage whose meeting records the outcome). A concerned party is **covered ahead** when
:func:`regie.engine.mandate.coverage` says so (present or substitute on the day, or a
prior position with a stance), or when a person announced ``expected`` for it who will
count on the day: someone with a mandate for the party in the body on the meeting day,
or a stand-in (``expected`` with ``substitute_for``) who is also a registered substitute
for the party there ("a substitute with mandate"). ``absent`` never covers.

For each open proposal on a coming scheduled meeting that needs a mandate, per party not
covered ahead (times at the region's reminder hour, ``[scheduler] reminder_hour``):

* **reminders** (``reminder_sent`` events with ``"rule": "coverage"``, notice
  ``coverage_reminder``) :data:`REMIND_WORKING_DAYS` (7 and 3) working days before the
  meeting day, one per representative (key: proposal, meeting, party and person). The
  representatives are the people with a mandate for the party in the body valid on the
  meeting day; a party without any gets the body's members of that party instead (so
  somebody hears of it; the escalation names the party in any case). The event lists the
  person in its payload (``"to"``), and the recipient group ``named`` reads it.
* **one escalation** per meeting (``escalated``, notice ``coverage_escalated``, to the
  body's chair and the coordinator) :data:`ESCALATE_WORKING_DAYS` (2) working days
  before, listing per item the parties still not covered; nothing is sent when all are.

Each firing re-checks the coverage in its transaction (:meth:`CoverageRule.still_due`): a
party covered after the 7-day reminder gets no 3-day one. An overdue reminder is sent
once when the scheduler comes back, unless the next one is due by then; nothing is due
once the meeting has started. A moved meeting gives new due times, so new items.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from regie.clock import to_local
from regie.engine import repository as repo
from regie.engine.calendar import working_days_before
from regie.engine.machine import CLOSED_STATES
from regie.engine.mandate import Gap, coverage, has_mandate, is_registered_substitute, meeting_day
from regie.engine.repository import MeetingRow
from regie.engine.storage import as_datetime
from regie.scheduler.rules import Due, register, reminder_time
from regie.scheduler.settings import scheduler_settings

if TYPE_CHECKING:
    from regie.engine.calendar import WorkCalendar
    from regie.engine.changes import Change
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import Tx

NAME = "coverage"
REMIND_WORKING_DAYS = (7, 3)  # reminders this many working days before the meeting day
ESCALATE_WORKING_DAYS = 2
REMIND, ESCALATE = "remind", "escalate"
# Calendar days from the first reminder to its meeting, at most: weekends and up to two
# weeks of holidays and closed days (Christmas) on top of the working days.
LOOKAHEAD = timedelta(days=2 * REMIND_WORKING_DAYS[0] + 14)

_ITEMS = (
    "SELECT p.id, p.workflow_digest, p.route, p.state, p.title, m.id, m.body_id, "
    "m.starts_at, m.ends_at, m.status FROM meeting m JOIN proposal p ON p.meeting_id = m.id "
    "WHERE m.status = 'scheduled' AND m.starts_at > ? AND m.starts_at <= ? "
    "AND p.state NOT IN ({closed}) {extra}ORDER BY m.starts_at, m.id, p.id"
)


@dataclass(frozen=True)
class Item:
    """An open proposal on a coming meeting where its outcome is recorded with a mandate
    check."""

    proposal_id: str
    title: str
    meeting: MeetingRow


@dataclass(frozen=True)
class Times:
    reminders: tuple[tuple[int, datetime], ...]  # (working days before, when: naive UTC)
    escalate_at: datetime  # naive UTC


def times(calendar: WorkCalendar, starts_at: datetime, hour: int) -> Times:
    """When the reminders and the escalation are due for a meeting starting at
    ``starts_at`` (naive UTC), at ``hour`` local time."""
    day = to_local(starts_at).date()

    def at(n: int) -> datetime:
        return reminder_time(calendar, working_days_before(calendar, day, n), hour)

    return Times(tuple((n, at(n)) for n in REMIND_WORKING_DAYS), at(ESCALATE_WORKING_DAYS))


def needs_mandate(tx: Tx, digest: str, route: list[str], state: str) -> bool:
    """Does the outcome recorded in ``state`` need the mandate check (as ``regie decide``
    applies it)?"""
    wf = repo.workflow_for(tx, digest).workflow
    return wf.requires_mandate and bool(route) and route[-1] == state and state in wf.end_stages


def _mandated(tx: Tx) -> tuple[list[str], list[str]]:
    """The stored workflow versions that check a mandate, and their end stages: only a
    proposal of one of them, in one of those stages, can need the check (SQL narrows the
    items to those; :func:`needs_mandate` decides)."""
    digests: list[str] = []
    ends: set[str] = set()
    for (digest,) in tx.all("SELECT digest FROM workflow_version"):
        wf = repo.workflow_for(tx, str(digest)).workflow
        if wf.requires_mandate:
            digests.append(str(digest))
            ends.update(wf.end_stages)
    return digests, sorted(ends)


def items_on(tx: Tx, now: datetime, latest: datetime, meeting_id: str | None = None) -> list[Item]:
    """The items needing a mandate on scheduled meetings starting after ``now`` up to
    ``latest`` (naive UTC); only those of ``meeting_id`` when given."""
    digests, ends = _mandated(tx)
    if not digests:
        return []
    closed = ", ".join("?" for _ in CLOSED_STATES)
    extra = "AND m.id = ? " if meeting_id else ""
    extra += "AND p.workflow_digest IN ({}) AND p.state IN ({}) ".format(
        ", ".join("?" for _ in digests), ", ".join("?" for _ in ends)
    )
    sql = _ITEMS.format(closed=closed, extra=extra)
    params = (
        now, latest, *CLOSED_STATES, *((meeting_id,) if meeting_id else ()), *digests, *ends
    )  # fmt: skip
    found: list[Item] = []
    needs: dict[tuple[str, str, str], bool] = {}  # items share workflows, routes and states
    for pid, digest, route, state, title, mid, body, starts, ends, status in tx.all(sql, params):
        key = (str(digest), str(route or "[]"), str(state))
        if key not in needs:
            needs[key] = needs_mandate(tx, key[0], json.loads(key[1]), key[2])
        if needs[key]:
            starts_at, ends_at = as_datetime(starts), as_datetime(ends)
            assert starts_at is not None and ends_at is not None
            found.append(Item(pid, title, MeetingRow(mid, body, starts_at, ends_at, status)))
    return found


def open_parties(tx: Tx, proposal_id: str, meeting: MeetingRow) -> list[Gap]:
    """The concerned parties not covered ahead (see the module docstring)."""
    gaps = coverage(tx, proposal_id, meeting).uncovered
    if not gaps:
        return []
    day, body = meeting_day(meeting), meeting.body_id
    announced = set()
    for person, party, stand_in_for in tx.all(
        "SELECT person_id, party_id, substitute_for FROM attendance WHERE meeting_id = ? "
        "AND status = 'expected'",
        (meeting.id,),
    ):
        if stand_in_for and not is_registered_substitute(tx, person, party, body):
            continue
        if has_mandate(tx, person, party, body, day):
            announced.add(str(party))
    return [gap for gap in gaps if gap.party_id not in announced]


def representatives(
    tx: Tx, party: str, body_id: str, day: date | str, *, anyone_of_party: bool = False
) -> list[str]:
    """Who is reminded for ``party`` at a meeting of ``body_id`` on ``day``: the active
    people with a mandate for it in that body on that day; without any, the body's members
    of the party; without those either and ``anyone_of_party``, every active person of it."""
    rows = tx.all(
        "SELECT DISTINCT md.person_id FROM mandate md JOIN person p ON p.id = md.person_id "
        "WHERE md.party_id = ? AND md.body_id = ? AND md.valid_from <= ? "
        "AND (md.valid_until IS NULL OR md.valid_until >= ?) AND p.active = ? "
        "ORDER BY md.person_id",
        (party, body_id, day, day, True),
    )
    if not rows:
        rows = tx.all(
            "SELECT bm.person_id FROM body_member bm JOIN person p ON p.id = bm.person_id "
            "WHERE bm.body_id = ? AND p.party_id = ? AND p.active = ? ORDER BY bm.person_id",
            (body_id, party, True),
        )
    if not rows and anyone_of_party:
        rows = tx.all(
            "SELECT id FROM person WHERE party_id = ? AND active = ? ORDER BY id", (party, True)
        )
    return [str(r[0]) for r in rows]


def _items_of(tx: Tx, meeting: MeetingRow) -> list[Item]:
    return items_on(tx, meeting.starts_at - timedelta(seconds=1), meeting.starts_at, meeting.id)


def uncovered_on(tx: Tx, meeting: MeetingRow) -> list[dict[str, Any]]:
    """The escalation's list: per item on the meeting, the parties not covered ahead."""
    listed = []
    for item in _items_of(tx, meeting):
        gaps = open_parties(tx, item.proposal_id, item.meeting)
        if gaps:
            ids = [g.party_id for g in gaps]
            names = [party_name(tx, p) for p in ids]
            listed.append(
                {"proposal": item.proposal_id, "title": item.title, "parties": ids,
                 "party_names": names}
            )  # fmt: skip
    return listed


def party_name(tx: Tx, party: str) -> str:
    """A party as mails name it: its short name, else its name."""
    found = tx.scalar("SELECT COALESCE(short_name, name) FROM party WHERE id = ?", (party,))
    return str(found or party)


def _item_key(kind: str, meeting_id: str, proposal_id: str = "", party: str = "") -> str:
    return f"{kind}:{proposal_id}@{meeting_id}/{party}" if proposal_id else f"{kind}@{meeting_id}"


class CoverageRule:
    name = NAME

    def due(self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime) -> Iterator[Due]:
        hour = scheduler_settings(facts).reminder_hour
        escalations: dict[str, Due] = {}
        for item in items_on(tx, now, horizon + LOOKAHEAD):
            m = item.meeting
            t = times(facts.calendar, m.starts_at, hour)
            steps = [at for _n, at in t.reminders] + [m.starts_at]
            wanted = [
                (n, at) for k, (n, at) in enumerate(t.reminders)
                if at <= horizon and now < steps[k + 1]
            ]  # fmt: skip
            escalate = t.escalate_at <= horizon and m.id not in escalations
            if not wanted and not escalate:
                continue
            gaps = open_parties(tx, item.proposal_id, m)
            if not gaps:
                continue
            detail = {"proposal": item.proposal_id, "meeting": m.id,
                      "starts_at": m.starts_at.isoformat()}  # fmt: skip
            for n, at in wanted:
                for gap in gaps:
                    key = _item_key(REMIND, m.id, item.proposal_id, gap.party_id)
                    more = {**detail, "action": REMIND, "party": gap.party_id, "working_days": n}
                    for person in representatives(tx, gap.party_id, m.body_id, meeting_day(m)):
                        yield Due(NAME, key, person, at, more, m.body_id)
            if escalate:
                more = {"meeting": m.id, "starts_at": m.starts_at.isoformat(), "action": ESCALATE}
                escalations[m.id] = Due(NAME, _item_key(ESCALATE, m.id), None, t.escalate_at,
                                        more, m.body_id)  # fmt: skip
        yield from escalations.values()

    def still_due(self, tx: Tx, due: Due) -> bool:
        """Inside the firing's transaction: the meeting has not moved, and the party (for a
        reminder) or some party of some item (for the escalation) is still not covered."""
        d = due.detail
        meeting = tx.one(
            "SELECT id, body_id, starts_at, ends_at, status FROM meeting WHERE id = ?",
            (d["meeting"],),
        )
        if meeting is None:
            return False
        m = MeetingRow(meeting[0], meeting[1], *_times(meeting), meeting[4])
        if m.status != "scheduled" or m.starts_at.isoformat() != d["starts_at"]:
            return False
        if d["action"] == ESCALATE:
            return bool(uncovered_on(tx, m))
        if not any(i.proposal_id == d["proposal"] for i in _items_of(tx, m)):
            return False
        return any(g.party_id == d["party"] for g in open_parties(tx, d["proposal"], m))

    def fire(self, ch: Change, due: Due) -> None:
        d = due.detail
        day = to_local(due.due_at).date().isoformat()
        if d["action"] == ESCALATE:
            m = repo.load_meeting(ch.tx, d["meeting"])
            listed = uncovered_on(ch.tx, m)
            payload = {"rule": NAME, "due": day, "items": listed,
                       "working_days": ESCALATE_WORKING_DAYS}  # fmt: skip
            ch.record("escalated", meeting_id=m.id, payload=payload)
            return
        payload = {
            "rule": NAME,
            "due": day,
            "to": [due.person],
            "party": d["party"],
            "party_name": party_name(ch.tx, d["party"]),
            "working_days": d["working_days"],
        }
        ch.record("reminder_sent", proposal_id=d["proposal"], meeting_id=d["meeting"],
                  payload=payload)  # fmt: skip


def _times(row: tuple[Any, ...]) -> tuple[datetime, datetime]:
    starts, ends = as_datetime(row[2]), as_datetime(row[3])
    assert starts is not None and ends is not None
    return starts, ends


RULE = register(CoverageRule())
