"""Raw reads and writes of proposals and meetings on the hot path (see storage.Tx)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from regie.engine.machine import CompiledWorkflow, compiled
from regie.engine.storage import Tx, as_datetime
from regie.errors import ConcurrentChange, NotFound
from regie.workflows.definition import Workflow, stored_workflow

_PROPOSAL_COLS = (
    "id, title, purpose, workflow_digest, table_id, route, stage, state, meeting_id, version"
)


@dataclass
class ProposalRow:
    id: str
    title: str
    purpose: str
    workflow_digest: str
    table_id: str
    route: list[str]
    stage: str
    state: str
    meeting_id: str | None
    version: int
    meeting: MeetingRow | None = None  # the meeting it is on, read with it


@dataclass(frozen=True)
class MeetingRow:
    id: str
    body_id: str
    starts_at: datetime  # naive UTC
    ends_at: datetime
    status: str


def load_proposal(tx: Tx, proposal_id: str) -> ProposalRow:
    """The proposal and the meeting it is on, in one read."""
    row = tx.one(
        f"SELECT {', '.join('p.' + c for c in _PROPOSAL_COLS.split(', '))}, "
        "m.id, m.body_id, m.starts_at, m.ends_at, m.status "
        "FROM proposal p LEFT JOIN meeting m ON m.id = p.meeting_id WHERE p.id = ?",
        (proposal_id,),
    )
    if row is None:
        raise NotFound("proposal", proposal_id, "see 'regie list'")
    meeting = _meeting(row[10:]) if row[10] is not None else None
    return ProposalRow(
        row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7], row[8], row[9],
        meeting,
    )  # fmt: skip


def save_move(
    tx: Tx,
    p: ProposalRow,
    *,
    state: str,
    stage: str,
    meeting_id: str | None,
    now: datetime,
    route: list[str] | None = None,
) -> None:
    """Compare-and-set: only if nobody changed the proposal since we read it."""
    if route is None:
        tx.execute(
            "UPDATE proposal SET state = ?, stage = ?, meeting_id = ?, version = version + 1, "
            "updated_at = ? WHERE id = ? AND version = ? AND state = ?",
            (state, stage, meeting_id, now, p.id, p.version, p.state),
        )
    else:
        tx.execute(
            "UPDATE proposal SET state = ?, stage = ?, meeting_id = ?, route = ?, "
            "version = version + 1, updated_at = ? WHERE id = ? AND version = ? AND state = ?",
            (state, stage, meeting_id, json.dumps(route), now, p.id, p.version, p.state),
        )
    if tx.rowcount != 1:
        raise ConcurrentChange(p.id, p.state)
    if meeting_id != p.meeting_id:
        p.meeting = None
    p.state, p.stage, p.meeting_id, p.version = state, stage, meeting_id, p.version + 1
    if route is not None:
        p.route = route


_WORKFLOWS: dict[str, Workflow] = {}


def workflow_for(tx: Tx, digest: str) -> CompiledWorkflow:
    """The workflow version a proposal follows, from the stored text (cached by digest)."""
    wf = _WORKFLOWS.get(digest)
    if wf is None:
        row = tx.one("SELECT text, source FROM workflow_version WHERE digest = ?", (digest,))
        if row is None:
            raise NotFound("workflow version", digest[:12])
        wf = stored_workflow(row[0], row[1])  # validated when regie init stored it
        _WORKFLOWS[digest] = wf
    return compiled(wf)


def current_workflow(tx: Tx, purpose: str) -> CompiledWorkflow:
    """The newest loaded workflow version for a purpose (new proposals follow it)."""
    value = tx.scalar("SELECT value FROM region_setting WHERE key = ?", (f"workflow.{purpose}",))
    if value is None:
        raise NotFound("workflow", purpose, "use information, adoption or advice")
    return workflow_for(tx, json.loads(value))


def load_meeting(tx: Tx, meeting_id: str) -> MeetingRow:
    row = tx.one(
        "SELECT id, body_id, starts_at, ends_at, status FROM meeting WHERE id = ?", (meeting_id,)
    )
    if row is None:
        raise NotFound("meeting", meeting_id, "see 'regie meetings'")
    return _meeting(row)


def _meeting(row: tuple[Any, ...]) -> MeetingRow:
    starts, ends = as_datetime(row[2]), as_datetime(row[3])
    assert starts is not None and ends is not None
    return MeetingRow(row[0], row[1], starts, ends, row[4])


def upcoming_meetings(
    tx: Tx, body_id: str, after: datetime, limit: int | None = 8
) -> list[MeetingRow]:
    """Scheduled meetings of a body starting after ``after`` (all of them: limit None)."""
    sql = (
        "SELECT id, body_id, starts_at, ends_at, status FROM meeting WHERE body_id = ? "
        "AND starts_at > ? AND status = 'scheduled' ORDER BY starts_at, id"
    )
    params: tuple[Any, ...] = (body_id, after)
    if limit is not None:
        sql, params = sql + " LIMIT ?", (*params, limit)
    rows = tx.all(sql, params)
    return [_meeting(r) for r in rows]


def body_of_kind(tx: Tx, kind: str) -> str:
    cache: dict[str, str] = tx.session.info.setdefault("regie_body_kinds", {})
    found = cache.get(kind)
    if found is None:
        found = tx.scalar("SELECT id FROM body WHERE kind = ? AND active = ?", (kind, True))
        if found is None:
            raise NotFound("body of kind", kind, "add it to the region config")
        cache[kind] = found
    return str(found)


def body_chair(tx: Tx, body_id: str) -> str:
    return str(tx.scalar("SELECT chair_id FROM body WHERE id = ?", (body_id,)))


def is_member(tx: Tx, body_id: str, person_id: str) -> bool:
    return (
        tx.one(
            "SELECT 1 FROM body_member WHERE body_id = ? AND person_id = ?", (body_id, person_id)
        )
        is not None
    )


def concerned_parties(tx: Tx, proposal_id: str) -> list[str]:
    rows = tx.all(
        "SELECT party_id FROM proposal_party WHERE proposal_id = ? ORDER BY party_id",
        (proposal_id,),
    )
    return [r[0] for r in rows]


def parties_of(tx: Tx, proposal_ids: Sequence[str]) -> list[str]:
    """The parties any of the proposals concerns, sorted (one query per 400 proposals)."""
    rows = tx.all_in(
        "SELECT DISTINCT party_id FROM proposal_party WHERE proposal_id IN ({marks})",
        proposal_ids,
    )
    return sorted({str(r[0]) for r in rows})


def next_proposal_number(tx: Tx, year: int) -> int:
    """The next number of the year: one upsert, safe with concurrent writers."""
    value = tx.scalar(
        "INSERT INTO counter (name, value) VALUES (?, 1) ON CONFLICT (name) "
        "DO UPDATE SET value = counter.value + 1 RETURNING value",
        (f"proposal-{year}",),
    )
    return int(value)
