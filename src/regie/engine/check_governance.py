"""`regie check`: the governance rules replayed from the audit trail (issue 13).

* **Routes** (the routing body decides the route): every ``route_set`` event that names
  its routing meeting (payload ``meeting``; events recorded before this rule carry none and
  are not checked) names a meeting of the routing body that had started when the route
  was set, and is recorded on that meeting.
* **The top meeting's agenda** (the routing body sets it): every decision recorded at a
  meeting of the top body (``decided``, ``noted``) was on the latest approval of that
  meeting's agenda before it, placed there before that approval. Decisions recorded
  before the database's first ``agenda_approved`` event predate the rule and are not
  checked.
* **Concerned parties**: the parties stored for a proposal are those of its ``submitted``
  event, corrected by its ``parties_changed`` events (``parties_mismatch`` names the
  proposal and the event that gives its parties).
* **Attendance is what happened**: a prior position with a stance was given before its
  meeting started; "present" or "substitute" recorded with the meeting day in its payload
  was recorded on or after that day (events from before these rules carry neither key).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from regie.clock import to_local
from regie.engine import agenda_history as history
from regie.engine.storage import Tx, as_datetime

Finding = tuple[str, str, list[str]]  # (code, message, ids), as in replay.py


def governance_findings(tx: Tx, parties: Iterable[Finding]) -> Iterator[Finding]:
    """``parties``: the :func:`parties_findings` of every proposal, in order of its id
    (gathered by ``regie check`` while it streams the proposals)."""
    roles = _roles(tx)
    yield from _routes(tx, roles.get("routing_body"))
    yield from _top_decisions(tx, roles.get("top_body"))
    yield from parties
    yield from _timing(tx)


def _roles(tx: Tx) -> dict[str, Any]:
    value = tx.scalar("SELECT value FROM region_setting WHERE key = 'roles'")
    found = json.loads(value) if isinstance(value, str) else {}
    return found if isinstance(found, dict) else {}


def _routes(tx: Tx, routing: str | None) -> Iterator[Finding]:
    meetings = {
        r[0]: (r[1], as_datetime(r[2]))
        for r in tx.all("SELECT id, body_id, starts_at FROM meeting")
    }
    for ev_id, at, pid, meeting_id, payload in tx.all(
        "SELECT id, at, proposal_id, meeting_id, payload FROM audit_event "
        "WHERE action = 'route_set' ORDER BY id"
    ):
        data = json.loads(payload)
        named = data.get("meeting")
        if named is None:
            continue  # recorded before routes were set on behalf of a routing meeting
        ids = [pid or "", f"event {ev_id}"]
        body, starts = meetings.get(named, (None, None))
        expected = routing or data.get("routing_body")
        when = as_datetime(at)
        if body is None or starts is None or when is None:
            yield ("route_meeting_missing", f"route set for meeting {named}, which does not exist",
                   ids)  # fmt: skip
        elif body != expected or named != meeting_id:
            yield ("route_not_by_routing_body",
                   f"route set for meeting {named} of '{body}', not a meeting of the routing "
                   f"body '{expected}'", ids)  # fmt: skip
        elif starts > when:
            yield ("route_before_routing_meeting",
                   f"route set before its routing meeting {named} had started", ids)  # fmt: skip


def _top_decisions(tx: Tx, top: str | None) -> Iterator[Finding]:
    first = tx.scalar("SELECT MIN(id) FROM audit_event WHERE action = 'agenda_approved'")
    if top is None or first is None:
        return
    rows = tx.all(
        "SELECT e.id, e.proposal_id, e.meeting_id FROM audit_event e JOIN meeting m "
        "ON m.id = e.meeting_id WHERE e.action IN ('decided', 'noted') AND m.body_id = ? "
        "AND e.id > ? ORDER BY e.id",
        (top, first),
    )
    for ev_id, pid, meeting_id in rows:
        placed = [
            pl
            for pl in history.placements(tx, proposal_id=pid)
            if pl.meeting_id == meeting_id and pl.event_id < int(ev_id)
        ]
        approval = (
            history.latest_approval(
                tx, meeting_id, before_event=int(ev_id), after_event=placed[-1].event_id
            )
            if placed
            else None
        )
        if not placed or not history.is_approved(approval, placed[-1]):
            yield (
                "decision_not_on_approved_agenda",
                f"decided at {meeting_id}, but not on the agenda the routing body approved "
                "before it",
                [pid or "", meeting_id, f"event {ev_id}"],
            )


PARTY_ACTIONS = ("submitted", "parties_changed")


def parties_findings(
    pid: str, events: list[tuple[int, str, dict[str, Any]]], stored: set[str]
) -> Iterator[Finding]:
    """The concerned parties stored for one existing proposal against its ``submitted`` and
    ``parties_changed`` events (id, action, payload; in order of id)."""
    replayed: tuple[set[str], int] | None = None  # parties, the event that gives them
    for ev_id, action, data in events:
        if action == "submitted" and isinstance(data.get("parties"), list):
            replayed = ({str(x) for x in data["parties"]}, int(ev_id))
        elif action == "parties_changed" and replayed is not None:
            replayed = ({str(x) for x in data.get("after", [])}, int(ev_id))
    if replayed is not None and stored != replayed[0]:
        parties, ev_id = replayed
        yield (
            "parties_mismatch",
            f"proposal_party of {pid}: stored {sorted(stored)} but event "
            f"{ev_id} gives {sorted(parties)}",
            [pid, f"event {ev_id}"],
        )


def _timing(tx: Tx) -> Iterator[Finding]:
    starts = {r[0]: as_datetime(r[1]) for r in tx.all("SELECT id, starts_at FROM meeting")}
    for ev_id, at_raw, meeting_id, action, payload in tx.all(
        "SELECT id, at, meeting_id, action, payload FROM audit_event "
        "WHERE action IN ('prior_position', 'attendance') ORDER BY id"
    ):
        data, at, start = json.loads(payload), as_datetime(at_raw), starts.get(meeting_id)
        if at is None or start is None:
            continue  # a missing meeting is reported by the reference check
        ids = [meeting_id, str(data.get("person", "")), f"event {ev_id}"]
        if action == "prior_position" and "stance" in data and at >= start:
            yield (
                "prior_position_after_start",
                "a prior position was recorded after its meeting had started",
                ids,
            )
        day = data.get("meeting_day")
        if (
            action == "attendance"
            and isinstance(day, str)
            and data.get("status") in ("present", "substitute")
            and to_local(at).date().isoformat() < day
        ):
            yield (
                "present_before_the_meeting_day",
                f"'{data.get('status')}' was recorded on {to_local(at).date()}, before the "
                f"meeting day {day}",
                ids,
            )
