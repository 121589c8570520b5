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
    for start in range(0, len(proposal_ids), 400):
        chunk = proposal_ids[start : start + 400]
        actions = tuple(LEAVING)
        rows = tx.all(
            f"SELECT proposal_id, id, action FROM audit_event WHERE proposal_id IN "
            f"({', '.join('?' for _ in chunk)}) AND action IN "
            f"({', '.join('?' for _ in actions)}) ORDER BY id",
            (*chunk, *actions),
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
