"""Rule 3 of issue 18, absence: a person who announced ``absent`` for a coming meeting
(:mod:`regie.engine.attendance`), while their party is not covered ahead for an item there
that needs a mandate, gets a reminder to arrange cover.

"Covered ahead" is :func:`regie.scheduler.coverage.open_parties`: no substitute with
mandate announced, no prior position, no other person with a mandate for the party
announced ``expected`` (and nobody attended for it). Only a person's own absence counts: an
``absent`` that withdraws a stand-in (``substitute_for`` set) is not an announcement.

Times, at the region's reminder hour (``[scheduler] reminder_hour``), on working days:

* the first working day after the local day of the announcement;
* :data:`BEFORE_WORKING_DAYS` (2) working days before the meeting day; when the first
  reminder would come at that time or later, this one alone (or, announced after that
  time, the first one alone).

A reminder is a ``reminder_sent`` event with ``"rule": "absence"`` (notice
``absence_reminder``; the person is in the payload's ``"to"``, read by the group
``named``), listing the items the party is not covered for. Each firing re-checks that the
person is still absent and the party still not covered; nothing is due once the meeting
has started. An overdue first reminder is sent once when the scheduler comes back,
unless the second one is due by then. Announcing again gives a new first reminder.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from regie.clock import to_local
from regie.engine import repository as repo
from regie.engine.calendar import working_days_after, working_days_before
from regie.engine.repository import MeetingRow
from regie.engine.storage import as_datetime
from regie.scheduler.coverage import LOOKAHEAD, items_on, open_parties, party_name
from regie.scheduler.rules import Due, register, reminder_time
from regie.scheduler.settings import scheduler_settings

if TYPE_CHECKING:
    from regie.engine.calendar import WorkCalendar
    from regie.engine.changes import Change
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import Tx

NAME = "absence"
BEFORE_WORKING_DAYS = 2
FIRST, BEFORE = "first", "before"
# A first reminder overdue for longer than this (the scheduler was down for weeks) is let go.
LOOKBACK = timedelta(days=30)

_ABSENT = (
    "SELECT a.person_id, a.party_id, a.recorded_at, m.id, m.body_id, m.starts_at, m.ends_at, "
    "m.status FROM attendance a JOIN meeting m ON m.id = a.meeting_id "
    "WHERE a.status = 'absent' AND a.substitute_for IS NULL AND m.status = 'scheduled' "
    "AND m.starts_at > ? AND (m.starts_at <= ? OR a.recorded_at >= ?) "
    "ORDER BY m.starts_at, m.id, a.person_id"
)
_STILL_ABSENT = (
    "SELECT a.party_id, a.recorded_at, m.id, m.body_id, m.starts_at, m.ends_at, m.status "
    "FROM attendance a JOIN meeting m ON m.id = a.meeting_id WHERE a.meeting_id = ? "
    "AND a.person_id = ? AND a.status = 'absent' AND a.substitute_for IS NULL"
)


def times(
    calendar: WorkCalendar, recorded_at: datetime, starts_at: datetime, hour: int
) -> list[tuple[str, datetime]]:
    """The reminders of an absence announced at ``recorded_at`` for a meeting starting at
    ``starts_at`` (naive UTC): (which, when), in time order, before the meeting."""
    first = reminder_time(calendar, working_days_after(calendar, to_local(recorded_at).date(), 1),
                          hour)  # fmt: skip
    day = to_local(starts_at).date()
    before = reminder_time(calendar, working_days_before(calendar, day, BEFORE_WORKING_DAYS), hour)
    if first < before:
        found = [(FIRST, first), (BEFORE, before)]
    else:  # the next working day is that day or later: one reminder
        found = [(BEFORE, before) if recorded_at < before else (FIRST, first)]
    return [(which, at) for which, at in found if at < starts_at]


def uncovered_items(tx: Tx, meeting: MeetingRow, party: str) -> list[dict[str, Any]]:
    """The items on the meeting that need a mandate and that ``party`` is not covered for."""
    listed = []
    for item in items_on(tx, meeting.starts_at - timedelta(seconds=1), meeting.starts_at,
                         meeting.id):  # fmt: skip
        if any(g.party_id == party for g in open_parties(tx, item.proposal_id, item.meeting)):
            listed.append({"proposal": item.proposal_id, "title": item.title})
    return listed


def _meeting(row: tuple[Any, ...]) -> MeetingRow:
    starts, ends = as_datetime(row[2]), as_datetime(row[3])
    assert starts is not None and ends is not None
    return MeetingRow(row[0], row[1], starts, ends, row[4])


class AbsenceRule:
    name = NAME

    def due(self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime) -> Iterator[Due]:
        hour = scheduler_settings(facts).reminder_hour
        rows = tx.all(_ABSENT, (now, horizon + LOOKAHEAD, now - LOOKBACK))
        for person, party, recorded, *meeting in rows:
            m = _meeting(tuple(meeting))
            recorded_at = as_datetime(recorded)
            assert recorded_at is not None
            planned = times(facts.calendar, recorded_at, m.starts_at, hour)
            steps = [at for _w, at in planned] + [m.starts_at]
            wanted = [
                (which, at) for k, (which, at) in enumerate(planned)
                if at <= horizon and now < steps[k + 1]
            ]  # fmt: skip
            if not wanted or not uncovered_items(tx, m, str(party)):
                continue
            detail = {"meeting": m.id, "party": party, "starts_at": m.starts_at.isoformat(),
                      "announced_at": recorded_at.isoformat()}  # fmt: skip
            for which, at in wanted:
                yield Due(NAME, f"absent@{m.id}", person, at, {**detail, "which": which},
                          m.body_id)  # fmt: skip

    def still_due(self, tx: Tx, due: Due) -> bool:
        """Inside the firing's transaction: still absent (the same announcement), the
        meeting not moved, and the party still not covered for some item."""
        d = due.detail
        row = tx.one(_STILL_ABSENT, (d["meeting"], due.person))
        if row is None or row[0] != d["party"]:
            return False
        recorded_at = as_datetime(row[1])
        m = _meeting(row[2:])
        if recorded_at is None or recorded_at.isoformat() != d["announced_at"]:
            return False
        if m.status != "scheduled" or m.starts_at.isoformat() != d["starts_at"]:
            return False
        return bool(uncovered_items(tx, m, d["party"]))

    def fire(self, ch: Change, due: Due) -> None:
        d = due.detail
        m = repo.load_meeting(ch.tx, d["meeting"])
        announced = as_datetime(d["announced_at"])
        payload = {
            "rule": NAME,
            "due": to_local(due.due_at).date().isoformat(),
            "to": [due.person],
            "party": d["party"],
            "party_name": party_name(ch.tx, d["party"]),
            "announced_on": to_local(announced).date().isoformat() if announced else "",
            "which": d["which"],
            "items": uncovered_items(ch.tx, m, d["party"]),
        }
        ch.record("reminder_sent", meeting_id=m.id, payload=payload)


RULE = register(AbsenceRule())
