"""Who was at a meeting, for whom, and which parties gave a position beforehand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from regie.clock import Clock, to_local
from regie.engine import repository as repo
from regie.engine.changes import Change, begin
from regie.engine.storage import AnySession
from regie.errors import NotAllowed, NotFound, UsageError

STATUSES = ("present", "absent", "substitute")


@dataclass(frozen=True)
class AttendanceResult:
    meeting_id: str
    person_id: str
    party_id: str
    status: str
    event_id: int


def _person_party(ch: Change, person: str) -> str:
    party = ch.tx.scalar("SELECT party_id FROM person WHERE id = ?", (person,))
    if party is None:
        raise NotFound("person", person, "see the people in your region config")
    return str(party)


def _may_record_for(ch: Change, body_id: str, person: str) -> None:
    if ch.is_coordinator or ch.actor.id == person or repo.body_chair(ch.tx, body_id) == ch.actor.id:
        return
    raise NotAllowed(
        ch.actor.id,
        f"record attendance of {person}",
        f"only {person}, the chair of '{body_id}' or the coordinator may",
    )


def has_mandate(ch: Change, person: str, party: str, body_id: str, day: date) -> bool:
    return (
        ch.tx.one(
            "SELECT 1 FROM mandate WHERE person_id = ? AND party_id = ? AND body_id = ? "
            "AND valid_from <= ? AND (valid_until IS NULL OR valid_until >= ?)",
            (person, party, body_id, day, day),
        )
        is not None
    )


def is_substitute(ch: Change, person: str, party: str, body_id: str) -> bool:
    return (
        ch.tx.one(
            "SELECT 1 FROM substitute WHERE person_id = ? AND party_id = ? AND body_id = ?",
            (person, party, body_id),
        )
        is not None
    )


def record_attendance(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    meeting_id: str,
    person: str,
    status: str,
    substitute_for: str | None = None,
) -> AttendanceResult:
    """Present, absent, or present as substitute for an absent representative."""
    ch = begin(session, clock, actor)
    if status not in STATUSES:
        raise UsageError(f"attendance status '{status}' is unknown; use one of {STATUSES}")
    meeting = repo.load_meeting(ch.tx, meeting_id)
    _may_record_for(ch, meeting.body_id, person)
    party = _person_party(ch, person)
    if status == "substitute":
        party = _check_substitute(ch, meeting.body_id, person, substitute_for)
    elif substitute_for:
        raise UsageError("--substitute-for goes only with status 'substitute'")
    elif not repo.is_member(ch.tx, meeting.body_id, person) and not is_substitute(
        ch, person, party, meeting.body_id
    ):
        raise UsageError(
            f"{person} is not a member of '{meeting.body_id}'; to record a stand-in "
            "use --substitute-for PERSON"
        )
    ch.tx.execute(
        "DELETE FROM attendance WHERE meeting_id = ? AND person_id = ?", (meeting_id, person)
    )
    ch.tx.execute(
        "INSERT INTO attendance (meeting_id, person_id, party_id, status, substitute_for, "
        "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (meeting_id, person, party, status, substitute_for, ch.actor.id, ch.now),
    )
    ev = ch.record(
        "attendance",
        meeting_id=meeting_id,
        acting_for=party,
        payload={
            "person": person,
            "party": party,
            "status": status,
            "substitute_for": substitute_for,
        },
    )
    ch.commit()
    return AttendanceResult(meeting_id, person, party, status, ev.id)


def _check_substitute(ch: Change, body_id: str, person: str, substitute_for: str | None) -> str:
    if not substitute_for:
        raise UsageError("a substitute stands in for someone: add --substitute-for PERSON")
    party = _person_party(ch, substitute_for)
    if not is_substitute(ch, person, party, body_id):
        raise UsageError(
            f"{person} is not a registered substitute for party '{party}' in '{body_id}'; add "
            "them under [[substitutes]] in the region config and run 'regie init'"
        )
    return party


def record_prior_position(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    meeting_id: str,
    proposal_id: str,
    person: str,
    position: str,
) -> AttendanceResult:
    """A party that cannot attend states its position on an item beforehand (rule 1)."""
    ch = begin(session, clock, actor)
    position = position.strip()
    if not position:
        raise UsageError("the prior position is empty; say whether the party agrees, and why")
    meeting = repo.load_meeting(ch.tx, meeting_id)
    _may_record_for(ch, meeting.body_id, person)
    if repo.load_proposal(ch.tx, proposal_id).meeting_id != meeting_id:
        raise UsageError(
            f"{proposal_id} is not on the agenda of {meeting_id}; see 'regie agenda {meeting_id}'"
        )
    party = _person_party(ch, person)
    day = to_local(meeting.starts_at).date()
    if not (
        has_mandate(ch, person, party, meeting.body_id, day)
        or is_substitute(ch, person, party, meeting.body_id)
    ):
        raise UsageError(
            f"{person} has no mandate for '{party}' in '{meeting.body_id}' on {day}; "
            "a prior position must come from a mandated representative or substitute"
        )
    ch.tx.execute(
        "DELETE FROM prior_position WHERE meeting_id = ? AND proposal_id = ? AND party_id = ?",
        (meeting_id, proposal_id, party),
    )
    ch.tx.execute(
        "INSERT INTO prior_position (meeting_id, proposal_id, party_id, person_id, position, "
        "recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        (meeting_id, proposal_id, party, person, position, ch.now),
    )
    ev = ch.record(
        "prior_position",
        proposal_id=proposal_id,
        meeting_id=meeting_id,
        acting_for=party,
        payload={"person": person, "party": party, "position": position},
    )
    ch.commit()
    return AttendanceResult(meeting_id, person, party, "prior_position", ev.id)
