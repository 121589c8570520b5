"""The scheduler's deferral: what ``regie defer`` records (engine/moves.py ``defer``),
without its commit, so the sweep commits the firing, the move and its notices together.

Used by rule 1 (documents: no documents by the deadline) and rule 7 (after the meeting:
items still open on a meeting that has ended). The ``deferred`` event's payload is the
one ``regie defer`` writes, with ``"by": "scheduler"`` and the rule's name added.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from regie.engine import repository as repo
from regie.engine.placement import place, stage_body

if TYPE_CHECKING:
    from regie.engine.changes import Change

log = logging.getLogger("regie.scheduler")


def language(ch: Change, texts: Mapping[str, str]) -> str:
    """The region's language when ``texts`` has it, else Dutch."""
    return ch.facts.language if ch.facts.language in texts else "nl"


def defer(ch: Change, proposal_id: str, *, rule: str, reason: str) -> bool:
    """Move the proposal to its body's next meeting (``deferred`` event and notices) with
    ``reason`` (text in the region's language); False when its workflow cannot defer it
    from its state. A body without a later meeting raises :class:`~regie.errors.NotFound`."""
    p = repo.load_proposal(ch.tx, proposal_id)
    cw = repo.workflow_for(ch.tx, p.workflow_digest)
    new_state = cw.fire(p.state, "defer")
    if new_state is None:
        log.warning("scheduler: %s cannot be deferred from state %s", p.id, p.state)
        return False
    body = stage_body(ch, cw.workflow, p, p.state)
    current = p.meeting or (repo.load_meeting(ch.tx, p.meeting_id) if p.meeting_id else None)
    pl = place(ch, body, after=current)
    old_meeting, stage = p.meeting_id, p.state
    repo.save_move(ch.tx, p, state=new_state, stage=new_state, meeting_id=pl.meeting.id, now=ch.now)
    payload = {
        "from_meeting": old_meeting,
        "stage": stage,
        "reason": reason,
        "meeting": pl.meeting.id,
        "late": pl.late,
        "by": "scheduler",
        "rule": rule,
    }
    ch.record("deferred", proposal_id=p.id, meeting_id=pl.meeting.id, payload=payload)
    return True
