"""Who decides a proposal's route, and when (seed 002: the chairs' meeting "hier worden
routes bepaald").

A route other than the default is set by or on behalf of the routing body
(``[structure] routing_body``; without one, the body the workflow's ``route_setter``
stage meets in) at its meeting: from the start of the routing meeting the proposal is on
(at the ``route_setter`` stage), ``regie route`` records ``route_set`` with that meeting.
Before it, the coordinator or the routing body's chair may only *propose* a route
(``route_proposed``), shown on the routing meeting's agenda, while the proposal is at or
before the ``route_setter`` stage. :func:`regie.engine.moves.set_route` is the service;
this module holds its rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from regie.engine import repository as repo
from regie.engine import roles
from regie.engine.changes import Change
from regie.engine.machine import CompiledWorkflow
from regie.engine.placement import stage_body
from regie.engine.repository import MeetingRow, ProposalRow
from regie.errors import UsageError
from regie.workflows.definition import Workflow, format_route


@dataclass(frozen=True)
class RouteResult:
    proposal_id: str
    action: str  # route_proposed | route_set
    route: list[str]
    routing_body: str
    meeting_id: str | None  # set: the routing meeting; proposed: the one that will decide
    event_id: int


def may_route(wf: Workflow, state: str) -> bool:
    """A route may be proposed or set while the proposal is at or before the
    ``route_setter`` stage."""
    stages = [s.id for s in wf.stages]
    return state in stages and stages.index(state) <= stages.index(wf.route_setter)


def refusal(wf: Workflow, p: ProposalRow) -> str | None:
    """Why no route can be given now, or None."""
    if may_route(wf, p.state):
        return None
    return f"a route is proposed or set up to the '{wf.route_setter}' stage"


def routing_body(ch: Change, wf: Workflow, p: ProposalRow) -> str:
    return ch.facts.roles.routing_body or stage_body(ch, wf, p, wf.route_setter)


def _routing_meeting(ch: Change, wf: Workflow, p: ProposalRow, body: str) -> MeetingRow | None:
    """The meeting of the routing body the proposal is on at its route_setter stage."""
    if p.state != wf.route_setter or p.meeting_id is None:
        return None
    m = p.meeting or repo.load_meeting(ch.tx, p.meeting_id)
    return m if m.body_id == body else None


def record_route(ch: Change, cw: CompiledWorkflow, p: ProposalRow, route: list[str]) -> RouteResult:
    """Propose the route, or set it when the routing meeting has started (no commit)."""
    wf = cw.workflow
    body = routing_body(ch, wf, p)
    roles.require_chair_or_coordinator(ch, body, f"give the route of {p.id}")
    wf.check_route(route)
    if wf.route_setter not in route:
        raise UsageError(
            f"route '{format_route(route)}' does not pass '{wf.route_setter}', where the "
            "routing body decides it; give a route through that stage"
        )
    meeting = _routing_meeting(ch, wf, p, body)
    payload: dict[str, object] = {"route": route, "previous": p.route}
    if meeting is None or meeting.starts_at > ch.now:
        decides = meeting.id if meeting else None
        ev = ch.record(
            "route_proposed",
            proposal_id=p.id,
            meeting_id=p.meeting_id,
            payload={**payload, "routing_meeting": decides},
        )
        return RouteResult(p.id, "route_proposed", route, body, decides, ev.id)
    repo.save_move(
        ch.tx, p, state=p.state, stage=p.stage, meeting_id=p.meeting_id, now=ch.now, route=route
    )
    ev = ch.record(
        "route_set",
        proposal_id=p.id,
        meeting_id=meeting.id,
        payload={**payload, "meeting": meeting.id, "routing_body": body},
    )
    return RouteResult(p.id, "route_set", route, body, meeting.id, ev.id)
