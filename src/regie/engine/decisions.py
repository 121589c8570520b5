"""Decisions: recorded at the deciding body's meeting after a mandate check, then
confirmed by that body's chair. The decision text is versioned: an amendment is a new
version and restarts confirmation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from regie import text_input
from regie.clock import Clock
from regie.engine import repository as repo
from regie.engine import roles
from regie.engine.changes import Change, begin
from regie.engine.machine import AWAITING
from regie.engine.mandate import Coverage, coverage
from regie.engine.moves import _refuse
from regie.engine.repository import MeetingRow
from regie.engine.storage import AnySession
from regie.errors import DissentNotRecorded, MandateMissing, StaleVersion, UsageError
from regie.workflows.definition import Outcome, Workflow


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
    """Concerned parties nobody speaks for at the meeting (rules: :mod:`regie.engine.mandate`)."""
    return coverage(ch, proposal_id, meeting).uncovered_ids


def decide(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    outcome: str,
    text: str = "",
    override: str | None = None,
    dissent: str | None = None,
) -> DecisionResult:
    """Record the outcome at the meeting where the proposal's route ends.

    A workflow that records decisions then awaits the chair's confirmation of this text
    version; one that does not (information) ends the item "noted" right away, without a
    decision version. A concerned party on record as disagreeing (a prior position) needs
    the dissent recorded with the decision (``dissent``)."""
    text = text_input.text(text, "the decision text (--text)")
    if override is not None:
        override = text_input.line(override, "the override reason (--override)")
    if dissent is not None:
        dissent = text_input.text(dissent, "the dissent (--dissent)")
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    cw = repo.workflow_for(ch.tx, p.workflow_digest)
    wf = cw.workflow
    if p.state not in wf.end_stages or p.route[-1] != p.state or p.meeting_id is None:
        where = f"at the end of its route ('{p.route[-1]}')" if p.route else "at an end stage"
        raise _refuse(cw, p, "decide", f"the outcome is recorded {where}")
    meeting = p.meeting or repo.load_meeting(ch.tx, p.meeting_id)
    roles.require_chair_or_coordinator(ch, meeting.body_id, f"record the decision on {p.id}")
    chosen = _outcome(wf, p.state, outcome)
    if wf.records_decision and (chosen.text_required or wf.requires_mandate) and not text:
        raise UsageError(f"outcome '{outcome}' needs the decision text; give it with --text")
    if meeting.starts_at > ch.now:
        raise _refuse(cw, p, "decide", f"its meeting {meeting.id} has not started yet")
    _require_agenda(ch, p.id, meeting)
    covered = coverage(ch, p.id, meeting) if wf.requires_mandate else None
    gaps = covered.uncovered if covered else []
    uncovered = [gap.party_id for gap in gaps]
    if override is not None:
        roles.require_coordinator(ch, "override the mandate check")
        if not override:
            raise UsageError('--override needs a reason, e.g. --override "agreed by e-mail"')
    if uncovered and not override:
        raise MandateMissing(p.id, meeting.id, uncovered, [gap.reason for gap in gaps])
    recorded_dissent = _dissent(p.id, covered, dissent) if covered else None
    new_state = cw.fire(p.state, "decide")
    if new_state is None:
        raise _refuse(cw, p, "decide")
    repo.save_move(ch.tx, p, state=new_state, stage=p.stage, meeting_id=p.meeting_id, now=ch.now)
    if not wf.records_decision:
        ev = ch.record(
            "noted",
            proposal_id=p.id,
            meeting_id=meeting.id,
            payload={"outcome": outcome, "text": text, "stage": p.stage},
        )
        ch.commit()
        return DecisionResult(p.id, p.state, outcome, 0, meeting.id, None, [], ev.id)
    version = _next_version(ch, p.id)
    kept = override if uncovered else None
    _insert_version(ch, p.id, version, meeting.id, outcome, text, kept, recorded_dissent)
    ev = ch.record(
        "decided",
        proposal_id=p.id,
        meeting_id=meeting.id,
        payload={
            "outcome": outcome,
            "text": text,
            "version": version,
            "override": kept,
            "uncovered": uncovered,
            "dissent": recorded_dissent,
        },
    )
    ch.commit()
    return DecisionResult(p.id, p.state, outcome, version, meeting.id, kept, uncovered, ev.id)


def _outcome(wf: Workflow, stage: str, outcome: str) -> Outcome:
    possible = wf.outcomes_at(stage)
    found = next((o for o in possible if o.id == outcome), None)
    if found is None:
        raise UsageError(
            f"outcome '{outcome}' is not possible for a {wf.purpose} proposal at '{stage}'; "
            f"use one of: {', '.join(o.id for o in possible)}"
        )
    return found


def _require_agenda(ch: Change, proposal_id: str, meeting: MeetingRow) -> None:
    """At the top meeting only items on the agenda its routing body approved are decided."""
    if meeting.body_id == ch.facts.roles.top_body and ch.facts.roles.routing_body:
        from regie.engine import agenda_approval

        agenda_approval.require_on_approved_agenda(ch, proposal_id, meeting)


def _dissent(proposal_id: str, covered: Coverage, dissent: str | None) -> dict[str, object] | None:
    """The dissent to record: required when a concerned party is on record as disagreeing
    (rule of conduct: consultation aimed at agreement, so disagreement is on the record)."""
    parties = sorted(covered.dissenting)
    text = dissent or ""  # cleaned by decide
    if parties and not text:
        raise DissentNotRecorded(proposal_id, parties)
    if dissent is not None and not text:
        raise UsageError('--dissent needs a text, e.g. --dissent "Ede: not affordable in 2027"')
    return {"parties": parties, "text": text} if text else None


def _next_version(ch: Change, proposal_id: str) -> int:
    last = ch.tx.scalar("SELECT MAX(version) FROM decision WHERE proposal_id = ?", (proposal_id,))
    return int(last or 0) + 1


def _insert_version(
    ch: Change,
    pid: str,
    version: int,
    meeting_id: str,
    outcome: str,
    text: str,
    override: str | None,
    dissent: dict[str, object] | None = None,
) -> None:
    ch.tx.execute(
        "INSERT INTO decision (proposal_id, version, meeting_id, outcome, text, "
        "override_reason, recorded_by, recorded_at, dissent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            pid,
            version,
            meeting_id,
            outcome,
            text,
            override,
            ch.actor.id,
            ch.now,
            json.dumps(dissent) if dissent else None,
        ),
    )


def confirm(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    version: int | None = None,
    amend_text: str | None = None,
) -> DecisionResult:
    """The chair of the deciding body confirms the decision text version ``version``; the
    chair or the coordinator (writing the correction the chair asked for) amends it (a new
    version, which the chair confirms on its own). A confirmation names the
    version it confirms: confirming a superseded version is refused, so a chair never
    confirms a text they did not see."""
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    cw = repo.workflow_for(ch.tx, p.workflow_digest)
    move = "amend" if amend_text is not None else "confirm"
    if amend_text is not None:
        amend_text = text_input.text(amend_text, "the amended text (--amend)")
        if not amend_text:
            raise UsageError("--amend needs the new decision text")
    if p.state != AWAITING:
        raise _refuse(cw, p, move, "only a recorded decision awaiting confirmation can be")
    latest, meeting_id, outcome, text, override, dissent = _standing(ch, p.id)
    body = (p.meeting or repo.load_meeting(ch.tx, meeting_id)).body_id
    if amend_text is None:
        roles.require_chair(ch, body, f"confirm the decision on {p.id}")
    else:  # the coordinator writes the correction a chair asked for (it is then confirmed)
        roles.require_chair_or_coordinator(ch, body, f"amend the decision on {p.id}")
    _check_version(p.id, move, version, latest, text, amend=amend_text is not None)
    new_state = cw.fire(p.state, move)
    if new_state is None:
        raise _refuse(cw, p, move)
    repo.save_move(ch.tx, p, state=new_state, stage=p.stage, meeting_id=p.meeting_id, now=ch.now)
    if amend_text is not None:
        version = latest + 1
        _insert_version(ch, p.id, version, meeting_id, outcome, amend_text, override, dissent)
        payload = {"version": version, "text": amend_text, "previous_text": text}
        action = "amended"
    else:
        version = latest
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


def _standing(ch: Change, proposal_id: str) -> tuple[int, str, str, str, str | None, Any]:
    """The latest decision version that was not retracted."""
    row = ch.tx.one(
        "SELECT version, meeting_id, outcome, text, override_reason, dissent FROM decision "
        "WHERE proposal_id = ? AND retracted_at IS NULL ORDER BY version DESC LIMIT 1",
        (proposal_id,),
    )
    assert row is not None  # state awaiting_confirmation always has one (regie check)
    version, meeting_id, outcome, text, override, dissent = row
    return int(version), meeting_id, outcome, text, override, json.loads(dissent or "null")


def _check_version(
    pid: str, move: str, version: int | None, latest: int, text: str, *, amend: bool
) -> None:
    shown = text if len(text) <= 80 else text[:77] + "..."
    if version is None and not amend:
        raise UsageError(
            f"name the version you confirm: --version {latest} (version {latest} of the "
            f'decision on {pid} reads: "{shown}")'
        )
    if version is not None and version != latest:
        raise StaleVersion(pid, move, version, latest, shown)


def retract(
    *, session: AnySession, clock: Clock, actor: str | None, proposal_id: str, reason: str
) -> DecisionResult:
    """Withdraw a recorded decision that awaits confirmation, for a new one: the proposal is
    back at its end stage on the same meeting (attendance may then be corrected and the
    outcome recorded again, as the next version)."""
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    cw = repo.workflow_for(ch.tx, p.workflow_digest)
    reason = text_input.line(reason, "the reason (--reason)")
    if not reason:
        raise UsageError('--retract needs a reason: --reason "attendance of Ede was wrong"')
    if p.state != AWAITING:
        raise _refuse(cw, p, "retract", "only a decision awaiting confirmation can be retracted")
    version, meeting_id, outcome, _text, override, _dissent = _standing(ch, p.id)
    meeting = p.meeting or repo.load_meeting(ch.tx, meeting_id)
    roles.require_chair_or_coordinator(ch, meeting.body_id, f"retract the decision on {p.id}")
    new_state = cw.fire(p.state, "retract", p.stage)
    if new_state is None:
        raise _refuse(cw, p, "retract")
    repo.save_move(ch.tx, p, state=new_state, stage=p.stage, meeting_id=p.meeting_id, now=ch.now)
    ch.tx.execute(
        "UPDATE decision SET retracted_by = ?, retracted_at = ? WHERE proposal_id = ? "
        "AND retracted_at IS NULL",
        (ch.actor.id, ch.now, p.id),
    )
    ev = ch.record(
        "decision_retracted",
        proposal_id=p.id,
        meeting_id=meeting_id,
        payload={"version": version, "to": p.stage, "reason": reason},
    )
    ch.commit()
    return DecisionResult(p.id, p.state, outcome, version, meeting_id, override, [], ev.id)


def request_correction(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    version: int,
    comment: str,
) -> DecisionResult:
    """The chair asks for a correction of decision text version ``version`` (from the link
    in the decision mail): an audit event whose notice goes to the network coordinator.
    The decision stays open; an amendment (a new version) is confirmed on its own."""
    comment = text_input.text(comment, "the correction", required=True)
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    cw = repo.workflow_for(ch.tx, p.workflow_digest)
    move = "request a correction of"
    if p.state != AWAITING:
        raise _refuse(cw, p, move, "only a recorded decision awaiting confirmation can be")
    latest, meeting_id, outcome, text, override, _dissent = _standing(ch, p.id)
    body = (p.meeting or repo.load_meeting(ch.tx, meeting_id)).body_id
    roles.require_chair(ch, body, f"{move} the decision on {p.id}")
    _check_version(p.id, move, version, latest, text, amend=False)
    ev = ch.record(
        "correction_requested",
        proposal_id=p.id,
        meeting_id=meeting_id,
        payload={"version": version, "outcome": outcome, "text": text, "comment": comment},
    )
    ch.commit()
    return DecisionResult(p.id, p.state, outcome, version, meeting_id, override, [], ev.id)
