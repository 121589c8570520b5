"""Correcting a proposal's concerned parties after it was submitted.

Which parties an item concerns is fixed for every item at every meeting (seed 002), and
the mandate check at the deciding meeting follows it. A wrong or missing party is
corrected by the coordinator or the routing body's chair, with a reason, as one
``parties_changed`` event (before/after) in the same transaction as the rows; never for a
closed proposal or while a recorded decision awaits confirmation (the decision was
checked against the parties as they were).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from regie import text_input
from regie.clock import Clock
from regie.engine import repository as repo
from regie.engine import roles
from regie.engine.changes import Change, begin
from regie.engine.machine import AWAITING, CLOSED_STATES
from regie.engine.moves import _refuse
from regie.engine.storage import AnySession
from regie.errors import UsageError


@dataclass(frozen=True)
class PartiesResult:
    proposal_id: str
    before: list[str]
    after: list[str]
    added: list[str]
    removed: list[str]
    event_id: int


def _require_authority(ch: Change, proposal_id: str) -> None:
    routing = ch.facts.roles.routing_body
    action = f"correct the concerned parties of {proposal_id}"
    if routing is None:
        roles.require_coordinator(ch, action)
    else:
        roles.require_chair_or_coordinator(ch, routing, action)


def _check_ids(ch: Change, before: list[str], add: list[str], remove: list[str]) -> None:
    if not add and not remove:
        raise UsageError("say which parties change: --add PARTY and/or --remove PARTY")
    both = sorted(set(add) & set(remove))
    if both:
        raise UsageError(f"{', '.join(both)} is both added and removed; name it once")
    for party in add:
        if ch.tx.one("SELECT 1 FROM party WHERE id = ?", (party,)) is None:
            raise UsageError(f"unknown party '{party}'; use a party id of the region config")
        if party in before:
            raise UsageError(f"'{party}' is already a concerned party; nothing to add")
    for party in remove:
        if party not in before:
            raise UsageError(
                f"'{party}' is not a concerned party; the concerned parties are {', '.join(before)}"
            )


def correct_parties(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    reason: str,
) -> PartiesResult:
    """Add and remove concerned parties of an open proposal; at least one remains."""
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    _require_authority(ch, p.id)
    if p.state in CLOSED_STATES or p.state == AWAITING:
        why = (
            "a decision awaits confirmation; correct the parties before it is recorded"
            if p.state == AWAITING
            else "it is closed"
        )
        cw = repo.workflow_for(ch.tx, p.workflow_digest)
        raise _refuse(cw, p, "correct the concerned parties", why)
    reason = text_input.line(reason, "the reason (--reason)")
    if not reason:
        raise UsageError('say why the parties change: --reason "…"')
    added, removed = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    before = repo.concerned_parties(ch.tx, p.id)
    _check_ids(ch, before, added, removed)
    after = sorted((set(before) | set(added)) - set(removed))
    if not after:
        raise UsageError(
            f"{p.id} would concern no party; at least one concerned party remains (add one "
            "with --add)"
        )
    for party in removed:
        ch.tx.execute(
            "DELETE FROM proposal_party WHERE proposal_id = ? AND party_id = ?", (p.id, party)
        )
    for party in added:
        ch.tx.execute(
            "INSERT INTO proposal_party (proposal_id, party_id) VALUES (?, ?)", (p.id, party)
        )
    ev = ch.record(
        "parties_changed",
        proposal_id=p.id,
        meeting_id=p.meeting_id,
        payload={
            "before": before,
            "after": after,
            "added": sorted(added),
            "removed": sorted(removed),
            "reason": reason,
        },
    )
    ch.commit()
    return PartiesResult(p.id, before, after, sorted(added), sorted(removed), ev.id)
