"""Who was at a meeting, for whom, and which parties gave a position beforehand.

Attendance is what happened (rule 5 of issue #13):

- ``present`` and ``substitute`` are recorded from the start of the meeting's local day
  on; before that a person announces ``expected`` or ``absent``. ``expected`` can be
  announced until the meeting ends, ``absent`` at any time; neither covers a party.
- A prior position (rule 1: a party that cannot come says beforehand whether it can
  agree) has a stance, agree, disagree or abstain, and an optional text; it is given
  before the meeting starts, for a proposal on that meeting's agenda, by a person with
  a mandate for the party in that body.
- Once a decision that stands (not retracted) is recorded at the meeting, the attendance
  and prior positions its mandate check used are fixed: changing them is refused until
  the decision is retracted.

Who covers a party, and why not, is :mod:`regie.engine.mandate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from regie import text_input
from regie.clock import Clock, to_local
from regie.engine import repository as repo
from regie.engine.agenda_history import placements
from regie.engine.changes import Change, begin
from regie.engine.ids import order_by_proposal
from regie.engine.mandate import (
    COVERING,
    STANCES,
    day_starts,
    english_date,
    is_registered_substitute,
    mandate_gap,
    meeting_day,
    unmandated_warning,
)
from regie.engine.repository import MeetingRow
from regie.engine.storage import AnySession
from regie.errors import NotAllowed, NotFound, UsageError

STATUSES = ("present", "absent", "substitute", "expected")
ANNOUNCED = ("expected", "absent")  # with substitute_for: a stand-in announced, withdrawn
_OFF_AGENDA = ("deferred", "withdrawn")  # placements that left the meeting before it


@dataclass(frozen=True)
class AttendanceResult:
    meeting_id: str
    person_id: str
    party_id: str
    status: str
    event_id: int
    warning: str | None = None  # recorded, but it will not count in the mandate check
    unmandated_for: tuple[str, ...] = ()  # with a warning: the parties the items concern
    stance: str | None = None  # prior positions


def _person_party(ch: Change, person: str) -> str:
    party = ch.tx.scalar("SELECT party_id FROM person WHERE id = ?", (person,))
    if party is None:
        raise NotFound("person", person, "see the people in your region config")
    return str(party)


def _may_record_for(ch: Change, body_id: str, person: str, stand_in_for: str | None) -> None:
    if ch.is_coordinator or ch.actor.id == person or repo.body_chair(ch.tx, body_id) == ch.actor.id:
        return
    if stand_in_for is not None and ch.actor.id == stand_in_for:
        return  # announcing (or withdrawing) one's own stand-in; checked by the caller
    raise NotAllowed(
        ch.actor.id,
        f"record attendance of {person}",
        f"only {person}, the chair of '{body_id}' or the coordinator may",
    )


def _scheduled(meeting: MeetingRow) -> None:
    if meeting.status != "scheduled":
        raise UsageError(f"meeting {meeting.id} is {meeting.status}; nobody attends it")


def _check_time(ch: Change, meeting: MeetingRow, status: str) -> None:
    if status in COVERING and ch.now < day_starts(meeting):
        raise UsageError(
            f"'{status}' can be recorded from the day of meeting {meeting.id} "
            f"({english_date(meeting_day(meeting))}) on; before that, announce 'expected' "
            "or 'absent'"
        )
    if status == "expected" and ch.now >= meeting.ends_at:
        raise UsageError(
            f"meeting {meeting.id} is over; record who was 'present' or 'absent' instead"
        )


def _refuse_if_decided(
    ch: Change, meeting: MeetingRow, parties: Iterable[str], what: str, proposal: str = ""
) -> None:
    """A standing decision at the meeting fixes what its mandate check used (one query for
    the decisions on items that concern any of ``parties``, however many there are)."""
    wanted = sorted(set(parties))
    if not wanted:
        return
    rows = ch.tx.all(
        "SELECT d.proposal_id, p.workflow_digest FROM decision d "
        "JOIN proposal p ON p.id = d.proposal_id WHERE d.meeting_id = ? "
        "AND d.retracted_at IS NULL AND d.version = "
        "(SELECT MAX(x.version) FROM decision x WHERE x.proposal_id = d.proposal_id) "
        "AND EXISTS (SELECT 1 FROM proposal_party pp WHERE pp.proposal_id = d.proposal_id "
        f"AND pp.party_id IN ({', '.join('?' for _ in wanted)})) "
        f"ORDER BY {order_by_proposal('d.proposal_id')}",
        (meeting.id, *wanted),
    )
    for pid, digest in rows:
        if proposal and pid != proposal:
            continue
        if repo.workflow_for(ch.tx, digest).workflow.requires_mandate:
            raise NotAllowed(
                ch.actor.id,
                f"change {what} at {meeting.id}",
                f"the decision on {pid} recorded there was checked against it; retract "
                f"that decision first (regie decide {pid} --retract --reason …)",
            )


def _agenda_parties(ch: Change, meeting_id: str) -> list[str]:
    """The parties the meeting's items concern (one read of the parties for all items)."""
    items = sorted(
        {pl.proposal_id for pl in placements(ch.tx, meeting_id=meeting_id)
         if pl.result not in _OFF_AGENDA}
    )  # fmt: skip
    return repo.parties_of(ch.tx, items)


