"""Decisions: recorded at the deciding body's meeting after a mandate check, then
confirmed by that body's chair. The decision text is versioned: an amendment is a new
version and restarts confirmation."""

from __future__ import annotations

from dataclasses import dataclass

from regie.clock import Clock, to_local
from regie.engine import repository as repo
from regie.engine import roles
from regie.engine.attendance import has_mandate, is_substitute
from regie.engine.changes import Change, begin
from regie.engine.machine import AWAITING
from regie.engine.moves import _refuse
from regie.engine.repository import MeetingRow
from regie.engine.storage import AnySession
from regie.errors import MandateMissing, UsageError


@dataclass(frozen=True)
class DecisionResult:
    proposal_id: str
    state: str
    outcome: str
    version: int
    meeting_id: str
    override: str | None
    uncovered: list[str]
    event_id: int


def uncovered_parties(ch: Change, proposal_id: str, meeting: MeetingRow) -> list[str]:
    """Concerned parties with no mandated person present, no registered substitute
    present, and no prior position for this item."""
    day = to_local(meeting.starts_at).date()
    missing = []
    rows = ch.tx.all(
        "SELECT person_id, party_id, status FROM attendance WHERE meeting_id = ? "
        "AND status != 'absent'",
        (meeting.id,),
    )
    for party in repo.concerned_parties(ch.tx, proposal_id):
        if ch.tx.one(
            "SELECT 1 FROM prior_position WHERE meeting_id = ? AND proposal_id = ? "
            "AND party_id = ?",
            (meeting.id, proposal_id, party),
        ):
            continue
        if any(
            row_party == party
            and (
                (status == "present" and has_mandate(ch, person, party, meeting.body_id, day))
                or (status == "substitute" and is_substitute(ch, person, party, meeting.body_id))
            )
            for person, row_party, status in rows
        ):
            continue
        missing.append(party)
    return missing


def decide(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    outcome: str,
    text: str = "",
    override: str | None = None,
) -> DecisionResult:
    """Record the outcome at the deciding body's meeting; it then awaits the chair."""
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    cw = repo.workflow_for(ch.tx, p.workflow_digest)
    wf = cw.workflow
    if p.state != wf.final or p.meeting_id is None:
        raise _refuse(cw, p, "decide", f"decisions are recorded at '{wf.final}'")
    meeting = p.meeting or repo.load_meeting(ch.tx, p.meeting_id)
    roles.require_chair_or_coordinator(ch, meeting.body_id, f"record the decision on {p.id}")
    try:
        chosen = wf.outcome(outcome)
    except KeyError:
        raise UsageError(
            f"outcome '{outcome}' is not possible for a {wf.purpose} proposal; use "
            f"one of: {', '.join(o.id for o in wf.outcomes)}"
        ) from None
    text = text.strip()
    if (chosen.text_required or wf.requires_mandate) and not text:
        raise UsageError(f"outcome '{outcome}' needs the decision text; give it with --text")
    if meeting.starts_at > ch.now:
        raise _refuse(cw, p, "decide", f"its meeting {meeting.id} has not started yet")
    uncovered = uncovered_parties(ch, p.id, meeting) if wf.requires_mandate else []
    if override is not None:
        roles.require_coordinator(ch, "override the mandate check")
        override = override.strip()
        if not override:
            raise UsageError('--override needs a reason, e.g. --override "agreed by e-mail"')
    if uncovered and not override:
        raise MandateMissing(p.id, meeting.id, uncovered)
    new_state = cw.fire(p.state, "decide")
    if new_state is None:
        raise _refuse(cw, p, "decide")
    repo.save_move(ch.tx, p, state=new_state, stage=p.stage, meeting_id=p.meeting_id, now=ch.now)
    _insert_version(ch, p.id, 1, meeting.id, outcome, text, override if uncovered else None)
    ev = ch.record(
        "decided",
        proposal_id=p.id,
        meeting_id=meeting.id,
        payload={
            "outcome": outcome,
            "text": text,
            "version": 1,
            "override": override if uncovered else None,
            "uncovered": uncovered,
        },
    )
    ch.commit()
    return DecisionResult(
        p.id, p.state, outcome, 1, meeting.id, override if uncovered else None, uncovered, ev.id
    )


def _insert_version(
    ch: Change,
    pid: str,
    version: int,
    meeting_id: str,
    outcome: str,
    text: str,
    override: str | None,
) -> None:
    ch.tx.execute(
        "INSERT INTO decision (proposal_id, version, meeting_id, outcome, text, "
        "override_reason, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (pid, version, meeting_id, outcome, text, override, ch.actor.id, ch.now),
    )


def confirm(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    amend_text: str | None = None,
) -> DecisionResult:
    """The chair of the deciding body confirms the recorded decision, or amends its text
    (a new version, still awaiting confirmation)."""
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    cw = repo.workflow_for(ch.tx, p.workflow_digest)
    move = "amend" if amend_text is not None else "confirm"
    if amend_text is not None:
        amend_text = amend_text.strip()
        if not amend_text:
            raise UsageError("--amend needs the new decision text")
    if p.state != AWAITING:
        raise _refuse(cw, p, move, "only a recorded decision awaiting confirmation can be")
    row = ch.tx.one(
        "SELECT version, meeting_id, outcome, text, override_reason FROM decision "
        "WHERE proposal_id = ? ORDER BY version DESC LIMIT 1",
        (p.id,),
    )
    assert row is not None
    version, meeting_id, outcome, text, override = row
    body = (p.meeting or repo.load_meeting(ch.tx, meeting_id)).body_id
    roles.require_chair(ch, body, f"{move} the decision on {p.id}")
    new_state = cw.fire(p.state, move)
    if new_state is None:
        raise _refuse(cw, p, move)
    repo.save_move(ch.tx, p, state=new_state, stage=p.stage, meeting_id=p.meeting_id, now=ch.now)
    if amend_text is not None:
        version += 1
        _insert_version(ch, p.id, version, meeting_id, outcome, amend_text, override)
        payload = {"version": version, "text": amend_text, "previous_text": text}
        action = "amended"
    else:
        ch.tx.execute(
            "UPDATE decision SET confirmed_by = ?, confirmed_at = ? WHERE "
            "proposal_id = ? AND version = ?",
            (ch.actor.id, ch.now, p.id, version),
        )
        payload = {"version": version, "outcome": outcome, "text": text}
        action = "confirmed"
    ev = ch.record(action, proposal_id=p.id, meeting_id=meeting_id, payload=payload)
    ch.commit()
    return DecisionResult(p.id, p.state, outcome, version, meeting_id, override, [], ev.id)
