"""Rule 8 of issue 18, feasibility: a proposal with a follow-up (``regie submit
--follow-up``) that is placed on the meeting of its feasibility stage (the stage before the
final one on its route, see :mod:`regie.engine.feasibility`) reminds every concerned party
that has not stated feasibility yet, :data:`REMIND_WORKING_DAYS` (7 and 3) working days
before that meeting at the reminder hour, like the coverage rule.

The reminder (``reminder_sent`` with ``"rule": "feasibility"``; notice
``feasibility_reminder``, group ``named``) goes to the party's representatives: the people
with a mandate for it in that body on the meeting day, else the body's members of that
party, else the party's people. A party that states after the first reminder gets no
second (``still_due``); when the scheduler was down past both times, only the later one
fires. Bounded: only meetings from now to the horizon plus :func:`_lookahead` are read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from regie.clock import to_local
from regie.engine import repository as repo
from regie.engine.calendar import working_days_before
from regie.engine.feasibility import feasibility_stage, parties_of, stated_parties
from regie.engine.machine import CLOSED_STATES
from regie.engine.storage import as_datetime
from regie.scheduler.coverage import representatives
from regie.scheduler.rules import Due, register, reminder_time
from regie.scheduler.settings import scheduler_settings

if TYPE_CHECKING:
    from regie.engine.changes import Change
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import Tx

NAME = "feasibility"
REMIND_WORKING_DAYS = (7, 3)


def _lookahead() -> timedelta:
    return timedelta(days=2 * max(REMIND_WORKING_DAYS) + 14)


def item_key(proposal_id: str, meeting_id: str, party: str) -> str:
    return f"{proposal_id}@{meeting_id}/{party}"


class FeasibilityRule:
    name = NAME

    def due(self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime) -> Iterator[Due]:
        cal, hour = facts.calendar, scheduler_settings(facts).reminder_hour
        closed = ", ".join("?" for _ in CLOSED_STATES)
        rows = tx.all(
            "SELECT p.id, p.workflow_digest, p.route, p.state, m.id, m.body_id, m.starts_at "
            "FROM meeting m JOIN proposal p ON p.meeting_id = m.id "
            "WHERE m.status = 'scheduled' AND m.starts_at > ? AND m.starts_at <= ? "
            f"AND p.follow_up = ? AND p.state NOT IN ({closed}) ORDER BY m.starts_at, p.id",
            (now, horizon + _lookahead(), True, *CLOSED_STATES),
        )
        for pid, digest, route, state, mid, body, starts in rows:
            workflow = repo.workflow_for(tx, digest).workflow
            if state != feasibility_stage(workflow, json.loads(route)):
                continue
            starts_at = as_datetime(starts)
            assert starts_at is not None
            day = to_local(starts_at).date()
            times = [(n, reminder_time(cal, working_days_before(cal, day, n), hour))
                     for n in REMIND_WORKING_DAYS]  # fmt: skip
            stated = stated_parties(tx, pid)
            for party in parties_of(tx, pid):
                if party in stated:
                    continue
                for i, (n, at) in enumerate(times):
                    later = times[i + 1][1] if i + 1 < len(times) else None
                    if at > horizon or at >= starts_at or (later is not None and later <= now):
                        continue  # not yet; too late; or the next one is due already
                    detail = {"proposal": pid, "meeting": mid, "party": party,
                              "day": day.isoformat(), "working_days": n}  # fmt: skip
                    yield Due(NAME, item_key(pid, mid, party), None, at, detail, body)

    def still_due(self, tx: Tx, due: Due) -> bool:
        d = due.detail
        row = tx.one("SELECT meeting_id, state FROM proposal WHERE id = ?", (d["proposal"],))
        if row is None or row[0] != d["meeting"] or row[1] in CLOSED_STATES:
            return False
        return d["party"] not in stated_parties(tx, d["proposal"])

    def fire(self, ch: Change, due: Due) -> None:
        d = due.detail
        to = representatives(ch.tx, d["party"], str(due.body), d["day"], anyone_of_party=True)
        name = ch.tx.scalar("SELECT COALESCE(short_name, name) FROM party WHERE id = ?",
                            (d["party"],))  # fmt: skip
        ch.record(
            "reminder_sent",
            proposal_id=d["proposal"],
            meeting_id=d["meeting"],
            payload={
                "rule": NAME,
                "due": to_local(due.due_at).date().isoformat(),
                "party": d["party"],
                "party_name": str(name or d["party"]),
                "to": to,
                "working_days": d["working_days"],
            },
        )


RULE = register(FeasibilityRule())
