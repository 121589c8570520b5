"""The agenda of a meeting, past or coming, as people read it (``regie agenda MEETING``).

Read from the audit trail (:mod:`regie.engine.agenda_history`): the items placed on the
meeting and how each left it, the route proposed for an item the routing body is to
decide (:mod:`regie.engine.routing`), and for a meeting of the top body the routing
body's latest approval of the agenda and the items that await one
(:mod:`regie.engine.agenda_approval`).
"""

from __future__ import annotations

import json
from typing import Any

from regie import labels
from regie.engine import agenda_history as history
from regie.engine import repository as repo
from regie.engine.changes import region_facts
from regie.engine.queries import _add_item_labels, _local, _names, meeting_brief
from regie.engine.storage import AnySession, Tx
from regie.workflows.definition import Workflow


def agenda(*, session: AnySession, meeting_id: str, lang: str | None = None) -> dict[str, Any]:
    tx = Tx(session)
    meeting = repo.load_meeting(tx, meeting_id)
    roles = region_facts(tx).roles
    top = meeting.body_id == roles.top_body and roles.routing_body is not None
    approval = history.latest_approval(tx, meeting_id) if top else None
    placed = history.placements(tx, meeting_id=meeting_id)
    proposed = history.pending_route_proposals(tx, [pl.proposal_id for pl in placed])
    items = []
    for pl in placed:
        r = tx.one(
            "SELECT title, purpose, documents, state, workflow_digest FROM proposal WHERE id = ?",
            (pl.proposal_id,),
        )
        if r is None:
            continue  # `regie check` reports events of missing proposals
        wf = repo.workflow_for(tx, r[4]).workflow
        pending = proposed.get(pl.proposal_id)
        awaiting = top and pl.result is None and not history.is_approved(approval, pl)
        item = {
            "proposal": pl.proposal_id,
            "title": r[0],
            "purpose": r[1],
            "stage": pl.stage,
            "result": pl.result,
            "documents": json.loads(r[2]),
            "state": r[3],
            "parties": repo.concerned_parties(tx, pl.proposal_id),
            "proposed_route": (
                pending["route"]
                if pending and pl.result is None and pl.stage == wf.route_setter
                else None
            ),
            "approved": history.is_approved(approval, pl) if top else None,
            "awaiting_approval": awaiting,
        }
        item["party_names"] = _names(tx, "party", item["parties"])
        if lang:
            _add_labels(item, wf, labels.language(lang))
        items.append(item)
    out = {
        "meeting": meeting.id,
        "body": meeting.body_id,
        "starts_at": _local(meeting.starts_at),
        "status": meeting.status,
        "items": items,
        "attendance": _attendance(tx, meeting_id),
        "body_name": _names(tx, "body", [meeting.body_id]).get(meeting.body_id),
        "needs_approval": top,
        "approval": _approval(tx, approval),
        "routing_body": roles.routing_body if top else None,
        "routing_body_name": (
            _names(tx, "body", [roles.routing_body]).get(roles.routing_body)
            if top and roles.routing_body
            else None
        ),
    }
    if lang:
        out["status_label"] = labels.meeting_status(meeting.status, lang)
    return out


def _add_labels(item: dict[str, Any], wf: Workflow, lang: str) -> None:
    _add_item_labels(item, wf, lang)
    result = item["result"]
    item["result_label"] = labels.action(result, lang) if result else None
    route = item["proposed_route"]
    item["proposed_route_labels"] = [labels.stage(wf, s, lang) for s in route] if route else None


def _attendance(tx: Tx, meeting_id: str) -> list[dict[str, Any]]:
    return [
        {"person": r[0], "party": r[1], "status": r[2], "substitute_for": r[3]}
        for r in tx.all(
            "SELECT person_id, party_id, status, substitute_for FROM attendance "
            "WHERE meeting_id = ? ORDER BY person_id",
            (meeting_id,),
        )
    ]


def _approval(tx: Tx, approval: history.Approval | None) -> dict[str, Any] | None:
    if approval is None:
        return None
    held = approval.routing_meeting
    return {
        "event": approval.event_id,
        "at": _local(approval.at),
        "by": approval.actor,
        "proposals": list(approval.proposals),
        "routing_meeting": meeting_brief(tx, held) if held else None,
    }
