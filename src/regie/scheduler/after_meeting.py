"""Rule 7 of issue 18, after the meeting: items left open on a meeting that has ended are
deferred, and the top meeting's news goes out once its decisions are confirmed.

* **deferral** (a ``deferred`` event, the one ``regie defer`` records, with
  ``"by": "scheduler", "rule": "after_meeting"``; the ``deferred`` notices go to the leads
  and the table's chair): a proposal still in the stage of a meeting that has ended
  (its ``ends_at`` passed: neither advanced, returned nor decided there) moves to that
  body's next meeting at the reminder hour of the first working day after the meeting's
  day. Until then the coordinator can still record what happened at the meeting.
* **news** (the ``oogo_news`` event of :func:`regie.engine.agenda.record_news`; its
  notices go to the members of the bodies in ``[structure] news_to``): once every decision
  recorded at a meeting of the top body is confirmed, at the first reminder hour after the
  last confirmation. A decision confirmed later (an amendment) makes a new due time: an
  addendum with what earlier news did not carry, never the same decision twice.

Only meetings of the last :data:`LOOKBACK` are read, so the work does not grow with the
years of meetings behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from regie.clock import to_local
from regie.engine import agenda as publication
from regie.engine import repository as repo
from regie.engine.machine import NOT_OPEN, OPEN_STATE_SQL
from regie.engine.storage import as_datetime
from regie.errors import RegieError
from regie.scheduler import deferral
from regie.scheduler.rules import Due, register, reminder_time
from regie.scheduler.settings import scheduler_settings

if TYPE_CHECKING:
    from regie.engine.calendar import WorkCalendar
    from regie.engine.changes import Change
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import Tx

log = logging.getLogger("regie.scheduler")

NAME = "after_meeting"
LOOKBACK = timedelta(days=90)  # meetings that ended longer ago are not looked at
DEFER, NEWS = "defer", "news"
_REASON = {
    "nl": "niet afgehandeld in de vergadering van {day}",
    "en": "not dealt with at the meeting of {day}",
}
# The open items of meetings that ended in a time window (the partial index
# ix_proposal_open: only the open items are read, not the decided and withdrawn ones).
_LEFT_OPEN = (
    "SELECT p.id, m.id, m.body_id, m.ends_at FROM meeting m JOIN proposal p "
    "ON p.meeting_id = m.id WHERE m.status = 'scheduled' AND m.ends_at > ? "
    f"AND m.ends_at <= ? AND p.{OPEN_STATE_SQL} ORDER BY m.ends_at, p.id"
)
# News may be due at a top meeting when it has no news yet, or when a decision of it was
# confirmed since its last news: news carries every decision confirmed when it goes out,
# and nothing else makes one sendable (a retraction, of a decision awaiting confirmation
# only, leaves the confirmed ones as they were). ix_decision_meeting_confirmed (0014).
_LAST_NEWS = "SELECT MAX(at) FROM audit_event WHERE meeting_id = ? AND action = 'oogo_news'"
_CONFIRMED_SINCE = "SELECT 1 FROM decision WHERE meeting_id = ? AND confirmed_at >= ? LIMIT 1"
_STANDING = (
    "SELECT d.proposal_id, d.version, d.confirmed_at FROM decision d "
    f"WHERE {publication.STANDING_AT_MEETING}"
)
_UNCONFIRMED = _STANDING + " AND d.confirmed_at IS NULL LIMIT 1"


def defer_time(calendar: WorkCalendar, ends_at: datetime, hour: int) -> datetime:
    """The reminder hour of the first working day after the day the meeting ended."""
    return reminder_time(calendar, to_local(ends_at).date() + timedelta(days=1), hour)


def next_reminder(calendar: WorkCalendar, at: datetime, hour: int) -> datetime:
    """The first reminder hour (naive UTC) at or after ``at`` (naive UTC)."""
    day = to_local(at).date()
    found = reminder_time(calendar, day, hour)
    return found if found >= at else reminder_time(calendar, day + timedelta(days=1), hour)


def _item(kind: str, proposal_id: str, meeting_id: str) -> str:
    return f"{kind}:{proposal_id}@{meeting_id}"


class AfterMeetingRule:
    name = NAME

    def due(self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime) -> Iterator[Due]:
        hour = scheduler_settings(facts).reminder_hour
        yield from self._deferrals(tx, facts, now, horizon, hour)
        yield from self._news(tx, facts, now, horizon, hour)

    def _deferrals(
        self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime, hour: int
    ) -> Iterator[Due]:
        for pid, mid, body, ends in tx.all(_LEFT_OPEN, (now - LOOKBACK, horizon)):
            ends_at = as_datetime(ends)
            assert ends_at is not None
            at = defer_time(facts.calendar, ends_at, hour)
            if at <= horizon:
                detail = {"action": DEFER, "proposal": pid, "meeting": mid,
                          "day": to_local(ends_at).date().isoformat()}  # fmt: skip
                yield Due(NAME, _item(DEFER, pid, mid), None, at, detail, body)

    def _news(
        self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime, hour: int
    ) -> Iterator[Due]:
        top = facts.roles.top_body
        if top is None or not facts.roles.news_bodies:
            return
        for (mid,) in tx.all(
            "SELECT id FROM meeting WHERE body_id = ? AND starts_at > ? AND starts_at <= ?",
            (top, now - LOOKBACK, horizon),
        ):
            news_at = as_datetime(tx.scalar(_LAST_NEWS, (mid,)))
            if news_at is not None and tx.one(_CONFIRMED_SINCE, (mid, news_at)) is None:
                continue  # nothing confirmed since its news
            last = _news_due(tx, str(mid))
            if last is None:
                continue
            at = next_reminder(facts.calendar, last, hour)
            if at <= horizon:
                yield Due(NAME, f"{NEWS}:{mid}", None, at, {"action": NEWS, "meeting": mid}, top)

    def still_due(self, tx: Tx, due: Due) -> bool:
        """Inside the firing's transaction: the proposal still open on that meeting; the
        news still with every decision confirmed and something not sent yet."""
        d = due.detail
        if d["action"] == DEFER:
            row = tx.one("SELECT meeting_id, state FROM proposal WHERE id = ?", (d["proposal"],))
            return row is not None and row[0] == d["meeting"] and row[1] not in NOT_OPEN
        return _news_due(tx, d["meeting"]) is not None

    def fire(self, ch: Change, due: Due) -> None:
        d = due.detail
        try:
            if d["action"] == DEFER:
                lang = deferral.language(ch, _REASON)
                day = date.fromisoformat(d["day"])
                text = day.strftime("%d-%m-%Y") if lang == "nl" else day.isoformat()
                reason = _REASON[lang].format(day=text)
                deferral.defer(ch, d["proposal"], rule=NAME, reason=reason)
            else:
                publication.record_news(ch, repo.load_meeting(ch.tx, d["meeting"]))
        except RegieError as exc:  # no later meeting, nothing to send: tell the log
            log.warning("scheduler: %s of %s not done: %s", d["action"], d["meeting"], exc)


def _news_due(tx: Tx, meeting_id: str) -> datetime | None:
    """The last confirmation of the meeting's standing decisions when every one of them is
    confirmed and some were in no news yet; else None (nothing to send)."""
    if tx.one(_UNCONFIRMED, (meeting_id,)) is not None:
        return None  # the usual case while news is not due: stop at the first one
    rows = tx.all(_STANDING, (meeting_id,))
    times: list[Any] = [as_datetime(r[2]) for r in rows]
    if not times or any(c is None for c in times):
        return None
    sent = publication.news_sent(tx, meeting_id)
    if all((str(r[0]), int(r[1])) in sent for r in rows):
        return None
    return max(times)


RULE = register(AfterMeetingRule())
