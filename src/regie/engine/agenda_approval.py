"""The routing body sets the top meeting's agenda (seed 002: the chairs' meeting "stelt de
agenda van het OOGO vast").

An item reaches a meeting of the top body (``[structure] top_body``) only on an agenda
that the routing body (``routing_body``) approved: :func:`approve` records an
``agenda_approved`` event on the top meeting with the proposals on it at that moment and
the routing meeting on whose behalf it was approved. Approvals are events, read back by
:mod:`regie.engine.agenda_history`; there is no table to keep in step. An item placed on
the top meeting after its latest approval awaits a new one: the agenda is published
(:func:`regie.engine.agenda.publish_agenda`) with the approved items only, and a
decision on it is refused (:func:`require_on_approved_agenda`, called by
:func:`regie.engine.decisions.decide`). An approval that changes the items of an agenda
already published publishes it again in the same transaction (a calendar update to the
members).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from regie.clock import Clock
from regie.engine import agenda_history as history
from regie.engine import repository as repo
from regie.engine import roles
from regie.engine.agenda import PublishResult, agenda_items, record_publication, routing_name
from regie.engine.changes import Change, begin
from regie.engine.repository import MeetingRow
from regie.engine.storage import AnySession
from regie.errors import UsageError


@dataclass(frozen=True)
class ApprovalResult:
    meeting_id: str
    proposals: list[str]
    routing_body: str
    routing_meeting: str | None  # on whose behalf; None when no routing meeting has met
    republished: PublishResult | None  # the agenda sent again, when the approval changed it
    event_id: int


def _roles(ch: Change, meeting: MeetingRow) -> str:
    """The routing body, after checking that ``meeting`` is one of the top body's."""
    top, routing = ch.facts.roles.top_body, ch.facts.roles.routing_body
    if top is None or meeting.body_id != top:
        raise UsageError(
            f"meeting {meeting.id} is not a meeting of the top body "
            f"({top or 'none: set [structure] top_body in the region config'}); the routing "
            f"body approves the agendas of the top meeting only (see 'regie meetings --body "
            f"{top or 'BODY'}')"
        )
    if routing is None:
        raise UsageError(
            "the region names no routing body to approve the top meeting's agenda; set "
            "[structure] routing_body in the region config and run 'regie init --config FILE'"
        )
    return routing


def _on_behalf(ch: Change, routing: str, at: str | None) -> str | None:
    """The routing meeting the approval is recorded for: ``at``, else the latest meeting of
    the routing body that has started (None when it has not met yet)."""
    if at is None:
        found = ch.tx.scalar(
            "SELECT id FROM meeting WHERE body_id = ? AND starts_at <= ? AND status = ? "
            "ORDER BY starts_at DESC, id DESC LIMIT 1",
            (routing, ch.now, "scheduled"),
        )
        return str(found) if found is not None else None
    m = repo.load_meeting(ch.tx, at)
    if m.body_id != routing:
        raise UsageError(
            f"--at {at} is a meeting of '{m.body_id}'; name a meeting of the routing body "
            f"'{routing}' (see 'regie meetings --body {routing} --all')"
        )
    if m.status != "scheduled":
        raise UsageError(f"--at {at}: that meeting is {m.status}; name one that took place")
    if m.starts_at > ch.now:
        raise UsageError(
            f"--at {at} has not started yet; the {routing_name(ch)} approves the agenda at or "
            "after its meeting"
        )
    return m.id


def _last_published(ch: Change, meeting_id: str) -> list[str] | None:
    """The proposals of the agenda last published for the meeting (None: never published)."""
    payload = ch.tx.scalar(
        "SELECT payload FROM audit_event WHERE meeting_id = ? AND action = ? "
        "ORDER BY id DESC LIMIT 1",
        (meeting_id, "agenda_published"),
    )
    if payload is None:
        return None
    return [str(item.get("proposal")) for item in json.loads(payload).get("agenda", [])]


def approve(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    meeting_id: str,
    at: str | None = None,
) -> ApprovalResult:
    """The routing body approves the agenda of a coming top meeting as it is now (its
    chair or the coordinator records it, for the routing meeting ``at`` or the latest one
    that has started). A published agenda whose items change goes out again."""
    ch = begin(session, clock, actor)
    meeting = repo.load_meeting(ch.tx, meeting_id)
    routing = _roles(ch, meeting)
    roles.require_chair_or_coordinator(ch, routing, f"approve the agenda of {meeting_id}")
    if meeting.status != "scheduled":
        raise UsageError(f"meeting {meeting_id} is {meeting.status}; there is no agenda to approve")
    if meeting.starts_at <= ch.now:
        raise UsageError(
            f"meeting {meeting_id} has already started; its agenda is approved before the meeting"
        )
    on_behalf = _on_behalf(ch, routing, at)
    items = agenda_items(ch, meeting_id)
    proposals = [str(i["proposal"]) for i in items]
    ev = ch.record(
        "agenda_approved",
        meeting_id=meeting_id,
        payload={"proposals": proposals, "routing_body": routing, "routing_meeting": on_behalf},
    )
    published = _last_published(ch, meeting_id)
    again = None
    if published is not None and sorted(published) != sorted(proposals):
        again = record_publication(ch, meeting, items)
    ch.commit()
    return ApprovalResult(meeting_id, proposals, routing, on_behalf, again, ev.id)


def require_on_approved_agenda(ch: Change, proposal_id: str, meeting: MeetingRow | str) -> None:
    """Refuse unless the proposal's placement on ``meeting`` (a top meeting) is covered by
    the latest approval of its agenda. Meetings of other bodies need no approval."""
    m = repo.load_meeting(ch.tx, meeting) if isinstance(meeting, str) else meeting
    if m.body_id != ch.facts.roles.top_body or ch.facts.roles.routing_body is None:
        return
    if history.approval_covers(ch.tx, m.id, proposal_id):
        return
    raise UsageError(
        f"{proposal_id} is not on the agenda of {m.id} that the {routing_name(ch)} approved; "
        f"ask it to approve again: regie agenda approve {m.id}"
    )
