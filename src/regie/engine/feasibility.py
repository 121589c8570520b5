"""Feasibility of a follow-up (issue 18, rule 8; rules of conduct, point 7: "with every
decision that has a follow-up it must be established whether the ambition is feasible for
all parties; if not, tell the chair of the meeting in time what is feasible").

A proposal submitted with ``--follow-up`` asks every concerned party to state, before the
meeting of its **feasibility stage**, whether the follow-up is feasible for them. That
stage comes from the workflow, never from a body kind: the stage on the proposal's route
just before its final stage (in the built-in adoption workflow: the civil servants'
meeting, which prepares the top meeting's decision). A statement is a row in
``feasibility`` and a ``feasibility_stated`` event; the latest per proposal and party
stands. "Not feasible" (with what is feasible, ``--text``) notifies the chair of the
feasibility stage's body (notice ``feasibility_concern``, group ``named``).

Who may state for a party: a person of that party, a person with a mandate for it (in
force today, in any body), or the coordinator on the party's behalf.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from regie import text_input
from regie.clock import Clock, to_local
from regie.engine import repository as repo
from regie.engine.changes import begin
from regie.engine.machine import CLOSED_STATES
from regie.errors import NotAllowed, UsageError
from regie.workflows.definition import Workflow, bodies_for

if TYPE_CHECKING:
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import AnySession, Tx

STATED = "feasibility_stated"


@dataclass(frozen=True)
class Statement:
    event_id: int
    proposal_id: str
    party: str
    person: str
    feasible: bool
    text: str


def feasibility_stage(workflow: Workflow, route: list[str]) -> str | None:
    """The stage before which feasibility is stated: the one before the final stage on
    the route (None when the route reaches no earlier stage)."""
    if workflow.final not in route:
        return None
    at = route.index(workflow.final)
    return route[at - 1] if at > 0 else None


def stage_body_id(facts: RegionFacts, workflow: Workflow, table_id: str, stage: str) -> str | None:
    """The body a stage meets in (the proposal's table for the first stage)."""
    if stage == workflow.start:
        return table_id
    found = bodies_for(workflow.stage(stage).body, ((b.id, b.kind) for b in facts.bodies.values()))
    return found[0] if len(found) == 1 else None


def parties_of(tx: Tx, proposal_id: str) -> list[str]:
    rows = tx.all("SELECT party_id FROM proposal_party WHERE proposal_id = ? ORDER BY party_id",
                  (proposal_id,))  # fmt: skip
    return [str(r[0]) for r in rows]


def stated_parties(tx: Tx, proposal_id: str) -> set[str]:
    rows = tx.all("SELECT DISTINCT party_id FROM feasibility WHERE proposal_id = ?", (proposal_id,))
    return {str(r[0]) for r in rows}


def _may_speak_for(tx: Tx, person: str, party: str, day: date) -> bool:
    row = tx.one(
        "SELECT 1 FROM person WHERE id = ? AND party_id = ? UNION ALL "
        "SELECT 1 FROM mandate WHERE person_id = ? AND party_id = ? AND valid_from <= ? "
        "AND (valid_until IS NULL OR valid_until >= ?)",
        (person, party, person, party, day, day),
    )
    return row is not None


def state_feasibility(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    party: str | None = None,
    feasible: bool,
    text: str = "",
) -> Statement:
    """Record whether the follow-up of ``proposal_id`` is feasible for ``party`` (default:
    the acting person's own party)."""
    text = text_input.text(text, "the explanation (--text)", limit=text_input.SUMMARY_MAX)
    if not feasible and not text.strip():
        raise UsageError("say what is feasible instead with --text when the follow-up is not "
                         "feasible")  # fmt: skip
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    if not ch.tx.scalar("SELECT follow_up FROM proposal WHERE id = ?", (p.id,)):
        raise UsageError(f"{p.id} has no follow-up whose feasibility the parties state (it was "
                         "not submitted with --follow-up)")  # fmt: skip
    workflow = repo.workflow_for(ch.tx, p.workflow_digest).workflow
    stage = feasibility_stage(workflow, p.route)
    if (
        p.state in CLOSED_STATES
        or stage is None
        or p.state not in p.route[: p.route.index(stage) + 1]
    ):
        raise UsageError(f"{p.id} is past the meeting before which feasibility is stated "
                         f"(stage '{stage or '-'}'); tell its chair directly")  # fmt: skip
    concerned = parties_of(ch.tx, p.id)
    party = party or (None if ch.is_coordinator else ch.actor.party_id)
    if party is None:
        raise UsageError(f"for which party? give --party, one of: {', '.join(concerned)}")
    if party not in concerned:
        raise UsageError(f"'{party}' is not a concerned party of {p.id}; its concerned parties "
                         f"are: {', '.join(concerned)}")  # fmt: skip
    today = to_local(ch.now).date()
    if not ch.is_coordinator and not _may_speak_for(ch.tx, ch.actor.id, party, today):
        raise NotAllowed(ch.actor.id, f"state feasibility for '{party}'",
                         "only a person of that party, one with a mandate for it, or the "
                         "coordinator may")  # fmt: skip
    body = stage_body_id(ch.facts, workflow, p.table_id, stage)
    chair = ch.facts.bodies[body].chair if body in ch.facts.bodies else None
    name = ch.tx.scalar("SELECT COALESCE(short_name, name) FROM party WHERE id = ?", (party,))
    payload = {"party": party, "party_name": str(name or party), "feasible": feasible,
               "text": text.strip(), "stage": stage,
               "to": [chair] if chair and not feasible else []}  # fmt: skip
    ev = ch.record(STATED, proposal_id=p.id, meeting_id=p.meeting_id, acting_for=party,
                   payload=payload)  # fmt: skip
    ch.tx.execute(
        "INSERT INTO feasibility (proposal_id, party_id, person_id, feasible, text, stated_at, "
        "event_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (p.id, party, ch.actor.id, feasible, text.strip(), ch.now, ev.id),
    )
    ch.commit()
    return Statement(ev.id, p.id, party, ch.actor.id, feasible, text.strip())
