"""Issue #13, rules 4, 5 and 9: who covers a concerned party (engine.mandate), prior
positions with a stance, attendance as what happened, and refusals that explain themselves.

Each test named after a mutation fails when that change is made to the code (see the
report of issue #13): the mandate check is pinned here, not only exercised.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from typing import Any

import pytest

from regie.clock import AMSTERDAM
from regie.engine import agenda_approval, attendance, decisions, mandate, moves, repository
from regie.engine.check import check_database
from regie.engine.storage import Tx
from regie.errors import MandateMissing, NotAllowed, UsageError

PARTIES = ["ede", "swv-vo"]
MEETING = "oogo-2027-01-28"  # the OOGO a proposal submitted on 23 November 2026 reaches
INGRID, BART = "ingrid-schouten", "bart-lamers"  # Ede: alderman; registered substitute
HANS, ELLEN = "hans-wolters", "ellen-post"  # SWV VO: board member; registered substitute
FLEUR = "fleur-de-gooijer"  # Ede: substitute in the AO only
SANDRA = "sandra-kooiman"  # OOGO chair, for Veenendaal


def write(world: Any, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Change a region fact in the database, as a changed config loaded by 'regie init'."""
    with closing(sqlite3.connect(world.path)) as conn:
        assert conn.execute(sql, params).rowcount >= 1, sql
        conn.commit()


def at_local(world: Any, text: str) -> None:
    world.at(datetime.fromisoformat(text).replace(tzinfo=AMSTERDAM))


@pytest.fixture
def oogo(world: Any) -> tuple[Any, str]:
    """An adoption proposal for Ede and SWV VO on the OOGO of 28 January 2027, its agenda
    approved; the clock at the AO meeting it came from (before the OOGO's day)."""
    pid = world.submit("adoption", parties=PARTIES)
    while world.show(pid)["state"] != "oogo":
        world.advance(pid)
    assert world.show(pid)["meeting"] == MEETING
    world.call(agenda_approval.approve, meeting_id=MEETING)
    return world, pid


def start(world: Any) -> None:
    world.clock.set(world.meeting_start(MEETING))


def attend(world: Any, person: str, status: str = "present", **kwargs: Any) -> Any:
    return world.call(
        attendance.record_attendance, meeting_id=MEETING, person=person, status=status, **kwargs
    )


def prior(world: Any, pid: str, person: str, stance: str = "agree", **kwargs: Any) -> Any:
    return world.call(
        attendance.record_prior_position,
        meeting_id=MEETING,
        proposal_id=pid,
        person=person,
        stance=stance,
        **kwargs,
    )


def decide(world: Any, pid: str, **kwargs: Any) -> Any:
    kwargs.setdefault("text", "Vastgesteld.")
    return world.call(decisions.decide, proposal_id=pid, outcome="adopted", **kwargs)


def refused(world: Any, pid: str) -> MandateMissing:
    before = world.snapshot(pid)
    with pytest.raises(MandateMissing) as exc:
        decide(world, pid)
    assert world.snapshot(pid) == before
    return exc.value


def coverage(world: Any, pid: str) -> mandate.Coverage:
    with world.db.session(write=False) as session:
        tx = Tx(session)
        return mandate.coverage(tx, pid, repository.load_meeting(tx, MEETING))


def set_mandate(world: Any, person: str, party: str, **dates: str) -> None:
    sets = ", ".join(f"{column} = ?" for column in dates)
    write(
        world,
        f"UPDATE mandate SET {sets} WHERE person_id = ? AND party_id = ? AND body_id = 'oogo'",
        (*dates.values(), person, party),
    )


# -- who covers a party: mandated and present --------------------------------------------------


def test_mandated_representatives_present_cover_every_party(oogo):
    world, pid = oogo
    start(world)
    for person in (INGRID, HANS):
        assert attend(world, person).warning is None
    assert coverage(world, pid) == mandate.Coverage([], [])
    assert decide(world, pid).uncovered == []


