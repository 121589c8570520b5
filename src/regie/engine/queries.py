"""Read services for the CLI (and later the web): plain dicts, ready for JSON.

Ids and ISO times are the stable part of each dict. Given ``lang``, a service adds the
words people read (``state_label``, ``purpose_label``…, from :mod:`regie.labels`) beside
the ids; names of bodies, parties and people are added always.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from regie import labels
from regie.clock import to_local
from regie.dispute.revisits import links as revisit_links
from regie.engine import audit
from regie.engine import repository as repo
from regie.engine.agenda_history import counts_per_meeting, pending_route_proposals, placements
from regie.engine.filters import check_filters, require_known
from regie.engine.moves import allowed_moves
from regie.engine.routing import may_route
from regie.engine.storage import AnySession, Tx, as_datetime
from regie.workflows.definition import Workflow

_NAMED = ("person", "party", "body")  # tables with an id and a name


def _local(value: Any) -> str | None:
    dt = as_datetime(value)
    return to_local(dt).isoformat(timespec="minutes") if dt else None


def show_proposal(
    *, session: AnySession, proposal_id: str, lang: str | None = None
) -> dict[str, Any]:
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
    out = {
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
        "proposed_route": _proposed_route(tx, cw.workflow, p),
        "decisions": decisions,
        "agenda": agenda,
        **revisit_links(tx, p.id),  # "reopens" and "reopened_by" (issue 19)
    }
    bodies = _names(tx, "body", [p.table_id, meeting.body_id if meeting else ""])
    out["table_name"] = bodies.get(p.table_id, p.table_id)
    out["meeting_body_name"] = bodies.get(meeting.body_id) if meeting else None
    out["party_names"] = _names(tx, "party", out["parties"])
    if lang:
        _add_show_labels(out, cw.workflow, labels.language(lang))
    return out


def _proposed_route(tx: Tx, wf: Workflow, p: repo.ProposalRow) -> list[str] | None:
    """The route proposed for the routing body to decide, while it may still decide it."""
    if not may_route(wf, p.state):
        return None
    pending = pending_route_proposals(tx, [p.id]).get(p.id)
    return list(pending["route"]) if pending else None


def _add_show_labels(out: dict[str, Any], wf: Workflow, lang: str) -> None:
    out["purpose_label"] = labels.purpose(wf, lang)
    out["state_label"] = labels.state(wf, out["state"], lang)
    out["stage_label"] = labels.stage(wf, out["stage"], lang)
    out["route_labels"] = [labels.stage(wf, s, lang) for s in out["route"]]
    proposed = out["proposed_route"]
    out["proposed_route_labels"] = [labels.stage(wf, s, lang) for s in proposed or []] or None
    out["moves"] = [_move(wf, text, lang) for text in out["moves_allowed"]]
    for d in out["decisions"]:
        d["outcome_label"] = labels.outcome(wf, d["outcome"], lang)
    for a in out["agenda"]:
        a["stage_label"] = labels.stage(wf, a["stage"], lang)
        a["result_label"] = labels.action(a["result"], lang) if a["result"] else None


def _move(wf: Workflow, text: str, lang: str) -> dict[str, Any]:
    """``"return (to table or chairs)"`` (from :func:`allowed_moves`) as its command and
    target stages, with their words."""
    move, _, rest = text.partition(" (to ")
    targets = rest.removesuffix(")").split(" or ") if rest else []
    return {"move": move, "to": targets, "to_labels": [labels.stage(wf, t, lang) for t in targets]}


def list_proposals(
    *,
    session: AnySession,
    stage: str | None = None,
    body: str | None = None,
    purpose: str | None = None,
    party: str | None = None,
    state: str | None = None,
    limit: int | None = None,
    lang: str | None = None,
) -> list[dict[str, Any]]:
    """Proposals, newest first (by submission; the same moment: the higher id first, so
    ``P-2026-1000`` before ``P-2026-999``); at most ``limit`` (None: all). A filter value
    that names nothing known is a usage error listing the known ones."""
    return proposal_page(
        session=session, stage=stage, body=body, purpose=purpose, party=party, state=state,
        limit=limit, lang=lang, count=False,
    )["items"]  # fmt: skip


def proposal_page(
    *,
    session: AnySession,
    stage: str | None = None,
    body: str | None = None,
    purpose: str | None = None,
    party: str | None = None,
    state: str | None = None,
    limit: int | None = 50,
    lang: str | None = None,
    count: bool = True,
) -> dict[str, Any]:
    """One page of :func:`list_proposals`: ``items`` and ``total``, the number of proposals
    the filters match (None when ``count`` is false). Filters and order run in SQL, on the
    indexes of migration 0007."""
    tx = Tx(session)
    check_filters(tx, stage=stage, body=body, purpose=purpose, party=party, state=state)
    where, params = _list_where(stage=stage, body=body, purpose=purpose, party=party, state=state)
    rows = tx.all(
        "SELECT p.id, p.title, p.purpose, p.stage, p.state, p.meeting_id, m.body_id, "
        "m.starts_at, b.name, p.workflow_digest "
        "FROM proposal p LEFT JOIN meeting m ON m.id = p.meeting_id "
        "LEFT JOIN body b ON b.id = m.body_id "
        f"WHERE {where} ORDER BY p.submitted_at DESC, {_NEWEST_ID}"
        + (" LIMIT ?" if limit is not None else ""),
        [*params, limit] if limit is not None else params,
    )
    total: int | None = None
    if count:
        total = len(rows)
        if limit is not None and total >= limit:
            join = " JOIN meeting m ON m.id = p.meeting_id" if body is not None else ""
            total = int(tx.scalar(f"SELECT COUNT(*) FROM proposal p{join} WHERE {where}", params))
    items = []
    for r in rows:
        item = {
            "id": r[0],
            "title": r[1],
            "purpose": r[2],
            "stage": r[3],
            "state": r[4],
            "meeting": r[5],
            "body": r[6],
            "meeting_starts_at": _local(r[7]),
            "body_name": r[8],
        }
        if lang:
            _add_item_labels(item, repo.workflow_for(tx, r[9]).workflow, labels.language(lang))
        items.append(item)
    return {"items": items, "total": total}


# ids.order_by_proposal, reversed: the higher number first
_NEWEST_ID = "substr(p.id, 1, 7) DESC, length(p.id) DESC, p.id DESC"


def _list_where(**filters: str | None) -> tuple[str, list[Any]]:
    where, params = ["1 = 1"], []
    for name in ("stage", "purpose", "state"):
        if filters[name] is not None:
            where.append(f"p.{name} = ?")
            params.append(filters[name])
    if filters["body"] is not None:
        where.append("m.body_id = ?")
        params.append(filters["body"])
    if filters["party"] is not None:
        where.append("p.id IN (SELECT pp.proposal_id FROM proposal_party pp WHERE pp.party_id = ?)")
        params.append(filters["party"])
    return " AND ".join(where), params


def _add_item_labels(item: dict[str, Any], wf: Workflow, lang: str) -> None:
    item["purpose_label"] = labels.purpose(wf, lang)
    item["stage_label"] = labels.stage(wf, item["stage"], lang)
    item["state_label"] = labels.state(wf, item["state"], lang)


def list_meetings(
    *,
    session: AnySession,
    now: datetime,
    body: str | None = None,
    include_past: bool = False,
    limit: int = 50,
    lang: str | None = None,
) -> list[dict[str, Any]]:
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if body is not None:
        require_known(body, (str(r[0]) for r in Tx(session).all("SELECT id FROM body")), "body")
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
        | ({"status_label": labels.meeting_status(r[6], lang)} if lang else {})
        for r in rows
    ]


def timeline(
    *, session: AnySession, proposal_id: str, lang: str | None = None
) -> list[dict[str, Any]]:
    tx = Tx(session)
    p = repo.load_proposal(tx, proposal_id)
    events = [event_dict(ev) for ev in audit.events_for(session, proposal_id)]
    if lang:
        wf = repo.workflow_for(tx, p.workflow_digest).workflow
        for e in events:
            e["action_label"] = labels.action(e["action"], lang)
            e["payload_labels"] = _payload_labels(wf, e["payload"], labels.language(lang))
    return events


def _payload_labels(wf: Workflow, payload: dict[str, Any], lang: str) -> dict[str, str]:
    """The words for the ids in an event's payload (stages, outcome, route, status)."""
    words: dict[str, str] = {}
    for key in ("to", "from", "stage"):
        if isinstance(payload.get(key), str):
            words[key] = labels.stage(wf, payload[key], lang)
    if isinstance(payload.get("outcome"), str):
        words["outcome"] = labels.outcome(wf, payload["outcome"], lang)
    if isinstance(payload.get("route"), list):
        words["route"] = labels.route(wf, [str(s) for s in payload["route"]], lang)
    if isinstance(payload.get("status"), str):
        words["status"] = labels.attendance(payload["status"], lang)
    return words


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
        "os_user": ev.os_user,  # the account that wrote it (the actor is who it claimed to be)
        "host": ev.host,
        "key_id": ev.key_id,  # the key its MAC was made with (None: no key then)
    }