def _on_agenda(ch: Change, proposal_id: str, meeting_id: str) -> bool:
    if repo.load_proposal(ch.tx, proposal_id).meeting_id == meeting_id:
        return True
    return any(
        pl.meeting_id == meeting_id and pl.result not in _OFF_AGENDA
        for pl in placements(ch.tx, proposal_id=proposal_id)
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
    """Present, absent, expected, or present as substitute for an absent representative.
    A present person without a mandate for any party the meeting's items concern is
    recorded, with a warning in the result.

    ``expected`` with ``substitute_for`` is a stand-in announced ahead (by them, the chair,
    the coordinator or the absent person); ``absent`` with it withdraws that announcement.
    Neither covers a party: on the day the stand-in attends as ``substitute``."""
    ch = begin(session, clock, actor)
    result = _attend(ch, meeting_id, person, status, substitute_for)
    ch.commit()
    return result


def _attend(
    ch: Change, meeting_id: str, person: str, status: str, substitute_for: str | None
) -> AttendanceResult:
    if status not in STATUSES:
        raise UsageError(f"attendance status '{status}' is unknown; use one of {STATUSES}")
    meeting = repo.load_meeting(ch.tx, meeting_id)
    announced = substitute_for is not None and status in ANNOUNCED
    _may_record_for(ch, meeting.body_id, person, substitute_for if announced else None)
    _scheduled(meeting)
    _check_time(ch, meeting, status)
    party = _person_party(ch, person)
    if announced and ch.actor.id == substitute_for:
        _own_stand_in(ch, meeting_id, person, str(substitute_for))
    if status == "substitute" or (announced and status == "expected"):
        party = _check_substitute(ch, meeting.body_id, person, substitute_for)
    elif announced:
        party = _person_party(ch, str(substitute_for))  # withdrawn: registered or not
    elif substitute_for:
        raise UsageError(
            "--substitute-for goes with status 'substitute' (or 'expected'/'absent' to "
            "announce or withdraw a stand-in)"
        )
    elif not repo.is_member(ch.tx, meeting.body_id, person) and not is_registered_substitute(
        ch.tx, person, party, meeting.body_id
    ):
        raise UsageError(
            f"{person} is not a member of '{meeting.body_id}'; to record a stand-in "
            "use --substitute-for PERSON"
        )
    before = ch.tx.one(
        "SELECT party_id, status, substitute_for FROM attendance WHERE meeting_id = ? "
        "AND person_id = ?",
        (meeting_id, person),
    )
    if before != (party, status, substitute_for):
        touched = {party} | ({str(before[0])} if before else set())
        _refuse_if_decided(ch, meeting, touched, f"the attendance of {person}")
    ch.tx.execute(
        "DELETE FROM attendance WHERE meeting_id = ? AND person_id = ?", (meeting_id, person)
    )
    ch.tx.execute(
        "INSERT INTO attendance (meeting_id, person_id, party_id, status, substitute_for, "
        "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (meeting_id, person, party, status, substitute_for, ch.actor.id, ch.now),
    )
    warning, concerned = None, []
    if status in COVERING:
        concerned = _agenda_parties(ch, meeting_id)
        warning = unmandated_warning(
            ch.tx, person, meeting.body_id, meeting_day(meeting), concerned
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
            "meeting_day": meeting_day(meeting).isoformat(),  # what "present" was checked on
        },
    )
    unmandated = tuple(concerned) if warning else ()
    return AttendanceResult(meeting_id, person, party, status, ev.id, warning, unmandated)


def _own_stand_in(ch: Change, meeting_id: str, person: str, absent: str) -> None:
    """The absent person may announce a stand-in, not overwrite what others recorded."""
    row = ch.tx.one(
        "SELECT substitute_for FROM attendance WHERE meeting_id = ? AND person_id = ?",
        (meeting_id, person),
    )
    if row is not None and row[0] != absent and not ch.is_coordinator:
        raise NotAllowed(
            ch.actor.id,
            f"announce {person} as stand-in at {meeting_id}",
            f"the attendance of {person} there was already recorded otherwise; ask them, the "
            "chair or the coordinator",
        )


