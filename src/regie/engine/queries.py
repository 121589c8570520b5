"""Read services for the CLI (and later the web): plain dicts, ready for JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from regie.clock import to_local
from regie.engine import audit
from regie.engine import repository as repo
from regie.engine.agenda_history import counts_per_meeting, placements
from regie.engine.moves import allowed_moves
from regie.engine.storage import AnySession, Tx, as_datetime


def _local(value: Any) -> str | None:
    dt = as_datetime(value)
    return to_local(dt).isoformat(timespec="minutes") if dt else None


def show_proposal(*, session: AnySession, proposal_id: str) -> dict[str, Any]:
    tx = Tx(session)
    p = repo.load_proposal(tx, proposal_id)
    cw = repo.workflow_for(tx, p.workflow_digest)
    row = tx.one(
        "SELECT summary, focus_point, admin_lead, official_lead, documents, submitted_by, "
        "submitted_at, updated_at FROM proposal WHERE id = ?",
        (p.id,),
    )
    assert row is not None
    meeting = repo.load_meeting(tx, p.meeting_id) if p.meeting_id else None
    decisions = [
        {
            "version": r[0],
            "meeting": r[1],
            "outcome": r[2],
            "text": r[3],
            "override": r[4],
            "recorded_by": r[5],
            "recorded_at": _local(r[6]),
            "confirmed_by": r[7],
            "confirmed_at": _local(r[8]),
        }
        for r in tx.all(
            "SELECT version, meeting_id, outcome, text, override_reason, recorded_by, "
            "recorded_at, confirmed_by, confirmed_at FROM decision WHERE proposal_id = ? "
            "ORDER BY version",
            (p.id,),
        )
    ]
    history = placements(tx, proposal_id=p.id)
    starts = dict(
        tx.all(
            "SELECT id, starts_at FROM meeting WHERE id IN "
            f"({', '.join('?' for _ in history) or 'NULL'})",
            [pl.meeting_id for pl in history],
        )
    )
    agenda = [
        {
            "meeting": pl.meeting_id,
            "stage": pl.stage,
            "starts_at": _local(starts.get(pl.meeting_id)),
            "result": pl.result,
        }
        for pl in history
    ]
    return {
        "id": p.id,
        "title": p.title,
        "summary": row[0],
        "purpose": p.purpose,
        "table": p.table_id,
        "parties": repo.concerned_parties(tx, p.id),
        "focus_point": row[1],
        "admin_lead": row[2],
        "official_lead": row[3],
        "documents": json.loads(row[4]),
        "route": p.route,
        "stage": p.stage,
        "state": p.state,
        "meeting": p.meeting_id,
        "meeting_starts_at": _local(meeting.starts_at) if meeting else None,
        "workflow": p.workflow_digest[:12],
        "submitted_by": row[5],
        "submitted_at": _local(row[6]),
        "updated_at": _local(row[7]),
        "moves_allowed": allowed_moves(cw, p),
        "decisions": decisions,
        "agenda": agenda,
    }


def list_proposals(
    *,
    session: AnySession,
    stage: str | None = None,
    body: str | None = None,
    purpose: str | None = None,
    party: str | None = None,
    state: str | None = None,
) -> list[dict[str, Any]]:
    where, params = ["1 = 1"], []
    for column, value in (("p.stage", stage), ("p.purpose", purpose), ("p.state", state)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if body:
        where.append("m.body_id = ?")
        params.append(body)
    if party:
        where.append(
            "EXISTS (SELECT 1 FROM proposal_party pp WHERE pp.proposal_id = p.id "
            "AND pp.party_id = ?)"
        )
        params.append(party)
    rows = Tx(session).all(
        "SELECT p.id, p.title, p.purpose, p.stage, p.state, p.meeting_id, m.body_id, m.starts_at "
        "FROM proposal p LEFT JOIN meeting m ON m.id = p.meeting_id "
        f"WHERE {' AND '.join(where)} ORDER BY p.submitted_at, p.id",
        params,
    )
    return [
        {
            "id": r[0],
            "title": r[1],
            "purpose": r[2],
            "stage": r[3],
            "state": r[4],
            "meeting": r[5],
            "body": r[6],
            "meeting_starts_at": _local(r[7]),
        }
        for r in rows
    ]


def list_meetings(
    *,
    session: AnySession,
    now: datetime,
    body: str | None = None,
    include_past: bool = False,
    limit: int = 50,
) -> list[dict[str, Any]]:
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if body:
        where.append("m.body_id = ?")
        params.append(body)
    if not include_past:
        where.append("m.ends_at >= ?")
        params.append(now)
    rows = Tx(session).all(
        "SELECT m.id, m.body_id, b.name, m.starts_at, m.ends_at, m.location, m.status "
        "FROM meeting m "
        f"JOIN body b ON b.id = m.body_id WHERE {' AND '.join(where)} "
        "ORDER BY m.starts_at, m.id LIMIT ?",
        [*params, limit],
    )
    counts = counts_per_meeting(Tx(session), [r[0] for r in rows])
    return [
        {
            "id": r[0],
            "body": r[1],
            "body_name": r[2],
            "starts_at": _local(r[3]),
            "ends_at": _local(r[4]),
            "location": r[5],
            "status": r[6],
            "items": counts.get(r[0], 0),
        }
        for r in rows
    ]


def agenda(*, session: AnySession, meeting_id: str) -> dict[str, Any]:
    tx = Tx(session)
    meeting = repo.load_meeting(tx, meeting_id)
    items = []
    for pl in placements(tx, meeting_id=meeting_id):
        r = tx.one(
            "SELECT title, purpose, documents, state FROM proposal WHERE id = ?", (pl.proposal_id,)
        )
        if r is None:
            continue  # `regie check` reports events of missing proposals
        items.append(
            {
                "proposal": pl.proposal_id,
                "title": r[0],
                "purpose": r[1],
                "stage": pl.stage,
                "result": pl.result,
                "documents": json.loads(r[2]),
                "state": r[3],
                "parties": repo.concerned_parties(tx, pl.proposal_id),
            }
        )
    attendance = [
        {"person": r[0], "party": r[1], "status": r[2], "substitute_for": r[3]}
        for r in tx.all(
            "SELECT person_id, party_id, status, substitute_for FROM attendance "
            "WHERE meeting_id = ? ORDER BY person_id",
            (meeting_id,),
        )
    ]
    return {
        "meeting": meeting.id,
        "body": meeting.body_id,
        "starts_at": _local(meeting.starts_at),
        "status": meeting.status,
        "items": items,
        "attendance": attendance,
    }


def timeline(*, session: AnySession, proposal_id: str) -> list[dict[str, Any]]:
    repo.load_proposal(Tx(session), proposal_id)
    return [event_dict(ev) for ev in audit.events_for(session, proposal_id)]


def event_dict(ev: audit.Event) -> dict[str, Any]:
    return {
        "id": ev.id,
        "at": to_local(ev.at).isoformat(timespec="seconds"),
        "at_utc": ev.at.isoformat(timespec="microseconds") + "Z",
        "actor": ev.actor,
        "acting_for": ev.acting_for,
        "action": ev.action,
        "proposal": ev.proposal_id,
        "meeting": ev.meeting_id,
        "payload": ev.payload,
        "hash": ev.hash,
    }


def people(*, session: AnySession, ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    rows = Tx(session).all(
        "SELECT id, name, email, party_id, language, active FROM person ORDER BY party_id, id"
    )
    return [
        {
            "id": r[0],
            "name": r[1],
            "email": r[2],
            "party": r[3],
            "language": r[4],
            "active": bool(r[5]),
        }
        for r in rows
        if not ids or r[0] in ids
    ]