def test_mandate_ending_on_the_meeting_day_covers_it(oogo):
    """Mutation: `day <= valid_until` made `day < valid_until`."""
    world, pid = oogo
    set_mandate(world, INGRID, "ede", valid_until="2027-01-28")
    start(world)
    attend(world, INGRID)
    attend(world, HANS)
    assert decide(world, pid).uncovered == []


def test_mandate_ended_the_day_before_does_not_cover(oogo):
    """Mutation: the validity window dropped from the mandate check."""
    world, pid = oogo
    set_mandate(world, INGRID, "ede", valid_until="2027-01-27")
    start(world)
    attend(world, INGRID)
    attend(world, HANS)
    err = refused(world, pid)
    assert err.parties == ["ede"]
    assert err.reasons == [
        "the mandate of Ingrid Schouten for Gemeente Ede in the OOGO ended on 27 January 2027"
    ]


def test_mandate_starting_after_the_meeting_does_not_cover(oogo):
    world, pid = oogo
    set_mandate(world, INGRID, "ede", valid_from="2027-01-29")
    start(world)
    attend(world, INGRID)
    assert coverage(world, pid).uncovered[0] == mandate.Gap(
        "ede",
        "Gemeente Ede",
        "the mandate of Ingrid Schouten for Gemeente Ede in the OOGO starts on 29 January 2027",
    )


def test_present_member_of_the_party_without_a_mandate_does_not_cover(oogo):
    """Mutation: a present person of the concerned party counted without a mandate."""
    world, pid = oogo
    write(world, "DELETE FROM mandate WHERE person_id = ? AND body_id = 'oogo'", (INGRID,))
    start(world)
    attend(world, INGRID)
    attend(world, HANS)
    err = refused(world, pid)
    assert err.parties == ["ede"]
    assert err.reasons == [
        "Ingrid Schouten attended but has no mandate for Gemeente Ede in the OOGO"
    ]


def test_present_person_of_another_party_does_not_cover(oogo):
    world, pid = oogo
    start(world)
    attend(world, SANDRA)  # the chair, for Veenendaal
    assert coverage(world, pid).uncovered_ids == PARTIES


# -- substitutes --------------------------------------------------------------------------------


def test_registered_substitute_with_mandate_covers(oogo):
    world, pid = oogo
    start(world)
    attend(world, INGRID, "absent")
    r = attend(world, BART, "substitute", substitute_for=INGRID)
    assert (r.party_id, r.status, r.warning) == ("ede", "substitute", None)
    attend(world, HANS)
    assert decide(world, pid).uncovered == []


def test_substitute_registered_for_another_body_is_refused(oogo):
    """Mutation: a substitute registered for another body accepted."""
    world, pid = oogo
    start(world)
    before = world.snapshot()
    with pytest.raises(UsageError, match="not a registered substitute for party 'ede' in 'oogo'"):
        attend(world, FLEUR, "substitute", substitute_for=INGRID)
    assert world.snapshot() == before


def test_substitute_whose_registration_moved_to_another_body_does_not_cover(oogo):
    """The same mutation, at decision time: the registration is read for this body."""
    world, pid = oogo
    start(world)
    attend(world, BART, "substitute", substitute_for=INGRID)
    attend(world, HANS)
    write(world, "UPDATE substitute SET body_id = 'ao' WHERE person_id = ?", (BART,))
    err = refused(world, pid)
    assert err.reasons == ["Bart Lamers is a registered substitute for the AO, not for the OOGO"]


def test_substitute_needs_a_mandate_of_their_own(oogo):
    world, pid = oogo
    write(world, "DELETE FROM mandate WHERE person_id = ? AND body_id = 'oogo'", (BART,))
    start(world)
    r = attend(world, BART, "substitute", substitute_for=INGRID)
    assert r.warning is not None and "Bart Lamers has no mandate in the OOGO" in r.warning
    assert coverage(world, pid).uncovered[0].reason == (
        "Bart Lamers attended as substitute but has no mandate for Gemeente Ede in the OOGO"
    )


