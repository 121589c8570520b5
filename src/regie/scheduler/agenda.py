"""Rule 6 of issue 18, agendas: each meeting's agenda goes out with its invite N working
days before the meeting (``agenda_working_days``, per body; default 7), at the reminder
hour of that publication day.

For each scheduled meeting whose agenda was not published yet (no ``agenda_published``
event for it, also not by hand with ``regie publish``):

* **publish** (the ``agenda_published`` event of :func:`regie.engine.agenda.record_publication`,
  its ``agenda`` mails with the invite to the members): at the publication day's reminder
  hour, with the meeting's open items. The top meeting's (``[structure] top_body``) agenda
  holds only the items the routing body approved (:mod:`regie.engine.agenda_approval`);
  items placed since the approval wait for a new one and are left out.
* **top meeting not approved** (a ``reminder_sent`` event with ``"rule": "agenda"``; its
  notice ``agenda_unapproved`` goes to the coordinator): when none of the top meeting's
  open items is on an approved agenda, a warning :data:`WARN_WORKING_DAYS` working days
  before the publication day (in time for the routing body to approve), and again on the
  publication day, when nothing is published. An approval that comes after the
  publication day makes the publication overdue: it goes out at the next sweep.
* **empty agenda** (an ``agenda_empty`` event; notice ``agenda_empty`` to the
  coordinator): on the publication day a meeting without open items is not mailed to its
  members; the coordinator is asked whether to cancel it. Should items be placed on it
  later, the publication is overdue and goes out at the next sweep.

Once the meeting has started nothing is due. A moved meeting gives new due times.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from regie.clock import to_local
from regie.engine import agenda as publication
from regie.engine import agenda_history as history
from regie.engine import repository as repo
from regie.engine.calendar import working_days_before
from regie.engine.facts import region_facts
from regie.engine.storage import as_datetime
from regie.scheduler.rules import Due, register, reminder_time
from regie.scheduler.settings import scheduler_settings
from regie.workflows.definition import bodies_for

if TYPE_CHECKING:
    from regie.engine.calendar import WorkCalendar
    from regie.engine.changes import Change
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import Tx

log = logging.getLogger("regie.scheduler")

NAME = "agenda"
WARN_WORKING_DAYS = 2  # the first warning about an unapproved top agenda: this many
# working days before the publication day
PUBLISH, WARN, UNPUBLISHED, EMPTY = "publish", "warn", "unpublished", "empty"
_ACTION = {WARN: "reminder_sent", UNPUBLISHED: "reminder_sent", EMPTY: "agenda_empty"}
_OPEN_STATES = ("awaiting_confirmation", "decided", "noted", "withdrawn")  # not on an agenda


@dataclass(frozen=True)
class Times:
    publish_on: date  # local day
    publish_at: datetime  # naive UTC
    warn_at: datetime  # naive UTC: the top meeting's early warning


def times(calendar: WorkCalendar, starts_at: datetime, working_days: int, hour: int) -> Times:
    """When the agenda of a meeting starting at ``starts_at`` (naive UTC) goes out, and
    when the coordinator is warned first about an unapproved top agenda."""
    day = working_days_before(calendar, to_local(starts_at).date(), working_days)
    warn_day = working_days_before(calendar, day, WARN_WORKING_DAYS)
    return Times(day, reminder_time(calendar, day, hour), reminder_time(calendar, warn_day, hour))


def _lookahead(working_days: int) -> timedelta:
    """Calendar days from a first warning to its meeting, at most: weekends and up to two
    weeks of holidays and closed days on top of the working days."""
    return timedelta(days=2 * (working_days + WARN_WORKING_DAYS) + 14)


def _open_items(tx: Tx, meeting_ids: list[str]) -> dict[str, list[str]]:
    """meeting -> the proposals on its agenda (still in a stage of their workflow)."""
    if not meeting_ids:
        return {}
    marks = ", ".join("?" for _ in meeting_ids)
    closed = ", ".join("?" for _ in _OPEN_STATES)
    found: dict[str, list[str]] = {}
    for pid, mid in tx.all(
        f"SELECT id, meeting_id FROM proposal WHERE meeting_id IN ({marks}) "
        f"AND state NOT IN ({closed})",
        (*meeting_ids, *_OPEN_STATES),
    ):
        found.setdefault(str(mid), []).append(str(pid))
    return found


def _what(tx: Tx, facts: RegionFacts, meeting_id: str, body: str, items: list[str]) -> str:
    """What the publication day brings: ``publish``, ``empty`` or (top meeting without an
    approved item) ``unpublished``."""
    if not items:
        return EMPTY
    if body == facts.roles.top_body:
        approved = history.approved_items(tx, meeting_id)
        if not approved.intersection(items):
            return UNPUBLISHED
    return PUBLISH


def _published(tx: Tx, meeting_id: str) -> bool:
    return (
        tx.one(
            "SELECT 1 FROM audit_event WHERE meeting_id = ? AND action = 'agenda_published' "
            "LIMIT 1",
            (meeting_id,),
        )
        is not None
    )


def route_bodies(tx: Tx, facts: RegionFacts) -> frozenset[str]:
    """The bodies a proposal can meet in: those the stages of the region's workflows name.
    Other bodies (a municipality's own council, say) keep their own agendas: regie neither
    publishes theirs nor asks whether to cancel their meetings."""
    found = facts.cache.get("route_bodies")
    if isinstance(found, frozenset):
        return found
    kinds = [(b.id, b.kind) for b in facts.bodies.values()]
    purposes = [k.removeprefix("workflow.") for k in facts.settings if k.startswith("workflow.")]
    refs = {
        stage.body
        for purpose in purposes
        for stage in repo.current_workflow(tx, purpose).workflow.stages
    }
    found = frozenset(b for ref in refs for b in bodies_for(ref, kinds))
    facts.cache["route_bodies"] = found
    return found


class AgendaRule:
    name = NAME

    def due(self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime) -> Iterator[Due]:
        settings = scheduler_settings(facts)
        days = {b: settings.agenda_working_days(b) for b in route_bodies(tx, facts)}
        if not days:
            return
        latest = horizon + _lookahead(max(days.values()))
        rows = tx.all(
            "SELECT m.id, m.body_id, m.starts_at FROM meeting m WHERE m.status = 'scheduled' "
            "AND m.starts_at > ? AND m.starts_at <= ? AND NOT EXISTS (SELECT 1 FROM "
            "audit_event e WHERE e.meeting_id = m.id AND e.action = 'agenda_published') "
            "ORDER BY m.starts_at, m.id",
            (now, latest),
        )
        found: list[tuple[str, str, datetime, Times]] = []
        for mid, body, starts in rows:
            if body not in days:
                continue  # not a body any route meets in
            starts_at = as_datetime(starts)
            assert starts_at is not None
            t = times(facts.calendar, starts_at, days.get(body, 0), settings.reminder_hour)
            if t.warn_at <= horizon:
                found.append((str(mid), str(body), starts_at, t))
        items = _open_items(tx, [f[0] for f in found])
        for mid, body, starts_at, t in found:
            what = _what(tx, facts, mid, body, items.get(mid, []))
            detail = {"meeting": mid, "publish_on": t.publish_on.isoformat(),
                      "starts_at": starts_at.isoformat(), "action": what}  # fmt: skip
            if what == UNPUBLISHED and now < t.publish_at:
                yield Due(NAME, f"{WARN}:{mid}", facts.coordinator, t.warn_at,
                          {**detail, "action": WARN}, body)  # fmt: skip
            if t.publish_at <= horizon:
                person = None if what == PUBLISH else facts.coordinator
                yield Due(NAME, f"{what}:{mid}", person, t.publish_at, detail, body)

    def still_due(self, tx: Tx, due: Due) -> bool:
        """Inside the firing's transaction: the meeting still scheduled, its agenda not
        published, and the publication day still bringing what it did."""
        mid = due.detail["meeting"]
        row = tx.one("SELECT status, body_id FROM meeting WHERE id = ?", (mid,))
        if row is None or row[0] != "scheduled" or _published(tx, mid):
            return False
        what = _what(tx, region_facts(tx), mid, str(row[1]), _open_items(tx, [mid]).get(mid, []))
        wanted = UNPUBLISHED if due.detail["action"] == WARN else due.detail["action"]
        return what == wanted

    def fire(self, ch: Change, due: Due) -> None:
        d = due.detail
        meeting = repo.load_meeting(ch.tx, d["meeting"])
        if meeting.starts_at <= ch.now:
            log.warning("scheduler: the agenda of %s is due, but it has started", meeting.id)
            return
        if d["action"] == PUBLISH:
            _publish(ch, meeting)
            return
        payload: dict[str, Any] = {"rule": NAME, "publish_on": d["publish_on"]}
        if d["action"] in (WARN, UNPUBLISHED):
            routing = ch.facts.roles.routing_body
            article = ch.tx.scalar("SELECT article FROM body WHERE id = ?", (routing,))
            payload.update(
                missing="approval",
                final=d["action"] == UNPUBLISHED,
                items=len(publication.agenda_items(ch, meeting.id)),
                routing_body=publication.routing_name(ch),
                routing_article=article or "",
            )
        ch.record(_ACTION[d["action"]], meeting_id=meeting.id, payload=payload)


def _publish(ch: Change, meeting: repo.MeetingRow) -> None:
    """The agenda as ``regie publish`` sends it, without its commit (the sweep commits)."""
    items = publication.agenda_items(ch, meeting.id)
    awaiting = 0
    if meeting.body_id == ch.facts.roles.top_body:
        approved = history.approved_items(ch.tx, meeting.id)
        awaiting = len([i for i in items if i["proposal"] not in approved])
        items = [i for i in items if i["proposal"] in approved]
    publication.record_publication(ch, meeting, items, awaiting=awaiting)


RULE = register(AgendaRule())
