"""Agenda history, read from the audit trail.

Every time a proposal is put on a meeting the audit trail has an event for it
(``submitted``, ``advanced``, ``returned``, ``deferred``) whose ``meeting_id`` is that
meeting; the next state event of the proposal says how it left the meeting. So the agenda
of any meeting, past or coming, follows from the events: there is no second copy to keep
in step, and a transition writes one row besides the proposal.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from regie.engine.storage import Tx, as_datetime

PLACING = ("submitted", "advanced", "returned", "deferred")
LEAVING = {
    "advanced": "advanced",
    "returned": "returned",
    "deferred": "deferred",
    "withdrawn": "withdrawn",
    "decided": "decided",
    "noted": "noted",
}


@dataclass(frozen=True)
class Placement:
    event_id: int
    meeting_id: str
    proposal_id: str
    stage: str
    placed_at: datetime  # naive UTC
    result: str | None  # how it left the meeting; None while it is still on it


def _stage(action: str, payload: dict[str, Any]) -> str:
    if action == "submitted":
        route = payload.get("route") or [""]
        return str(route[0])
    if action == "deferred":
        return str(payload.get("stage", ""))
    return str(payload.get("to", ""))


def placements(
    tx: Tx, *, meeting_id: str | None = None, proposal_id: str | None = None
) -> list[Placement]:
    """Placements of one meeting or of one proposal, oldest first, with their result."""
    column, value = ("meeting_id", meeting_id) if meeting_id else ("proposal_id", proposal_id)
    rows = tx.all(
        f"SELECT id, meeting_id, proposal_id, action, payload, at FROM audit_event "
        f"WHERE {column} = ? AND action IN ({', '.join('?' for _ in PLACING)}) ORDER BY id",
        (value, *PLACING),
    )
    leaving = _leaving_events(tx, sorted({r[2] for r in rows}))
    out = []
    for ev_id, mid, pid, action, payload, at in rows:
        nxt = next((a for e, a in leaving.get(pid, []) if e > ev_id), None)
        when = as_datetime(at)
        assert when is not None
        out.append(
            Placement(int(ev_id), mid, pid, _stage(action, json.loads(payload)), when,
                      LEAVING.get(nxt) if nxt else None)
        )  # fmt: skip
    return out


def _leaving_events(tx: Tx, proposal_ids: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    actions = tuple(LEAVING)
    rows = tx.all_in(
        "SELECT proposal_id, id, action FROM audit_event WHERE proposal_id IN ({marks}) "
        f"AND action IN ({', '.join('?' for _ in actions)}) ORDER BY id",
        proposal_ids,
        actions,
    )
    for pid, ev_id, action in rows:
        found[pid].append((int(ev_id), action))
    return found


def counts_per_meeting(tx: Tx, meeting_ids: Sequence[str]) -> dict[str, int]:
    """How many placements each meeting had (one scan of the trail)."""
    if not meeting_ids:
        return {}
    rows = tx.all(
        f"SELECT meeting_id, COUNT(*) FROM audit_event WHERE meeting_id IN "
        f"({', '.join('?' for _ in meeting_ids)}) AND action IN "
        f"({', '.join('?' for _ in PLACING)}) GROUP BY meeting_id",
        (*meeting_ids, *PLACING),
    )
    return {mid: int(n) for mid, n in rows}


# -- the routing body's approvals of the top meeting's agenda, and proposed routes --------


@dataclass(frozen=True)
class Approval:
    """An ``agenda_approved`` event: the items of a top meeting the routing body approved."""

    event_id: int
    at: datetime  # naive UTC
    actor: str
    proposals: tuple[str, ...]
    routing_meeting: str | None  # on whose behalf; None when no routing meeting had met


def latest_approval(
    tx: Tx, meeting_id: str, *, before_event: int | None = None, after_event: int | None = None
) -> Approval | None:
    """The newest approval of ``meeting_id``'s agenda (older than ``before_event``, newer
    than ``after_event``), read on the index of the meeting's events by action (migration
    0008): the cost does not grow with the trail."""
    sql = "SELECT id, at, actor, payload FROM audit_event WHERE meeting_id = ? AND action = ?"
    params: tuple[Any, ...] = (meeting_id, "agenda_approved")
    if before_event is not None:
        sql, params = sql + " AND id < ?", (*params, before_event)
    if after_event is not None:
        sql, params = sql + " AND id > ?", (*params, after_event)
    return _approval(tx.one(sql + " ORDER BY id DESC LIMIT 1", params))


# approval event hash -> the proposals it names. An event never changes (the trail is
# append-only) and its hash covers its payload, so a long-running process parses each
# approval's agenda once, not once per decision on it.
_APPROVED: dict[str, frozenset[str]] = {}
_APPROVED_KEPT = 32


def approval_covers(tx: Tx, meeting_id: str, proposal_id: str) -> bool:
    """Does the newest approval of ``meeting_id``'s agenda recorded after the proposal's
    latest placement on it name the proposal? (False: none since, or never placed there.)
    One query on the indexes of the proposal's events and of the meeting's approvals, and
    the approval's agenda read once per process: the cost grows neither with the trail
    nor with the agenda."""
    row = tx.one(
        "SELECT id, hash FROM audit_event WHERE meeting_id = ? AND action = ? "
        "AND id > (SELECT MAX(id) FROM audit_event WHERE proposal_id = ? "
        # || '': the proposal's own events are the few to scan, not the meeting's placements
        f"AND meeting_id || '' = ? AND action IN ({', '.join('?' for _ in PLACING)})) "
        "ORDER BY id DESC LIMIT 1",
        (meeting_id, "agenda_approved", proposal_id, meeting_id, *PLACING),
    )
    if row is None:
        return False
    event_id, digest = int(row[0]), str(row[1])
    named = _APPROVED.get(digest)
    if named is None:
        payload = tx.scalar("SELECT payload FROM audit_event WHERE id = ?", (event_id,))
        named = frozenset(str(p) for p in json.loads(payload).get("proposals", []))
        if len(_APPROVED) >= _APPROVED_KEPT:
            _APPROVED.clear()  # a few top meetings at a time are decided on
        _APPROVED[digest] = named
    return proposal_id in named


def _approval(row: tuple[Any, ...] | None) -> Approval | None:
    if row is None:
        return None
    payload = json.loads(row[3])
    when = as_datetime(row[1])
    assert when is not None
    return Approval(
        int(row[0]),
        when,
        str(row[2]),
        tuple(str(p) for p in payload.get("proposals", [])),
        payload.get("routing_meeting"),
    )


def is_approved(approval: Approval | None, placement: Placement) -> bool:
    """Was this placement on the agenda the approval covers? An item placed after the
    approval (even one approved before and placed again) awaits a new approval."""
    return (
        approval is not None
        and placement.proposal_id in approval.proposals
        and placement.event_id < approval.event_id
    )


def approved_items(tx: Tx, meeting_id: str) -> set[str]:
    """The proposals whose latest placement on the meeting the latest approval covers
    (the caller keeps those still on it)."""
    approval = latest_approval(tx, meeting_id)
    latest = {pl.proposal_id: pl for pl in placements(tx, meeting_id=meeting_id)}
    return {pid for pid, pl in latest.items() if is_approved(approval, pl)}


def pending_route_proposals(tx: Tx, proposal_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per proposal the newest ``route_proposed`` event that no ``route_set`` followed:
    ``{"route": [...], "event": id, "at": naive UTC, "actor": id}``."""
    found: dict[str, dict[str, Any]] = {}
    rows = tx.all_in(
        "SELECT proposal_id, id, action, payload, at, actor FROM audit_event WHERE "
        "proposal_id IN ({marks}) AND action IN (?, ?) ORDER BY id",
        list(dict.fromkeys(proposal_ids)),
        ("route_proposed", "route_set"),
    )
    for pid, ev_id, action, payload, at, actor in rows:
        if action == "route_set":
            found.pop(pid, None)
            continue
        route = [str(s) for s in json.loads(payload).get("route", [])]
        found[pid] = {"route": route, "event": int(ev_id), "at": as_datetime(at),
                      "actor": actor}  # fmt: skip
    return found
