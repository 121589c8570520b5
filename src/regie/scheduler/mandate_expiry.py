"""Rule 4 of issue 18, mandate expiry: :data:`WORKING_DAYS` working days before a mandate
ends, the person who holds it and the coordinator are told which coming meetings of that
body, after the end date, have items for that party.

* **which mandates**: those whose ``valid_until`` lies ahead (read by a bounded query on
  ``valid_until``: from today to the horizon plus :func:`_lookahead`), unless the same
  person holds a mandate for the same party and body that goes on after it (a renewal);
* **which meetings**: the body's scheduled meetings on a day after ``valid_until`` with an
  open proposal placed on them for which the party is a concerned party. Without such a
  meeting nothing is sent: the notice is about meetings the party would face without
  mandate, and there are none (the coordinator renews mandates from the config anyway);
* **when**: at the reminder hour, :data:`WORKING_DAYS` working days before
  ``valid_until`` (or at once, when the scheduler was down then); one notice per mandate
  end date (the once-key is person, party, body and end date, so ``regie init`` reloading
  the same mandate does not repeat it; a changed end date is a new item).

The event is ``reminder_sent`` with ``"rule": "mandate_expiry"`` (its notice:
``mandate_expiring``, to the person named in ``payload["to"]`` and the coordinator).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.engine.calendar import working_days_before
from regie.engine.machine import CLOSED_STATES
from regie.engine.storage import as_date, as_datetime
from regie.scheduler.rules import Due, register, reminder_time
from regie.scheduler.settings import scheduler_settings

if TYPE_CHECKING:
    from regie.engine.changes import Change
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import Tx

NAME = "mandate_expiry"
WORKING_DAYS = 20  # the notice goes out this many working days before the last day

_ENDING = (
    "SELECT md.person_id, md.party_id, md.body_id, md.valid_until, p.name, "
    "COALESCE(pa.short_name, pa.name), b.name FROM mandate md "
    "JOIN person p ON p.id = md.person_id JOIN party pa ON pa.id = md.party_id "
    "JOIN body b ON b.id = md.body_id "
    "WHERE md.valid_until >= ? AND md.valid_until <= ? AND p.active = ? "
    "ORDER BY md.valid_until, md.person_id"
)
_RENEWED = (
    "SELECT 1 FROM mandate WHERE person_id = ? AND party_id = ? AND body_id = ? "
    "AND valid_from <= ? AND (valid_until IS NULL OR valid_until > ?)"
)


def _meetings_sql() -> str:
    closed = ", ".join("?" for _ in CLOSED_STATES)
    return (
        "SELECT m.id, m.starts_at, pr.id, pr.title FROM meeting m "
        "JOIN proposal pr ON pr.meeting_id = m.id "
        "JOIN proposal_party pp ON pp.proposal_id = pr.id "
        "WHERE m.body_id = ? AND m.status = 'scheduled' AND m.starts_at >= ? "
        f"AND pp.party_id = ? AND pr.state NOT IN ({closed}) ORDER BY m.starts_at, pr.id"
    )


def _lookahead() -> timedelta:
    """Calendar days from the notice to the end date, at most: weekends and up to two weeks
    of holidays and closed days on top of the working days."""
    return timedelta(days=2 * WORKING_DAYS + 14)


def item_key(person: str, party: str, body: str, until: date) -> str:
    return f"{person}/{party}/{body}/{until.isoformat()}"


def meetings_after(tx: Tx, body: str, party: str, until: date) -> list[dict[str, Any]]:
    """The body's coming meetings on a day after ``until`` with open items for ``party``:
    ``[{"id", "starts_at" (local ISO), "items": [{"proposal", "title"}]}]``."""
    after = to_utc_naive(datetime.combine(until + timedelta(days=1), time(0), tzinfo=AMSTERDAM))
    found: dict[str, dict[str, Any]] = {}
    for mid, starts, pid, title in tx.all(_meetings_sql(), (body, after, party, *CLOSED_STATES)):
        starts_at = as_datetime(starts)
        assert starts_at is not None
        entry = found.setdefault(
            str(mid), {"id": str(mid), "starts_at": to_local(starts_at).isoformat(), "items": []}
        )
        entry["items"].append({"proposal": str(pid), "title": str(title)})
    return list(found.values())


def _renewed(tx: Tx, person: str, party: str, body: str, until: date) -> bool:
    next_day = until + timedelta(days=1)
    return tx.one(_RENEWED, (person, party, body, next_day, until)) is not None


class MandateExpiryRule:
    name = NAME

    def due(self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime) -> Iterator[Due]:
        cal, hour = facts.calendar, scheduler_settings(facts).reminder_hour
        today = to_local(now).date()
        latest = to_local(horizon).date() + _lookahead()
        for person, party, body, until_raw, person_name, party_name, body_name in tx.all(
            _ENDING, (today, latest, True)
        ):
            until = as_date(until_raw)
            if until is None:
                continue
            at = reminder_time(cal, working_days_before(cal, until, WORKING_DAYS), hour)
            if at > horizon or _renewed(tx, person, party, body, until):
                continue
            meetings = meetings_after(tx, body, party, until)
            if not meetings:
                continue
            detail = {
                "person": person, "person_name": person_name, "party": party,
                "party_name": party_name, "body": body, "body_name": body_name,
                "valid_until": until.isoformat(), "meetings": meetings,
            }  # fmt: skip
            yield Due(NAME, item_key(person, party, body, until), person, at, detail, body)

    def still_due(self, tx: Tx, due: Due) -> bool:
        """Still ending on that day, not renewed, and still with meetings after it."""
        d = due.detail
        until = date.fromisoformat(d["valid_until"])
        ends = tx.one(
            "SELECT 1 FROM mandate WHERE person_id = ? AND party_id = ? AND body_id = ? "
            "AND valid_until = ?",
            (d["person"], d["party"], d["body"], until),
        )
        if ends is None or _renewed(tx, d["person"], d["party"], d["body"], until):
            return False
        d["meetings"] = meetings_after(tx, d["body"], d["party"], until)  # as they are now
        return bool(d["meetings"])

    def fire(self, ch: Change, due: Due) -> None:
        d = due.detail
        ch.record(
            "reminder_sent",
            meeting_id=d["meetings"][0]["id"],
            payload={
                "rule": NAME,
                "due": to_local(due.due_at).date().isoformat(),
                "to": [d["person"]],
                "person": d["person"],
                "person_name": d["person_name"],
                "party": d["party"],
                "party_name": d["party_name"],
                "body": d["body"],
                "body_name": d["body_name"],
                "valid_until": d["valid_until"],
                "meetings": d["meetings"],
            },
        )


RULE = register(MandateExpiryRule())
