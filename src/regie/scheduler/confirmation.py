"""Rule 5 of issue 18, confirmation: a recorded decision the chair has not confirmed
within :data:`~regie.notifications.kinds.CONFIRM_WORKING_DAYS` working days gets a
reminder to the chair on every following working day at the reminder hour; after
:data:`ESCALATE_WORKING_DAYS` working days the coordinator gets one escalation.

Counted from the local day the (standing) version was recorded: recorded on Monday, the
chair confirms by Wednesday; reminders from Thursday 09:00, the escalation the next
Tuesday 09:00 (weekends, public holidays and the region's closed days skipped).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from regie.clock import to_local
from regie.engine.calendar import working_days_after
from regie.engine.machine import AWAITING
from regie.engine.storage import as_datetime
from regie.notifications.kinds import CONFIRM_WORKING_DAYS
from regie.scheduler.rules import Due, register, reminder_time
from regie.scheduler.settings import scheduler_settings

if TYPE_CHECKING:
    from regie.engine.calendar import WorkCalendar
    from regie.engine.changes import Change
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import Tx

NAME = "confirmation"
ESCALATE_WORKING_DAYS = 5
REMINDER, ESCALATION = "reminder", "escalation"

# The proposal awaits the confirmation of its standing version: the highest one neither
# confirmed nor retracted (an amendment adds a version above an unconfirmed one; a later
# confirmed version would have closed the proposal). The rule keeps the highest per
# proposal; still_due checks the standing version exactly, in the firing's transaction.
_OPEN = (
    "SELECT d.proposal_id, d.version, d.meeting_id, d.recorded_at, d.outcome "
    "FROM proposal p JOIN decision d ON d.proposal_id = p.id "
    "WHERE p.state = ? AND d.confirmed_at IS NULL AND d.retracted_at IS NULL"
)
_STILL_OPEN = (
    "SELECT 1 FROM decision d JOIN proposal p ON p.id = d.proposal_id "
    "WHERE d.proposal_id = ? AND d.version = ? AND p.state = ? "
    "AND d.confirmed_at IS NULL AND d.retracted_at IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM decision v WHERE v.proposal_id = d.proposal_id "
    "AND v.version > d.version AND v.retracted_at IS NULL)"
)


def item_key(proposal_id: str, version: int) -> str:
    return f"{proposal_id}#{version}"


def _split(item: str) -> tuple[str, int]:
    pid, _, version = item.rpartition("#")
    return pid, int(version)


class ConfirmationRule:
    name = NAME

    def due(self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime) -> Iterator[Due]:
        cal, hour = facts.calendar, scheduler_settings(facts).reminder_hour
        plans: dict[date, _Plan] = {}  # many decisions share a day: its times once
        standing: dict[str, tuple[Any, ...]] = {}
        for row in tx.all(_OPEN, (AWAITING,)):
            if row[0] not in standing or standing[row[0]][1] < row[1]:
                standing[row[0]] = row
        rows = list(standing.values())
        meetings = _bodies_of(tx, {str(r[2]) for r in rows})
        for pid, version, meeting_id, recorded_raw, outcome in rows:
            recorded = as_datetime(recorded_raw)
            body = facts.bodies.get(meetings.get(str(meeting_id), ""))
            if recorded is None or body is None:
                continue
            day = _local_day(recorded)
            plan = plans.get(day)
            if plan is None:
                plan = plans[day] = _plan(cal, day, horizon, hour)
            if not plan.reminders and plan.escalate > horizon:
                continue
            v = int(version)
            item, decision = item_key(str(pid), v), (pid, v, meeting_id, outcome)
            for n, at in plan.reminders:
                remind = _detail(decision, plan, REMINDER, n)
                yield Due(NAME, item, body.chair, at, remind, body.id)
            if plan.escalate <= horizon:
                last = _detail(decision, plan, ESCALATION, ESCALATE_WORKING_DAYS + 1)
                yield Due(NAME, item, facts.coordinator, plan.escalate, last, body.id)

    def still_due(self, tx: Tx, due: Due) -> bool:
        pid, version = _split(due.item)
        return tx.one(_STILL_OPEN, (pid, version, AWAITING)) is not None

    def fire(self, ch: Change, due: Due) -> None:
        d = due.detail
        ch.record(
            "reminder_sent" if d["kind"] == REMINDER else "escalated",
            proposal_id=d["proposal_id"],
            meeting_id=d["meeting_id"],
            payload={
                "rule": NAME,
                "due": to_local(due.due_at).date().isoformat(),
                "missing": "confirmation",
                "version": d["version"],
                "outcome": d["outcome"],
                "recorded_on": d["recorded_on"],
                "confirm_by": d["confirm_by"],
                "working_days": d["day"] - 1,  # working days past the day it was recorded
            },
        )


def _detail(decision: tuple[Any, ...], plan: _Plan, kind: str, n: int) -> dict[str, Any]:
    pid, version, meeting_id, outcome = decision
    return {
        "proposal_id": pid, "version": version, "meeting_id": meeting_id, "outcome": outcome,
        "recorded_on": plan.recorded_on, "confirm_by": plan.confirm_by, "kind": kind, "day": n,
    }  # fmt: skip


def _local_day(at: datetime) -> date:
    """The local day of a naive UTC time, cached by quarter hour (every time zone's offset
    is a multiple of 15 minutes, and its changes fall on a quarter hour)."""
    return _local_day_of(at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0))


@lru_cache(maxsize=4096)
def _local_day_of(quarter: datetime) -> date:
    return to_local(quarter).date()


def _bodies_of(tx: Tx, meeting_ids: set[str]) -> dict[str, str]:
    """meeting id -> body id (few meetings: decisions awaiting confirmation are recent)."""
    sql = "SELECT id, body_id FROM meeting WHERE id IN ({marks})"
    return {str(mid): str(body) for mid, body in tx.all_in(sql, sorted(meeting_ids))}


@dataclass(frozen=True)
class _Plan:
    """The due times of a decision recorded on one local day."""

    recorded_on: str
    confirm_by: str
    reminders: tuple[tuple[int, datetime], ...]  # (n, when) up to the horizon
    escalate: datetime


def _plan(cal: WorkCalendar, day: date, horizon: datetime, hour: int) -> _Plan:
    escalate_day = working_days_after(cal, day, ESCALATE_WORKING_DAYS + 1)
    return _Plan(
        recorded_on=day.isoformat(),
        confirm_by=working_days_after(cal, day, CONFIRM_WORKING_DAYS).isoformat(),
        reminders=tuple(_reminder_times(cal, day, horizon, hour)),
        escalate=reminder_time(cal, escalate_day, hour),
    )


def _reminder_times(
    cal: WorkCalendar, day: date, horizon: datetime, hour: int
) -> Iterator[tuple[int, datetime]]:
    """(n, when) of each reminder up to ``horizon``: from the working day after the
    confirm-by day, every working day."""
    n = CONFIRM_WORKING_DAYS + 1
    reminder_day = working_days_after(cal, day, n)
    at = reminder_time(cal, reminder_day, hour)
    while at <= horizon:
        yield n, at
        n += 1
        reminder_day = working_days_after(cal, reminder_day, 1)
        at = reminder_time(cal, reminder_day, hour)


register(ConfirmationRule())