# -- prior positions --------------------------------------------------------------------------


def test_prior_position_covers_only_its_own_party(oogo):
    """Mutation: one party's prior position covering every concerned party."""
    world, pid = oogo
    r = prior(world, pid, HANS, "agree")
    assert (r.party_id, r.stance) == ("swv-vo", "agree")
    start(world)
    err = refused(world, pid)
    assert err.parties == ["ede"]
    assert err.reasons == ["nobody attended for Gemeente Ede and it gave no prior position"]


@pytest.mark.parametrize(("stance", "dissenting"), [("agree", []), ("abstain", []),
                                                    ("disagree", ["swv-vo"])])  # fmt: skip
def test_every_stance_covers_and_disagree_is_dissent(oogo, stance, dissenting):
    world, pid = oogo
    prior(world, pid, HANS, stance, position="Zie de brief van 12 januari.")
    start(world)
    attend(world, INGRID)
    assert coverage(world, pid) == mandate.Coverage([], dissenting)
    row = world.sql("SELECT stance, position FROM prior_position WHERE proposal_id = ?", (pid,))
    assert row == [(stance, "Zie de brief van 12 januari.")]


def test_prior_position_text_is_optional_and_the_event_can_be_replayed(oogo):
    world, pid = oogo
    prior(world, pid, HANS, "disagree")
    payload = world.sql("SELECT payload FROM audit_event WHERE action = 'prior_position'")[0][0]
    assert json.loads(payload) == {
        "person": HANS,
        "party": "swv-vo",
        "stance": "disagree",
        "position": "",
    }


@pytest.mark.parametrize("stance", ["", "agrees", "yes", None])
def test_prior_position_needs_one_of_the_three_stances(oogo, stance):
    world, pid = oogo
    before = world.snapshot()
    with pytest.raises(UsageError, match="agree, disagree, abstain"):
        prior(world, pid, HANS, stance)
    assert world.snapshot() == before


def test_prior_position_without_a_stance_does_not_cover(oogo):
    """Rows recorded before stances existed (NULL) are not a position on the item."""
    world, pid = oogo
    prior(world, pid, HANS, "agree")
    write(world, "UPDATE prior_position SET stance = NULL WHERE proposal_id = ?", (pid,))
    start(world)
    attend(world, INGRID)
    assert coverage(world, pid).uncovered == [
        mandate.Gap(
            "swv-vo",
            "Samenwerkingsverband passend onderwijs VO FoodValley",
            "the prior position of Samenwerkingsverband passend onderwijs VO FoodValley has "
            "no stance (agree, disagree or abstain); record it again with --stance",
        )
    ]


def test_prior_position_refused_once_the_meeting_has_started(oogo):
    world, pid = oogo
    world.clock.set(world.meeting_start(MEETING) - timedelta(minutes=1))
    prior(world, pid, HANS, "agree")
    start(world)
    before = world.snapshot()
    with pytest.raises(UsageError, match="given before the meeting starts"):
        prior(world, pid, HANS, "disagree")
    assert world.snapshot() == before


def test_prior_position_refused_for_a_proposal_not_on_the_agenda(oogo):
    """Mutation: the agenda check of a prior position dropped."""
    world, pid = oogo
    other = world.submit("adoption", parties=PARTIES)  # on a table meeting, not the OOGO
    with pytest.raises(UsageError, match=f"{other} is not on the agenda of {MEETING}"):
        prior(world, other, HANS)
    assert world.sql("SELECT COUNT(*) FROM prior_position") == [(0,)]


def test_prior_position_refused_for_a_proposal_deferred_away(oogo):
    world, pid = oogo
    world.call(moves.defer, proposal_id=pid, reason="not ready")
    assert world.show(pid)["meeting"] != MEETING
    with pytest.raises(UsageError, match="not on the agenda"):
        prior(world, pid, HANS)


