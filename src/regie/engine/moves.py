"""Proposal services: submit, set the route, advance, return, defer, withdraw.

Every function is keyword-only, takes an explicit session and clock, runs as one
transaction (state with compare-and-set, agenda, audit event, outbox) and commits it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from regie import text_input
from regie.clock import Clock, to_local
from regie.dispute import revisits as revisit_check
from regie.engine import repository as repo
from regie.engine import roles, routing, submission
from regie.engine.changes import Change, begin
from regie.engine.machine import CLOSED_STATES, CompiledWorkflow
from regie.engine.placement import Placement, place, stage_body
from regie.engine.repository import ProposalRow
from regie.engine.routing import RouteResult
from regie.engine.storage import AnySession
from regie.errors import InvalidMove

TITLE_MAX = text_input.TITLE_MAX  # callers and tests read it here


@dataclass(frozen=True)
class MoveResult:
    proposal_id: str
    action: str
    state: str
    stage: str
    meeting_id: str | None
    meeting_starts_at: datetime | None  # naive UTC
    late: bool
    event_id: int

    def as_dict(self) -> dict[str, object]:
        starts = self.meeting_starts_at
        return {
            "proposal": self.proposal_id,
            "action": self.action,
            "state": self.state,
            "stage": self.stage,
            "meeting": self.meeting_id,
            "meeting_starts_at": to_local(starts).isoformat() if starts else None,
            "late": self.late,
            "event": self.event_id,
        }


def allowed_moves(cw: CompiledWorkflow, p: ProposalRow) -> list[str]:
    moves = []
    for move in cw.moves_from(p.state):
        if move == "advance":
            nxt = cw.workflow.next_stage(p.route, p.state)
            if nxt is None:
                continue
            moves.append(f"advance (to {nxt})")
        elif move == "return":
            targets = return_targets(cw, p)
            if targets:
                moves.append(f"return (to {' or '.join(targets)})")
        elif move == "decide" and p.route and p.route[-1] != p.state:
            continue  # an end stage, but not where this proposal's route ends
        else:
            moves.append(move)
    if routing.may_route(cw.workflow, p.state):
        moves.append("route")
    return moves


def return_targets(cw: CompiledWorkflow, p: ProposalRow) -> list[str]:
    """Earlier stages the proposal may go back to: those of the workflow that are on its
    own route (a stage the chairs' meeting left out would have no way forward)."""
    return [t for t in cw.targets(p.state, "return") if t in p.route]


def _refuse(cw: CompiledWorkflow, p: ProposalRow, move: str, why: str = "") -> InvalidMove:
    return InvalidMove(p.id, p.state, move, allowed_moves(cw, p), why)


def _result(
    ch: Change, p: ProposalRow, action: str, pl: Placement | None, event_id: int
) -> MoveResult:
    return MoveResult(
        p.id,
        action,
        p.state,
        p.stage,
        p.meeting_id,
        pl.meeting.starts_at if pl else None,
        pl.late if pl else False,
        event_id,
    )


def _reason(text: str, *, required: bool = False) -> str:
    return text_input.line(text, "the reason (--reason)", required=required)


def submit(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    title: str,
    purpose: str,
    table: str | None = None,
    parties: Sequence[str],
    summary: str = "",
    focus_point: str | None = None,
    admin_lead: str | None = None,
    official_lead: str | None = None,
    documents: Sequence[str] = (),
    meeting: str | None = None,
    addressee: str | None = None,
    follow_up: bool = False,
    revisits: str | None = None,
    reason: str | None = None,
    not_related: bool = False,
) -> MoveResult:
    """A new proposal at its originating table, on that table's next open meeting.
    ``table`` may be left out when the workflow's first stage has only one body.
    ``follow_up``: a decision with a follow-up, whose concerned parties state whether it
    is feasible (:mod:`regie.engine.feasibility`). When it is like earlier final decisions
    the coordinator says whether it reopens one (``revisits`` with a ``reason``) or not
    (``not_related``); without either it is refused (:mod:`regie.dispute.revisits`)."""
    title = text_input.title(title)
    summary = text_input.text(summary, "the summary (--summary)", limit=text_input.SUMMARY_MAX)
    documents = text_input.links(documents)
    ch = begin(session, clock, actor)
    cw = repo.current_workflow(ch.tx, purpose)
    table = submission.start_table(ch, cw, table)
    submission.check_refs(ch, parties, focus_point, (admin_lead, official_lead))
    to = submission.addressee(ch, cw, addressee)
    submission.check_follow_up(cw, follow_up)
    roles.require_member_or_coordinator(ch, table, "submit a proposal to this table")
    choice = revisit_check.choose(
        ch.tx,
        title=title,
        summary=summary.strip(),
        focus_point=focus_point,
        revisits=revisits,
        reason=reason,
        not_related=not_related,
    )
    year = to_local(ch.now).year
    pid = f"P-{year}-{repo.next_proposal_number(ch.tx, year):03d}"
    start = cw.workflow.start
    pl = place(ch, table, chosen=meeting)
    route = list(cw.workflow.default_route)
    ch.tx.execute(
        "INSERT INTO proposal (id, title, summary, purpose, workflow_digest, table_id, "
        "focus_point, admin_lead, official_lead, documents, route, stage, state, meeting_id, "
        "version, submitted_by, submitted_at, updated_at, addressee, follow_up) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
        (
            pid,
            title,
            summary.strip(),
            purpose,
            cw.workflow.digest,
            table,
            focus_point,
            admin_lead,
            official_lead,
            json.dumps(list(documents)),
            json.dumps(route),
            start,
            start,
            pl.meeting.id,
            ch.actor.id,
            ch.now,
            ch.now,
            to,
            follow_up,
        ),
    )
    for party in sorted(set(parties)):
        ch.tx.execute(
            "INSERT INTO proposal_party (proposal_id, party_id) VALUES (?, ?)", (pid, party)
        )
    revisit_check.record(ch.tx, pid, choice, ch.now)
    ev = ch.record(
        "submitted",
        proposal_id=pid,
        meeting_id=pl.meeting.id,
        payload={
            "title": title,
            "summary": summary.strip(),  # compared by `regie check` (absent before #14)
            "purpose": purpose,
            "table": table,
            "parties": sorted(set(parties)),
            "route": route,
            "late": pl.late,
            "workflow": cw.workflow.digest,
            "focus_point": focus_point,
            "admin_lead": admin_lead,
            "official_lead": official_lead,
            "documents": list(documents),
            "addressee": to,
            "follow_up": follow_up,
            **choice.payload(),
        },
    )
    ch.commit()
    p = ProposalRow(
        pid, title, purpose, cw.workflow.digest, table, route, start, start, pl.meeting.id, 1
    )
    return _result(ch, p, "submitted", pl, ev.id)


def _open(
    session: AnySession, clock: Clock, actor: str | None, proposal_id: str
) -> tuple[Change, ProposalRow, CompiledWorkflow]:
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    return ch, p, repo.workflow_for(ch.tx, p.workflow_digest)


def _require_stage_authority(ch: Change, cw: CompiledWorkflow, p: ProposalRow, action: str) -> str:
    """The body the proposal is at now; its chair or the coordinator may move it."""
    if p.state in CLOSED_STATES or p.state not in [s.id for s in cw.workflow.stages]:
        raise _refuse(cw, p, action)
    body = stage_body(ch, cw.workflow, p, p.state)
    roles.require_chair_or_coordinator(ch, body, f"{action} {p.id}")
    return body


def set_route(
    *, session: AnySession, clock: Clock, actor: str | None, proposal_id: str, route: Sequence[str]
) -> RouteResult:
    """The routing body's route, set on behalf of its meeting once that meeting has
    started; before it, a proposed route shown on its agenda (see :mod:`routing`)."""
    ch, p, cw = _open(session, clock, actor, proposal_id)
    why = routing.refusal(cw.workflow, p)
    if why is not None:
        raise _refuse(cw, p, "give the route", why)
    result = routing.record_route(ch, cw, p, list(route))
    ch.commit()
    return result


def _require_meeting_held(ch: Change, cw: CompiledWorkflow, p: ProposalRow, move: str) -> None:
    if p.meeting_id is None:
        return
    m = p.meeting or repo.load_meeting(ch.tx, p.meeting_id)
    if m.starts_at > ch.now:
        when = to_local(m.starts_at).strftime("%Y-%m-%d %H:%M")
        raise _refuse(
            cw,
            p,
            move,
            f"it is on meeting {m.id} at {when}; it can {move} once that meeting has started",
        )


def advance(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    meeting: str | None = None,
) -> MoveResult:
    """To the next stage of its route, on that body's next open meeting."""
    ch, p, cw = _open(session, clock, actor, proposal_id)
    _require_stage_authority(ch, cw, p, "advance")
    target = cw.workflow.next_stage(p.route, p.state)
    if target is None:
        raise _refuse(
            cw, p, "advance", "it is at its final stage; record the outcome with 'regie decide'"
        )
    _require_meeting_held(ch, cw, p, "advance")
    new_state = cw.fire(p.state, "advance", target)
    if new_state is None:
        raise _refuse(cw, p, "advance")
    pl = place(ch, stage_body(ch, cw.workflow, p, target), chosen=meeting)
    return _finish_move(ch, p, new_state, pl, "advanced", {"from": p.state, "to": target})


def return_(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    to: str,
    reason: str = "",
    meeting: str | None = None,
) -> MoveResult:
    """Back to an earlier stage (e.g. from the AO to the table), on its next open meeting."""
    ch, p, cw = _open(session, clock, actor, proposal_id)
    _require_stage_authority(ch, cw, p, "return")
    if to in cw.targets(p.state, "return") and to not in p.route:
        raise _refuse(
            cw, p, f"return to '{to}'", f"'{to}' is not on its route {' -> '.join(p.route)}"
        )
    new_state = cw.fire(p.state, "return", to)
    if new_state is None:
        raise _refuse(cw, p, f"return to '{to}'")
    pl = place(ch, stage_body(ch, cw.workflow, p, to), chosen=meeting)
    return _finish_move(
        ch, p, new_state, pl, "returned", {"from": p.state, "to": to, "reason": _reason(reason)}
    )


def defer(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    reason: str = "",
    meeting: str | None = None,
) -> MoveResult:
    """To the next meeting of the same body."""
    ch, p, cw = _open(session, clock, actor, proposal_id)
    body = _require_stage_authority(ch, cw, p, "defer")
    new_state = cw.fire(p.state, "defer")
    if new_state is None:
        raise _refuse(cw, p, "defer")
    current = p.meeting or (repo.load_meeting(ch.tx, p.meeting_id) if p.meeting_id else None)
    pl = place(ch, body, chosen=meeting, after=current)
    return _finish_move(
        ch,
        p,
        new_state,
        pl,
        "deferred",
        {"stage": p.state, "from_meeting": p.meeting_id, "reason": _reason(reason)},
    )


def _finish_move(
    ch: Change,
    p: ProposalRow,
    new_state: str,
    pl: Placement,
    action: str,
    payload: dict[str, object],
) -> MoveResult:
    old_meeting = p.meeting_id
    repo.save_move(ch.tx, p, state=new_state, stage=new_state, meeting_id=pl.meeting.id, now=ch.now)
    payload = {"from_meeting": old_meeting, **payload, "meeting": pl.meeting.id, "late": pl.late}
    ev = ch.record(action, proposal_id=p.id, meeting_id=pl.meeting.id, payload=payload)
    ch.commit()
    return _result(ch, p, action, pl, ev.id)


def withdraw(
    *, session: AnySession, clock: Clock, actor: str | None, proposal_id: str, reason: str
) -> MoveResult:
    """Take the proposal out of the process for good."""
    ch, p, cw = _open(session, clock, actor, proposal_id)
    _require_stage_authority(ch, cw, p, "withdraw")
    reason = _reason(reason, required=True)
    new_state = cw.fire(p.state, "withdraw")
    if new_state is None:
        raise _refuse(cw, p, "withdraw")
    old_meeting, stage = p.meeting_id, p.stage
    repo.save_move(ch.tx, p, state=new_state, stage=stage, meeting_id=None, now=ch.now)
    ev = ch.record(
        "withdrawn",
        proposal_id=p.id,
        meeting_id=old_meeting,
        payload={"stage": stage, "reason": reason},
    )
    ch.commit()
    return _result(ch, p, "withdrawn", None, ev.id)
