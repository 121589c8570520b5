"""Rule 1 of issue 18, documents: a reminder to the leads before a document deadline, and
the deferral of an item without documents once the deadline has passed.

For each open proposal on a coming meeting of a body with ``deadline_working_days``:

* the deadline is the body's document deadline for that meeting
  (:meth:`WorkCalendar.deadline`, the day :mod:`regie.engine.placement` uses: documents
  may come in all of that day);
* **reminder** (a ``reminder_sent`` event with ``"rule": "documents"``; its notice,
  ``documents_reminder``, goes to the leads): at the reminder hour
  (09:00 local) :data:`REMIND_WORKING_DAYS` working days before the deadline, when no
  document is recorded for that meeting;
* **deferral** (a ``deferred`` event, the same one ``regie defer`` records, with
  ``"by": "scheduler", "rule": "documents"`` in its payload; the ``deferred`` notices go
  to the leads and the table's chair): at the reminder hour of the first working day after
  the deadline — a mail in working hours, and documents sent on the evening of the deadline
  day still count — when there is still no document for that meeting and its body's chair
  granted no exception (``regie exception``). Should that moment not come before the
  meeting starts (a deadline of one working day, a meeting at 09:00), the deferral is due
  at the end of the deadline day instead. Once the meeting has started nothing is due.

A reminder that is overdue fires once when the scheduler comes back, unless the deferral
is due by then. A moved meeting gives new due times, so new items.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.engine import documents
from regie.engine.calendar import working_days_before
from regie.engine.machine import CLOSED_STATES
from regie.engine.storage import as_datetime
from regie.errors import RegieError
from regie.scheduler import deferral
from regie.scheduler.rules import REMINDER_HOUR, Due, register, reminder_time
from regie.scheduler.settings import scheduler_settings

if TYPE_CHECKING:
    from regie.engine.calendar import WorkCalendar
    from regie.engine.changes import Change
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import Tx

log = logging.getLogger("regie.scheduler")

NAME = "documents"
REMINDER = "reminder_sent"  # the reminder's audit event; its notice kind: documents_reminder
REMIND_WORKING_DAYS = 3  # the reminder goes out this many working days before the deadline
BY = {"by": "scheduler", "rule": NAME}
_REASON = {
    "nl": "geen stukken ontvangen vóór de termijn van {day}",
    "en": "no documents received by the deadline of {day}",
}


@dataclass(frozen=True)
class Times:
    deadline: date  # local day: the last day documents may come in
    remind_at: datetime  # naive UTC
    defer_at: datetime  # naive UTC


def times(
    calendar: WorkCalendar, starts_at: datetime, working_days: int, hour: int = REMINDER_HOUR
) -> Times:
    """When the reminder and the deferral are due for a meeting starting at ``starts_at``
    (naive UTC) of a body with a deadline of ``working_days`` working days, at ``hour``."""
    deadline = calendar.deadline(to_local(starts_at).date(), working_days)
    remind_day = working_days_before(calendar, deadline, REMIND_WORKING_DAYS)
    remind = reminder_time(calendar, remind_day, hour)
    defer = reminder_time(calendar, deadline + timedelta(days=1), hour)
    if defer >= starts_at:  # the end of the deadline day, then
        defer = to_utc_naive(
            datetime.combine(deadline + timedelta(days=1), time(0), tzinfo=AMSTERDAM)
        )
    return Times(deadline, remind, defer)


def _item(kind: str, proposal_id: str, meeting_id: str) -> str:
    return f"{kind}:{proposal_id}@{meeting_id}"


def _lookahead(working_days: int) -> timedelta:
    """Calendar days from a reminder to its meeting, at most: weekends and up to two weeks
    of holidays and closed days (Christmas) on top of the working days."""
    return timedelta(days=2 * (working_days + REMIND_WORKING_DAYS) + 14)


class DocumentsRule:
    name = NAME

    def due(self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime) -> Iterable[Due]:
        deadlines = {b.id: b.deadline_working_days for b in facts.bodies.values()}
        if not any(deadlines.values()):
            return []
        latest = horizon + _lookahead(max(deadlines.values()))
        closed = ", ".join("?" for _ in CLOSED_STATES)
        rows = tx.all(
            "SELECT p.id, m.id, m.body_id, m.starts_at FROM meeting m JOIN proposal p "
            "ON p.meeting_id = m.id WHERE m.status = 'scheduled' AND m.starts_at > ? "
            f"AND m.starts_at <= ? AND p.state NOT IN ({closed}) ORDER BY m.starts_at, p.id",
            (now, latest, *CLOSED_STATES),
        )
        found: list[tuple[str, str, str, datetime, Times]] = []
        hour = scheduler_settings(facts).reminder_hour
        planned: dict[str, tuple[datetime, Times]] = {}  # per meeting, once
        for pid, mid, body, starts in rows:
            wd = deadlines.get(body, 0)
            if not wd:
                continue
            if mid not in planned:
                starts_at = as_datetime(starts)
                assert starts_at is not None
                planned[mid] = (starts_at, times(facts.calendar, starts_at, wd, hour))
            starts_at, t = planned[mid]
            if t.remind_at <= horizon or t.defer_at <= horizon:
                found.append((pid, mid, body, starts_at, t))
        with_documents, excepted = documents.covered(tx, [(f[0], f[1]) for f in found])
        return list(self._due(found, with_documents, excepted, now, horizon))

    def _due(
        self,
        found: list[tuple[str, str, str, datetime, Times]],
        with_documents: set[tuple[str, str]],
        excepted: set[tuple[str, str]],
        now: datetime,
        horizon: datetime,
    ) -> Iterator[Due]:
        texts: dict[str, tuple[str, str]] = {}  # per meeting: its deadline and start
        for pid, mid, body, starts_at, t in found:
            if (pid, mid) in with_documents:
                continue
            if mid not in texts:
                texts[mid] = (t.deadline.isoformat(), starts_at.isoformat())
            deadline, starts = texts[mid]
            detail = {"proposal": pid, "meeting": mid, "deadline": deadline, "starts_at": starts}
            if t.remind_at <= horizon and now < t.defer_at:
                yield Due(NAME, _item("reminder", pid, mid), None, t.remind_at,
                          {**detail, "action": "reminder"}, body)  # fmt: skip
            if t.defer_at <= horizon and (pid, mid) not in excepted:
                yield Due(NAME, _item("defer", pid, mid), None, t.defer_at,
                          {**detail, "action": "defer"}, body)  # fmt: skip

    def still_due(self, tx: Tx, due: Due) -> bool:
        """Inside the firing's transaction: still on that meeting, still without documents
        (and, for the deferral, without an exception)?"""
        pid, mid = due.detail["proposal"], due.detail["meeting"]
        row = tx.one("SELECT meeting_id, state FROM proposal WHERE id = ?", (pid,))
        if row is None or row[0] != mid or row[1] in CLOSED_STATES:
            return False
        with_documents, excepted = documents.covered(tx, [(pid, mid)])
        if (pid, mid) in with_documents:
            return False
        return due.detail["action"] == "reminder" or (pid, mid) not in excepted

    def fire(self, ch: Change, due: Due) -> None:
        pid, mid = due.detail["proposal"], due.detail["meeting"]
        if due.detail["action"] == "reminder":
            payload = {"deadline": due.detail["deadline"], **BY}
            ch.record(REMINDER, proposal_id=pid, meeting_id=mid, payload=payload)
            return
        try:
            _defer(ch, pid, date.fromisoformat(due.detail["deadline"]))
        except RegieError as exc:  # no later meeting, a workflow without defer: tell the log
            log.warning("scheduler: %s not deferred from %s: %s", pid, mid, exc)


def _defer(ch: Change, proposal_id: str, deadline: date) -> None:
    """Defer to the body's next meeting: no documents by ``deadline`` (see
    :mod:`regie.scheduler.deferral`)."""
    lang = deferral.language(ch, _REASON)
    day = deadline.strftime("%d-%m-%Y") if lang == "nl" else deadline.isoformat()
    deferral.defer(ch, proposal_id, rule=NAME, reason=_REASON[lang].format(day=day))


RULE = register(DocumentsRule())