def people(
    *, session: AnySession, ids: Sequence[str] = (), lang: str | None = None
) -> list[dict[str, Any]]:
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
        | ({"language_label": labels.language_name(r[4], lang)} if lang else {})
        for r in rows
        if not ids or r[0] in ids
    ]


def language(*, session: AnySession, person: str | None = None) -> str:
    """The language to speak to ``person`` in: theirs, else the region's, else Dutch."""
    tx = Tx(session)
    if person:
        theirs = tx.scalar("SELECT language FROM person WHERE id = ?", (person,))
        if theirs in labels.LANGUAGES:
            return str(theirs)
    stored = tx.scalar("SELECT value FROM region_setting WHERE key = 'language'")
    region = json.loads(stored) if isinstance(stored, str) and stored.startswith('"') else None
    return labels.language(region)


def vocabulary(
    *,
    session: AnySession,
    lang: str,
    proposal_id: str | None = None,
    meeting_id: str | None = None,
    people: Sequence[str] = (),
    parties: Sequence[str] = (),
    bodies: Sequence[str] = (),
) -> dict[str, Any]:
    """The words to tell what a change did: the proposal's workflow words in ``lang``
    (keyed as :func:`labels.workflow_labels`), the meeting (body name, start) and the
    names of people, parties and bodies."""
    tx = Tx(session)
    words: dict[str, str] = {}
    if proposal_id:
        p = repo.load_proposal(tx, proposal_id)
        wf = repo.workflow_for(tx, p.workflow_digest).workflow
        words = labels.workflow_labels(wf)[labels.language(lang)]
    return {
        "words": words,
        "meeting": meeting_brief(tx, meeting_id) if meeting_id else None,
        "people": _names(tx, "person", people),
        "parties": _names(tx, "party", parties),
        "bodies": _names(tx, "body", bodies),
    }


def meeting_brief(tx: Tx, meeting_id: str) -> dict[str, Any]:
    """A meeting as people name it: its body's name and its start."""
    row = tx.one(
        "SELECT m.id, m.body_id, b.name, m.starts_at FROM meeting m "
        "JOIN body b ON b.id = m.body_id WHERE m.id = ?",
        (meeting_id,),
    )
    row = row or (meeting_id, None, meeting_id, None)  # `regie check` reports a lost meeting
    return {"id": row[0], "body": row[1], "body_name": row[2], "starts_at": _local(row[3])}


def _names(tx: Tx, table: str, ids: Sequence[str]) -> dict[str, str]:
    """``id -> name`` from a table of :data:`_NAMED`, for the ids given (in their order)."""
    assert table in _NAMED
    wanted = [i for i in dict.fromkeys(ids) if i]
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = dict(tx.all(f"SELECT id, name FROM {table} WHERE id IN ({marks})", wanted))
    return {i: str(rows[i]) for i in wanted if i in rows}
