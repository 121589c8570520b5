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


BATCH = 5000  # events read at a time: memory does not grow with the trail


def events(tx: Tx, columns: str, where: str, *, after: int = 0) -> Iterator[tuple[Any, ...]]:
    """(id, COLUMNS…) of the audit events matching WHERE (with an id above ``after``) in
    order of id, read BATCH at a time (keyset on the id, so each read starts where the
    last one ended)."""
    last = after
    while True:
        rows = tx.all(
            f"SELECT id, {columns} FROM audit_event WHERE {where} AND id > ? "
            f"ORDER BY id LIMIT {BATCH}",
            (last,),
        )
        yield from rows
        if len(rows) < BATCH:
            return
        last = int(rows[-1][0])


def _roles(tx: Tx) -> dict[str, Any]:
    value = tx.scalar("SELECT value FROM region_setting WHERE key = 'roles'")
    found = json.loads(value) if isinstance(value, str) else {}
    return found if isinstance(found, dict) else {}


def _routes(tx: Tx, routing: str | None) -> Iterator[Finding]:
    meetings = {
        r[0]: (r[1], as_datetime(r[2]))
        for r in tx.all("SELECT id, body_id, starts_at FROM meeting")
    }
    for ev_id, at, pid, meeting_id, payload in events(
        tx, "at, proposal_id, meeting_id, payload", "action = 'route_set'"
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
    """One pass over the approvals and decisions in order of id: for each top meeting only
    its newest approval so far is kept (the newest approval before a decision is the one
    :func:`history.latest_approval` finds after the item's placement, if any is)."""
    first = tx.scalar("SELECT MIN(id) FROM audit_event WHERE action = 'agenda_approved'")
    if top is None or first is None:
        return
    top_meetings = {str(r[0]) for r in tx.all("SELECT id FROM meeting WHERE body_id = ?", (top,))}
    latest: dict[str, int] = {}  # top meeting -> its newest approval event so far
    approved: tuple[int, frozenset[str]] = (0, frozenset())  # the last approval read
    for ev_id, action, pid, meeting_id in events(
        tx,
        "action, proposal_id, meeting_id",
        "action IN ('agenda_approved', 'decided', 'noted')",
        after=int(first) - 1,
    ):
        if meeting_id not in top_meetings:
            continue
        if action == "agenda_approved":
            latest[meeting_id] = int(ev_id)
            continue
        placed = [
            pl
            for pl in history.placements(tx, proposal_id=pid)
            if pl.meeting_id == meeting_id and pl.event_id < int(ev_id)
        ]
        approval = latest.get(meeting_id)
        if placed and approval is not None and approval > placed[-1].event_id:
            if approved[0] != approval:
                approved = (approval, _approved(tx, approval))
            if pid in approved[1]:
                continue
        yield (
            "decision_not_on_approved_agenda",
            f"decided at {meeting_id}, but not on the agenda the routing body approved before it",
            [pid or "", meeting_id, f"event {ev_id}"],
        )


def _approved(tx: Tx, event_id: int) -> frozenset[str]:
    """The proposals an ``agenda_approved`` event lists."""
    payload = json.loads(
        str(tx.scalar("SELECT payload FROM audit_event WHERE id = ?", (event_id,)))
    )
    return frozenset(str(p) for p in payload.get("proposals", []))


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
    for ev_id, at_raw, meeting_id, action, payload in events(
        tx, "at, meeting_id, action, payload", "action IN ('prior_position', 'attendance')"
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
