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
from datetime import date, datetime
from typing import TYPE_CHECKING

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

# The standing (latest, not retracted) version of each decision awaiting confirmation.
_OPEN = (
    "SELECT d.proposal_id, d.version, d.meeting_id, d.recorded_at, d.outcome, m.body_id "
    "FROM decision d JOIN proposal p ON p.id = d.proposal_id "
    "JOIN meeting m ON m.id = d.meeting_id "
    "WHERE p.state = ? AND d.confirmed_at IS NULL AND d.retracted_at IS NULL "
    "AND d.version = (SELECT MAX(v.version) FROM decision v "
    "WHERE v.proposal_id = d.proposal_id AND v.retracted_at IS NULL)"
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
        for pid, version, meeting_id, recorded_raw, outcome, body_id in tx.all(_OPEN, (AWAITING,)):
            recorded = as_datetime(recorded_raw)
            body = facts.bodies.get(str(body_id))
            if recorded is None or body is None:
                continue
            day = to_local(recorded).date()
            detail = {
                "proposal_id": pid, "version": int(version), "meeting_id": meeting_id,
                "outcome": outcome, "recorded_on": day.isoformat(),
                "confirm_by": working_days_after(cal, day, CONFIRM_WORKING_DAYS).isoformat(),
            }  # fmt: skip
            item = item_key(str(pid), int(version))
            for n, at in _reminder_times(cal, day, horizon, hour):
                remind = {**detail, "kind": REMINDER, "day": n}
                yield Due(NAME, item, body.chair, at, remind, body.id)
            escalate_day = working_days_after(cal, day, ESCALATE_WORKING_DAYS + 1)
            escalate = reminder_time(cal, escalate_day, hour)
            if escalate <= horizon:
                last = {**detail, "kind": ESCALATION, "day": ESCALATE_WORKING_DAYS + 1}
                yield Due(NAME, item, facts.coordinator, escalate, last, body.id)

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