def _check_substitute(ch: Change, body_id: str, person: str, substitute_for: str | None) -> str:
    if not substitute_for:
        raise UsageError("a substitute stands in for someone: add --substitute-for PERSON")
    party = _person_party(ch, substitute_for)
    if not is_registered_substitute(ch.tx, person, party, body_id):
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
    stance: str,
    position: str = "",
) -> AttendanceResult:
    """A party that cannot attend says beforehand whether it can agree with an item
    (rule 1): ``stance`` agree, disagree or abstain, ``position`` an optional text."""
    ch = begin(session, clock, actor)
    result = _prior_position(ch, meeting_id, proposal_id, person, stance, position)
    ch.commit()
    return result


def _prior_position(
    ch: Change, meeting_id: str, proposal_id: str, person: str, stance: str, position: str
) -> AttendanceResult:
    if stance not in STANCES:
        raise UsageError(f"a prior position needs a stance: {', '.join(STANCES)} (not '{stance}')")
    position = text_input.text(position, "the position (--position)")
    meeting = repo.load_meeting(ch.tx, meeting_id)
    _may_record_for(ch, meeting.body_id, person, None)
    _scheduled(meeting)
    if ch.now >= meeting.starts_at:
        raise UsageError(
            f"meeting {meeting_id} started at {to_local(meeting.starts_at):%Y-%m-%d %H:%M}; "
            "a prior position is given before the meeting starts (now: attend, or send a "
            "registered substitute)"
        )
    if not _on_agenda(ch, proposal_id, meeting_id):
        raise UsageError(
            f"{proposal_id} is not on the agenda of {meeting_id}; see 'regie agenda {meeting_id}'"
        )
    party = _person_party(ch, person)
    gap = mandate_gap(
        ch.tx, person, party, meeting.body_id, meeting_day(meeting), "gives the prior position"
    )
    if gap:
        raise UsageError(
            f"{gap}; a prior position must come from a person with a mandate for the party "
            "in this body"
        )
    _refuse_if_decided(
        ch, meeting, [party], f"the prior position of {party} on {proposal_id}", proposal_id
    )
    ch.tx.execute(
        "DELETE FROM prior_position WHERE meeting_id = ? AND proposal_id = ? AND party_id = ?",
        (meeting_id, proposal_id, party),
    )
    ch.tx.execute(
        "INSERT INTO prior_position (meeting_id, proposal_id, party_id, person_id, position, "
        "stance, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (meeting_id, proposal_id, party, person, position, stance, ch.now),
    )
    ev = ch.record(
        "prior_position",
        proposal_id=proposal_id,
        meeting_id=meeting_id,
        acting_for=party,
        payload={"person": person, "party": party, "stance": stance, "position": position},
    )
    return AttendanceResult(meeting_id, person, party, "prior_position", ev.id, stance=stance)


def record_answer(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    meeting_id: str,
    person: str,
    status: str,
    stand_in: str | None = None,
    positions: Iterable[tuple[str, str, str]] = (),
) -> list[AttendanceResult]:
    """A member's answer to an invitation, in one transaction, as :func:`record_attendance`
    and :func:`record_prior_position` record each part (each with its own event):
    ``expected`` or ``absent``; when absent, optionally a stand-in (``expected`` for
    ``person``) and prior positions ``(proposal, stance, text)``. A stand-in the person
    announced before and does not name now is withdrawn (``absent`` for ``person``)."""
    if status not in ANNOUNCED:
        raise UsageError(f"an answer is 'expected' or 'absent', not '{status}'")
    ch = begin(session, clock, actor)
    done = [_attend(ch, meeting_id, person, status, None)]
    wanted = stand_in if status == "absent" else None
    earlier = ch.tx.all(
        "SELECT person_id FROM attendance WHERE meeting_id = ? AND substitute_for = ? "
        "AND status = 'expected' ORDER BY person_id",
        (meeting_id, person),
    )
    for (other,) in earlier:
        if other != wanted:
            done.append(_attend(ch, meeting_id, str(other), "absent", person))
    if wanted:
        done.append(_attend(ch, meeting_id, wanted, "expected", person))
    for proposal_id, stance, text in positions if status == "absent" else ():
        done.append(_prior_position(ch, meeting_id, proposal_id, person, stance, text))
    ch.commit()
    return done
