"""Mandate check at decision time, attendance registration, and who may act."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from regie.engine import attendance, decisions, moves
from regie.errors import MandateMissing, NotAllowed, UsageError

PARTIES = ["ede", "swv-vo"]


@pytest.fixture
def at_oogo(world):
    """An adoption proposal for ede and swv-vo on the OOGO, the clock at its start."""
    pid = world.submit("adoption", parties=PARTIES)
    meeting = world.to_final(pid)
    return world, pid, meeting


def _present(world, meeting, person, status="present", **kwargs):
    return world.call(
        attendance.record_attendance, meeting_id=meeting, person=person, status=status, **kwargs
    )


def _decide(world, pid, **kwargs):
    return world.call(
        decisions.decide, proposal_id=pid, outcome="adopted", text="Adopted.", **kwargs
    )


@pytest.mark.parametrize("purpose", ["adoption", "advice"])
def test_covered_by_mandated_representatives(world, purpose):
    pid = world.submit(purpose, parties=PARTIES)
    meeting = world.to_final(pid)
    for party in PARTIES:
        _present(world, meeting, world.mandated(party, "oogo"))
    outcome = "adopted" if purpose == "adoption" else "positive"
    d = world.call(decisions.decide, proposal_id=pid, outcome=outcome, text="Yes.")
    assert (d.state, d.uncovered, d.override) == ("awaiting_confirmation", [], None)


@pytest.mark.parametrize("purpose", ["adoption", "advice"])
def test_uncovered_names_the_parties_and_changes_nothing(world, purpose):
    pid = world.submit(purpose, parties=PARTIES)
    meeting = world.to_final(pid)
    _present(world, meeting, world.mandated("ede", "oogo"))
    before = world.snapshot(pid)
    outcome = "adopted" if purpose == "adoption" else "positive"
    with pytest.raises(MandateMissing) as exc:
        world.call(decisions.decide, proposal_id=pid, outcome=outcome, text="Yes.")
    assert exc.value.parties == ["swv-vo"]
    assert "swv-vo" in str(exc.value) and "ede" not in str(exc.value).split("for:")[1]
    assert world.snapshot(pid) == before


def test_information_needs_no_mandate(world):
    pid = world.submit("information", parties=PARTIES)
    world.to_final(pid)
    d = world.call(decisions.decide, proposal_id=pid, outcome="noted")
    assert d.uncovered == []


def test_absent_or_unmandated_attendance_does_not_cover(at_oogo):
    world, pid, meeting = at_oogo
    _present(world, meeting, world.mandated("ede", "oogo"), status="absent")
    # the OOGO chair is present but speaks for veenendaal, not for ede or swv-vo
    _present(world, meeting, world.chair("oogo"))
    with pytest.raises(MandateMissing) as exc:
        _decide(world, pid)
    assert exc.value.parties == PARTIES


def test_covered_by_a_registered_substitute(at_oogo):
    world, pid, meeting = at_oogo
    ede_rep = world.mandated("ede", "oogo")
    sub = world.substitute("ede", "oogo")
    _present(world, meeting, ede_rep, status="absent")
    r = _present(world, meeting, sub, status="substitute", substitute_for=ede_rep)
    assert (r.party_id, r.status) == ("ede", "substitute")
    _present(world, meeting, world.mandated("swv-vo", "oogo"))
    assert _decide(world, pid).uncovered == []


def _before(world, meeting):
    """The evening before the meeting: prior positions are given before it starts."""
    world.clock.set(world.meeting_start(meeting) - timedelta(days=1))


def test_covered_by_a_prior_position(at_oogo):
    world, pid, meeting = at_oogo
    vo_rep = world.mandated("swv-vo", "oogo")
    _before(world, meeting)
    r = world.call(
        attendance.record_prior_position,
        meeting_id=meeting,
        proposal_id=pid,
        person=vo_rep,
        stance="agree",
        position="agrees",
        actor=vo_rep,
    )
    assert r.party_id == "swv-vo"
    world.to_meeting_of(pid)
    _present(world, meeting, world.mandated("ede", "oogo"))
    assert _decide(world, pid).uncovered == []


def test_prior_position_only_from_a_mandated_person(at_oogo):
    world, pid, meeting = at_oogo
    _before(world, meeting)
    with pytest.raises(UsageError, match="has no mandate"):
        world.call(
            attendance.record_prior_position,
            meeting_id=meeting,
            proposal_id=pid,
            person="thijs-veldhuizen",
            stance="agree",
            position="agrees",
        )


def test_override_by_the_coordinator_records_the_reason(at_oogo):
    world, pid, meeting = at_oogo
    d = _decide(world, pid, override="agreed by e-mail")
    assert (d.override, d.uncovered) == ("agreed by e-mail", PARTIES)
    row = world.sql("SELECT override_reason FROM decision WHERE proposal_id = ?", (pid,))
    assert row == [("agreed by e-mail",)]
    payload = json.loads(
        world.sql("SELECT payload FROM audit_event WHERE action = 'decided'")[0][0]
    )
    assert payload["override"] == "agreed by e-mail"
    assert payload["uncovered"] == PARTIES
    assert world.show(pid)["decisions"][0]["override"] == "agreed by e-mail"


def test_override_by_anyone_else_refused(at_oogo):
    world, pid, meeting = at_oogo
    before = world.snapshot(pid)
    with pytest.raises(NotAllowed, match="only the network coordinator"):
        _decide(world, pid, override="agreed", actor=world.chair("oogo"))
    assert world.snapshot(pid) == before


def test_override_needs_a_reason(at_oogo):
    world, pid, meeting = at_oogo
    with pytest.raises(UsageError, match="needs a reason"):
        _decide(world, pid, override="   ")


def test_unregistered_substitute_refused_at_attendance(at_oogo):
    world, pid, meeting = at_oogo
    ede_rep = world.mandated("ede", "oogo")
    registered = {
        s.person for s in world.region.substitutes if s.party == "ede" and s.body == "oogo"
    }
    stranger = next(
        p.id
        for p in world.region.people
        if p.party == "ede" and p.id not in registered and p.id != ede_rep
    )
    before = world.snapshot()
    with pytest.raises(UsageError, match="not a registered substitute for party 'ede'"):
        _present(world, meeting, stranger, status="substitute", substitute_for=ede_rep)
    assert world.snapshot() == before


def test_attendance_of_a_non_member_refused(at_oogo):
    world, pid, meeting = at_oogo
    with pytest.raises(UsageError, match="is not a member of 'oogo'"):
        _present(world, meeting, "thijs-veldhuizen")


def test_attendance_recorded_only_by_self_chair_or_coordinator(at_oogo):
    world, pid, meeting = at_oogo
    ede_rep = world.mandated("ede", "oogo")
    other = world.mandated("swv-vo", "oogo")
    with pytest.raises(NotAllowed):
        _present(world, meeting, ede_rep, actor=other)
    assert _present(world, meeting, ede_rep, actor=ede_rep).status == "present"
    assert _present(world, meeting, other, actor=world.chair("oogo")).status == "present"


# -- who may act ----------------------------------------------------------------------------


def test_non_member_submitting_to_a_table_refused(world):
    table = world.region.body("tafel-model")
    outsider = next(
        p.id for p in world.region.people if p.id not in table.members and p.id != world.coordinator
    )
    before = world.snapshot()
    with pytest.raises(NotAllowed) as exc:
        world.submit("adoption", actor=outsider)
    assert str(exc.value).startswith(f"{outsider} may not submit a proposal")
    assert world.snapshot() == before


def test_member_of_a_table_may_submit(world):
    table = world.region.body("tafel-model")
    member = next(m for m in table.members if m != table.chair)
    pid = world.submit("adoption", actor=member)
    assert world.sql("SELECT submitted_by FROM proposal WHERE id = ?", (pid,)) == [(member,)]


def test_random_member_advancing_refused_chair_allowed(world):
    table = world.region.body("tafel-model")
    member = next(m for m in table.members if m != table.chair)
    pid = world.submit("adoption")
    world.to_meeting_of(pid)
    before = world.snapshot(pid)
    for who in (member, world.chair("ao")):
        with pytest.raises(NotAllowed, match="only the chair of 'tafel-model'"):
            world.call(moves.advance, proposal_id=pid, actor=who)
    assert world.snapshot(pid) == before
    r = world.call(moves.advance, proposal_id=pid, actor=table.chair)
    assert r.state == "chairs"
    ev = world.sql("SELECT actor, acting_for FROM audit_event WHERE action = 'advanced'")
    assert ev == [(table.chair, world.region.person(table.chair).party)]
    # at the AO stage the AO chair may act, the table chair no longer
    world.advance(pid)
    world.to_meeting_of(pid)
    with pytest.raises(NotAllowed):
        world.call(moves.defer, proposal_id=pid, actor=table.chair)
    assert world.call(moves.defer, proposal_id=pid, actor=world.chair("ao")).state == "ao"


def test_unknown_or_missing_actor(world):
    from regie.errors import NotFound

    with pytest.raises(NotFound, match="nobody"):
        world.submit("adoption", actor="nobody")
    with pytest.raises(UsageError, match="who is acting"):
        world.submit("adoption", actor=None)