def test_prior_position_only_from_someone_with_a_mandate(oogo):
    world, pid = oogo
    with pytest.raises(UsageError) as exc:
        prior(world, pid, "thijs-veldhuizen")  # Ede's AO member: no OOGO mandate
    assert str(exc.value).startswith(
        "Thijs Veldhuizen gives the prior position but has no mandate for Gemeente Ede in the "
        "OOGO; a prior position must come from"
    )


def test_prior_position_from_a_mandate_that_has_ended_by_the_meeting_is_refused(oogo):
    world, pid = oogo
    set_mandate(world, HANS, "swv-vo", valid_until="2027-01-20")
    with pytest.raises(UsageError, match="ended on 20 January 2027"):
        prior(world, pid, HANS)


def test_check_replays_stance_and_status_from_the_events(oogo):
    world, pid = oogo
    prior(world, pid, HANS, "disagree", position="Te duur")
    start(world)
    attend(world, INGRID)
    assert check_database(db=world.db).ok
    write(world, "UPDATE prior_position SET stance = 'agree'")
    write(world, "UPDATE attendance SET status = 'expected'")
    problems = {(p.code, tuple(p.ids)) for p in check_database(db=world.db).problems}
    assert problems == {
        ("prior_position_mismatch", (MEETING, pid, "swv-vo")),
        ("attendance_mismatch", (MEETING, INGRID)),
    }


# -- attendance is what happened ---------------------------------------------------------------


@pytest.mark.parametrize("status", ["present", "substitute"])
def test_present_only_from_the_start_of_the_meeting_day(oogo, status):
    world, pid = oogo
    kwargs = {"substitute_for": INGRID} if status == "substitute" else {}
    person = BART if status == "substitute" else INGRID
    at_local(world, "2027-01-27T23:59")
    before = world.snapshot()
    with pytest.raises(UsageError, match="before that, announce 'expected' or 'absent'"):
        attend(world, person, status, **kwargs)
    assert world.snapshot() == before
    at_local(world, "2027-01-28T00:00")
    assert attend(world, person, status, **kwargs).status == status


def test_expected_and_absent_announced_ahead_never_cover(oogo):
    world, pid = oogo
    assert attend(world, INGRID, "expected").status == "expected"
    assert attend(world, HANS, "absent").status == "absent"
    start(world)
    err = refused(world, pid)
    assert err.parties == PARTIES
    assert err.reasons == [
        "nobody attended for Gemeente Ede (Ingrid Schouten announced expected) and it gave no "
        "prior position",
        "nobody attended for Samenwerkingsverband passend onderwijs VO FoodValley (Hans "
        "Wolters announced absent) and it gave no prior position",
    ]


def test_expected_refused_once_the_meeting_is_over_absent_still_recorded(oogo):
    world, pid = oogo
    at_local(world, "2027-01-28T23:00")  # the OOGO ends at 21:30
    with pytest.raises(UsageError, match="is over"):
        attend(world, INGRID, "expected")
    assert attend(world, INGRID, "absent").status == "absent"


def test_attendance_at_a_cancelled_meeting_refused(oogo):
    world, pid = oogo
    write(world, "UPDATE meeting SET status = 'cancelled' WHERE id = ?", (MEETING,))
    start(world)
    with pytest.raises(UsageError, match=f"meeting {MEETING} is cancelled"):
        attend(world, INGRID)


