"""Seed 002's rules for outcomes, through the services on a real SQLite file:

3. decisions at the right level: information ends "noted" where its route ends (no decision
   version, no confirmation, not in decision lists), an advice names its addressee and is
   sent to it;
4. a party on record as disagreeing: the dissent is recorded with the decision;
5. a recorded decision can be retracted for a new one (the next version);
6. a confirmation names the version it confirms; a superseded version is refused;
7. the news of the top meeting carries confirmed decisions, later ones as an addendum,
   with overrides and dissent named.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from regie.engine import agenda, attendance, decisions, moves
from regie.engine.check import check_database
from regie.errors import DissentNotRecorded, InvalidMove, StaleVersion, UsageError


def cover(world: Any, pid: str, *, skip: tuple[str, ...] = ()) -> None:
    meeting = world.show(pid)["meeting"]
    for party in world.show(pid)["parties"]:
        if party not in skip:
            person = world.mandated(party, world.body_id("oogo"))
            world.call(
                attendance.record_attendance, meeting_id=meeting, person=person, status="present"
            )


def decided(world: Any, purpose: str = "adoption", **kwargs: Any) -> str:
    pid = world.submit(purpose, **kwargs)
    world.to_final(pid)
    cover(world, pid)
    outcome = "adopted" if purpose == "adoption" else "positive"
    world.call(decisions.decide, proposal_id=pid, outcome=outcome, text="Vastgesteld.")
    return pid


def notices(world: Any, action: str) -> list[tuple[str, str]]:
    return world.sql(
        "SELECT o.kind, o.person_id FROM outbox o JOIN audit_event e ON e.id = o.event_id "
        "WHERE e.action = ? ORDER BY o.kind, o.person_id",
        (action,),
    )


# -- 3. information is noted where its route ends -----------------------------------------


def test_information_is_noted_by_the_chairs_meeting(world: Any) -> None:
    pid = world.submit("information")
    world.advance(pid)
    world.to_meeting_of(pid)  # the chairs' meeting has started: it sets the route
    world.call(moves.set_route, proposal_id=pid, route=["table", "chairs"])
    result = world.call(decisions.decide, proposal_id=pid, outcome="noted")
    assert (result.state, result.version) == ("noted", 0)
    shown = world.show(pid)
    assert (shown["state"], shown["decisions"], shown["moves_allowed"]) == ("noted", [], [])
    assert world.sql("SELECT COUNT(*) FROM decision") == [(0,)]
    assert (world.audit_count("noted"), world.audit_count("decided")) == (1, 0)
    assert {kind for kind, _ in notices(world, "noted")} == {"noted"}
    with pytest.raises(InvalidMove):
        world.call(decisions.confirm, proposal_id=pid, actor=world.chair("chairs"), version=1)
    assert check_database(db=world.db).problems == []


def test_information_is_not_noted_before_its_route_ends(world: Any) -> None:
    pid = world.submit("information")
    world.advance(pid)  # at chairs; the default route goes on to the AO and the OOGO
    before = world.snapshot(pid)
    with pytest.raises(InvalidMove, match=r"at the end of its route \('oogo'\)"):
        world.call(decisions.decide, proposal_id=pid, outcome="noted")
    assert world.snapshot(pid) == before


def test_noted_information_is_no_decision_in_the_news(world: Any) -> None:
    info = world.submit("information")
    adoption = world.submit("adoption")
    world.to_final_together(info, adoption)  # approves the OOGO agenda with both on it
    world.call(decisions.decide, proposal_id=info, outcome="noted")
    cover(world, adoption)
    world.call(decisions.decide, proposal_id=adoption, outcome="adopted", text="Ja.")
    world.call(decisions.confirm, proposal_id=adoption, actor=world.chair("oogo"), version=1)
    world.clock.advance(timedelta(hours=3))
    world.call(agenda.oogo_news, meeting_id=world.show(adoption)["meeting"])
    (payload,) = world.sql("SELECT payload FROM audit_event WHERE action = 'oogo_news'")
    assert info not in payload[0] and adoption in payload[0]


# -- 3. an advice names its addressee ---------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"), [("ede", "party:ede"), ("body:ao", "body:ao"), ("party:swv-po", None)]
)
def test_an_advice_names_its_addressee(world: Any, given: str, stored: str | None) -> None:
    pid = world.submit("advice", addressee=given)
    expected = stored or given
    assert world.sql("SELECT addressee FROM proposal WHERE id = ?", (pid,)) == [(expected,)]


@pytest.mark.parametrize(
    ("purpose", "addressee", "words"),
    [
        ("advice", None, "name whom the advice is for"),
        ("advice", "nobody", "unknown addressee 'nobody'"),
        ("advice", "party:ao", "unknown addressee 'party:ao'"),
        ("adoption", "ede", "have no addressee"),
    ],
)
def test_addressee_mistakes_are_refused(
    world: Any, purpose: str, addressee: str | None, words: str
) -> None:
    before = world.snapshot()
    with pytest.raises(UsageError, match=words):
        world.call(
            moves.submit,
            title="x",
            purpose=purpose,
            table="tafel-model",
            parties=["ede"],
            addressee=addressee,
        )
    assert world.snapshot() == before


def test_the_confirmed_advice_goes_to_its_addressee(world: Any) -> None:
    pid = decided(world, "advice", addressee="swv-po")
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    swv_po = {p.id for p in world.region.people if p.party == "swv-po"}
    sent = notices(world, "confirmed")
    assert {person for kind, person in sent if kind == "advice"} == swv_po
    assert not swv_po & {person for kind, person in sent if kind == "decision_final"}
    contexts = world.sql("SELECT context FROM outbox WHERE kind = 'advice'")
    assert contexts and all(json.loads(c)["addressee_name"] == "SWV PO" for (c,) in contexts)


def test_advice_records_positive_negative_or_no_consensus(world: Any) -> None:
    pid = world.submit("advice")
    world.to_final(pid)
    cover(world, pid)
    with pytest.raises(UsageError, match="use one of: positive, negative, no_consensus"):
        world.call(decisions.decide, proposal_id=pid, outcome="advice_given", text="x")
    r = world.call(decisions.decide, proposal_id=pid, outcome="no_consensus", text="Verdeeld.")
    assert r.outcome == "no_consensus"


# -- 6. a confirmation names its version ------------------------------------------------------


def test_confirm_without_a_version_is_refused_naming_it(world: Any) -> None:
    pid = decided(world)
    before = world.snapshot(pid)
    with pytest.raises(UsageError, match='--version 1 .*reads: "Vastgesteld."'):
        world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"))
    assert world.snapshot(pid) == before


def test_a_confirm_racing_an_amendment_is_refused(world: Any) -> None:
    """The chair read version 1; meanwhile version 2 was written: confirming 1 must fail."""
    pid = decided(world)
    chair = world.chair("oogo")
    world.call(decisions.confirm, proposal_id=pid, actor=chair, amend_text="Vastgesteld, mits.")
    before = world.snapshot(pid)
    with pytest.raises(StaleVersion) as exc:
        world.call(decisions.confirm, proposal_id=pid, actor=chair, version=1)
    assert "superseded by version 2" in str(exc.value) and "Vastgesteld, mits." in str(exc.value)
    with pytest.raises(StaleVersion):
        world.call(decisions.confirm, proposal_id=pid, actor=chair, version=1, amend_text="Oud.")
    assert world.snapshot(pid) == before
    done = world.call(decisions.confirm, proposal_id=pid, actor=chair, version=2)
    assert (done.state, done.version) == ("decided", 2)
    confirmed = world.sql("SELECT version FROM decision WHERE confirmed_by IS NOT NULL")
    assert confirmed == [(2,)]


# -- 4. dissent, 5. retraction ------------------------------------------------------------------


def test_a_disagreeing_party_needs_the_dissent_recorded(world: Any) -> None:
    pid = world.submit("adoption")
    world.to_final(pid)
    meeting = world.show(pid)["meeting"]
    world.clock.advance(timedelta(minutes=-30))  # a prior position comes before the meeting
    world.call(
        attendance.record_prior_position,
        meeting_id=meeting,
        proposal_id=pid,
        person=world.mandated("ede", world.body_id("oogo")),
        stance="disagree",
        position="Niet haalbaar in 2027.",
    )
    world.to_meeting_of(pid)
    cover(world, pid, skip=("ede",))
    before = world.snapshot(pid)
    with pytest.raises(DissentNotRecorded, match="ede gave a prior position 'disagree'"):
        world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Vastgesteld.")
    assert world.snapshot(pid) == before
    world.call(
        decisions.decide,
        proposal_id=pid,
        outcome="adopted",
        text="Vastgesteld.",
        dissent="Ede acht 2027 niet haalbaar.",
    )
    (dissent,) = world.sql("SELECT dissent FROM decision WHERE proposal_id = ?", (pid,))[0]
    assert dissent == '{"parties": ["ede"], "text": "Ede acht 2027 niet haalbaar."}'
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    world.call(agenda.oogo_news, meeting_id=meeting)
    news = json.loads(world.sql("SELECT payload FROM audit_event WHERE action = 'oogo_news'")[0][0])
    assert news["decisions"][0]["dissent"] == {
        "parties": ["Ede"],
        "text": "Ede acht 2027 niet haalbaar.",
    }


def test_retract_then_decide_again_as_the_next_version(world: Any) -> None:
    pid = decided(world)
    with pytest.raises(UsageError, match="needs a reason"):
        world.call(decisions.retract, proposal_id=pid, reason=" ")
    r = world.call(decisions.retract, proposal_id=pid, reason="aanwezigheid Ede klopte niet")
    assert (r.state, r.version) == ("oogo", 1)
    shown = world.show(pid)
    assert (shown["state"], shown["meeting"]) == ("oogo", "oogo-2027-01-28")
    assert world.sql("SELECT version, retracted_by FROM decision") == [(1, world.coordinator)]
    again = world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Opnieuw.")
    assert again.version == 2
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=2)
    assert world.show(pid)["state"] == "decided"
    assert {kind for kind, _ in notices(world, "decision_retracted")} == {"decision_retracted"}
    assert check_database(db=world.db).problems == []
    with pytest.raises(InvalidMove):
        world.call(decisions.retract, proposal_id=pid, reason="te laat")


# -- 7. news after confirmation, later decisions as an addendum ---------------------------------


def test_news_carries_confirmed_decisions_and_later_an_addendum(world: Any) -> None:
    first = world.submit("adoption")
    second = world.submit("adoption", title="Tweede", parties=["barneveld"])
    meeting = world.to_final_together(first, second)
    cover(world, first)  # Barneveld, the second's party, has nobody there
    world.call(decisions.decide, proposal_id=first, outcome="adopted", text="Eerste.")
    world.call(
        decisions.decide, proposal_id=second, outcome="adopted", text="Tweede.", override="per mail"
    )
    with pytest.raises(UsageError, match=f"{first}, {second} await the chair's confirmation"):
        world.call(agenda.oogo_news, meeting_id=meeting)
    world.call(decisions.confirm, proposal_id=first, actor=world.chair("oogo"), version=1)
    news = world.call(agenda.oogo_news, meeting_id=meeting)
    assert news.decisions == 1
    world.call(decisions.confirm, proposal_id=second, actor=world.chair("oogo"), version=1)
    addendum = world.call(agenda.oogo_news, meeting_id=meeting)
    assert addendum.decisions == 1
    payloads = [
        json.loads(row[0])
        for row in world.sql("SELECT payload FROM audit_event WHERE action = 'oogo_news'")
    ]
    assert [(p["addendum"], [d["proposal"] for d in p["decisions"]]) for p in payloads] == [
        (False, [first]),
        (True, [second]),
    ]
    assert payloads[0]["awaiting_confirmation"] == [second]
    assert payloads[1]["decisions"][0]["override"] == {
        "reason": "per mail",
        "parties": ["Barneveld"],
    }
    with pytest.raises(UsageError, match="every confirmed decision of it was in earlier news"):
        world.call(agenda.oogo_news, meeting_id=meeting)


# -- regie check replays the timing rules --------------------------------------------------------


def test_check_names_attendance_and_positions_recorded_out_of_time(world: Any) -> None:
    """Someone with write access moves a "present" to weeks before the meeting and a prior
    position to after its start: `regie check` names both events."""
    import sqlite3
    from contextlib import closing

    pid = world.submit("adoption")
    meeting = world.to_final(pid)
    world.clock.advance(timedelta(minutes=-30))
    world.call(
        attendance.record_prior_position,
        meeting_id=meeting,
        proposal_id=pid,
        person=world.mandated("swv-vo", world.body_id("oogo")),
        stance="agree",
    )
    world.to_meeting_of(pid)
    cover(world, pid, skip=("swv-vo",))
    assert check_database(db=world.db).problems == []
    world.db.dispose()
    with closing(sqlite3.connect(world.path, isolation_level=None)) as conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        conn.execute(
            "UPDATE audit_event SET at = '2027-01-02 10:00:00' WHERE action = 'attendance'"
        )
        conn.execute(
            "UPDATE audit_event SET at = '2027-01-28 19:00:00' WHERE action = 'prior_position'"
        )
    codes = {p.code for p in check_database(db=world.db).problems}
    assert {"present_before_the_meeting_day", "prior_position_after_start"} <= codes