def test_attendance_the_decision_used_is_fixed_until_it_is_retracted(oogo):
    world, pid = oogo
    start(world)
    attend(world, INGRID)
    attend(world, HANS)
    decide(world, pid)
    before = world.snapshot()
    for person, status in ((INGRID, "absent"), (HANS, "expected"), (ELLEN, "present")):
        with pytest.raises(NotAllowed) as exc:
            attend(world, person, status)
        assert f"retract that decision first (regie decide {pid} --retract --reason" in str(
            exc.value
        )
    assert world.snapshot() == before
    assert attend(world, INGRID).status == "present"  # the same again changes nothing
    assert attend(world, SANDRA).status == "present"  # Veenendaal: not used by the check
    world.call(decisions.retract, proposal_id=pid, reason="Ede left before the vote")
    assert attend(world, INGRID, "absent").status == "absent"


def test_prior_position_the_decision_used_is_fixed(oogo):
    world, pid = oogo
    prior(world, pid, HANS, "agree")
    start(world)
    attend(world, INGRID)
    decide(world, pid)
    world.clock.set(world.meeting_start(MEETING) - timedelta(hours=1))  # a clock set back
    with pytest.raises(NotAllowed, match="retract that decision first"):
        prior(world, pid, HANS, "disagree")
    assert world.sql("SELECT stance FROM prior_position") == [("agree",)]


# -- refusals that explain themselves -----------------------------------------------------------


def test_mandate_missing_names_each_party_with_its_reason(oogo):
    world, pid = oogo
    set_mandate(world, HANS, "swv-vo", valid_until="2026-12-31")
    start(world)
    attend(world, HANS)
    err = refused(world, pid)
    assert err.exit_code == 1
    assert str(err) == (
        f"{pid}: cannot record a decision at {MEETING}: no mandated representative, substitute "
        "with mandate or prior position for: ede, swv-vo (nobody attended for Gemeente Ede and "
        "it gave no prior position; the mandate of Hans Wolters for Samenwerkingsverband "
        "passend onderwijs VO FoodValley in the OOGO ended on 31 December 2026); record "
        "attendance with 'regie attend', or use --override \"reason\""
    )


def test_present_without_a_mandate_is_recorded_with_a_warning(oogo):
    world, pid = oogo
    start(world)
    r = attend(world, SANDRA)
    assert r.status == "present" and r.unmandated_for == ("ede", "swv-vo")
    assert r.warning == (
        "Sandra Kooiman has no mandate in the OOGO on 28 January 2027 for any party its items "
        "concern (Gemeente Ede, Samenwerkingsverband passend onderwijs VO FoodValley); "
        "recorded, but it does not count in the mandate check"
    )
    assert world.sql("SELECT status FROM attendance WHERE person_id = ?", (SANDRA,)) == [
        ("present",)
    ]
    assert attend(world, INGRID).warning is None


def test_uncovered_parties_gives_the_ids(oogo):
    world, pid = oogo
    start(world)
    attend(world, HANS)
    with world.db.session() as session:
        from regie.engine.changes import begin

        ch = begin(session, world.clock, world.coordinator)
        meeting = repository.load_meeting(ch.tx, MEETING)
        assert decisions.uncovered_parties(ch, pid, meeting) == ["ede"]


# -- the other changes mutation testing let through ---------------------------------------------


def test_adoption_with_an_empty_decision_text_refused(oogo):
    world, pid = oogo
    start(world)
    attend(world, INGRID)
    attend(world, HANS)
    before = world.snapshot(pid)
    with pytest.raises(UsageError, match="needs the decision text"):
        decide(world, pid, text="   ")
    assert world.snapshot(pid) == before


def test_cancelled_meeting_chosen_with_meeting_refused(world):
    cancelled = "tafel-model-2027-01-12"
    write(world, "UPDATE meeting SET status = 'cancelled' WHERE id = ?", (cancelled,))
    before = world.snapshot()
    with pytest.raises(UsageError, match=f"meeting {cancelled} is cancelled"):
        world.submit("adoption", meeting=cancelled)
    assert world.snapshot() == before


def test_submit_without_concerned_parties_refused(world):
    before = world.snapshot()
    with pytest.raises(UsageError, match="name at least one concerned party"):
        world.submit("adoption", parties=[])
    assert world.snapshot() == before
