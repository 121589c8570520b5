"""Every move and every refusal of the three workflows (information, adoption, advice)."""

from __future__ import annotations

import pytest

from regie.engine import decisions, moves
from regie.errors import InvalidMove, NotAllowed, UsageError

PURPOSES = ["information", "adoption", "advice"]
OUTCOME = {"information": "noted", "adoption": "adopted", "advice": "positive"}
DECISIONS = ["adoption", "advice"]  # information is noted, not decided


def _cover_all(world, pid):
    """Record every concerned party's mandated representative present at the meeting."""
    from regie.engine import attendance

    meeting = world.show(pid)["meeting"]
    body = world.show(pid)["agenda"][-1]["meeting"]
    assert body == meeting
    oogo = world.body_id("oogo")
    for party in world.show(pid)["parties"]:
        world.call(
            attendance.record_attendance,
            meeting_id=meeting,
            person=world.mandated(party, oogo),
            status="present",
        )


def _decide(world, pid, purpose, **kwargs):
    if purpose != "information":
        _cover_all(world, pid)
    kwargs.setdefault("text", "Agreed as proposed.")
    return world.call(decisions.decide, proposal_id=pid, outcome=OUTCOME[purpose], **kwargs)


# -- submit and the default route ---------------------------------------------------------


@pytest.mark.parametrize("purpose", PURPOSES)
def test_submit_places_on_the_tables_next_meeting(world, purpose):
    pid = world.submit(
        purpose,
        parties=["ede", "barneveld"],
        focus_point="sp2",
        admin_lead="ingrid-schouten",
        official_lead="thijs-veldhuizen",
        documents=["https://docs.example.org/a.pdf"],
    )
    p = world.show(pid)
    assert pid == "P-2026-001"
    assert (p["state"], p["stage"], p["purpose"]) == ("table", "table", purpose)
    assert p["meeting"] == "tafel-model-2026-12-08"
    assert p["route"] == ["table", "chairs", "ao", "oogo"]
    assert p["parties"] == ["barneveld", "ede"]
    assert p["agenda"] == [
        {
            "meeting": "tafel-model-2026-12-08",
            "stage": "table",
            "starts_at": p["meeting_starts_at"],
            "result": None,
        }
    ]
    assert world.audit_count("submitted") == 1
    assert world.submit(purpose) == "P-2026-002"


@pytest.mark.parametrize("purpose", PURPOSES)
def test_advance_along_the_default_route_then_decide_and_confirm(world, purpose):
    pid = world.submit(purpose)
    seen = []
    for expected in ("chairs", "ao", "oogo"):
        r = world.advance(pid)
        assert (r.action, r.state, r.stage) == ("advanced", expected, expected)
        p = world.show(pid)
        assert p["state"] == expected
        assert world.sql("SELECT body_id FROM meeting WHERE id = ?", (p["meeting"],))[0][0] == (
            world.body_id(expected)
        )
        seen.append(p["meeting"])
    assert seen == ["voorzitters-2026-12-17", "ao-2027-01-07", "oogo-2027-01-28"]
    results = [a["result"] for a in world.show(pid)["agenda"]]
    assert results == ["advanced", "advanced", "advanced", None]
    world.approve(seen[-1])  # the chairs' meeting sets the OOGO agenda
    world.to_meeting_of(pid)
    d = _decide(world, pid, purpose)
    if purpose == "information":  # no decision: noted, closed, nothing to confirm
        assert (d.state, d.version, d.outcome) == ("noted", 0, "noted")
        p = world.show(pid)
        assert (p["state"], p["decisions"], p["moves_allowed"]) == ("noted", [], [])
        assert p["agenda"][-1]["result"] == "noted"
        assert world.audit_count("noted") == 1 and world.audit_count("decided") == 0
        return
    assert (d.state, d.version) == ("awaiting_confirmation", 1)
    c = world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    assert c.state == "decided"
    p = world.show(pid)
    assert p["state"] == "decided"
    assert p["decisions"][0]["confirmed_by"] == world.chair("oogo")
    assert p["agenda"][-1]["result"] == "decided"
    assert p["moves_allowed"] == []


# -- the route set at the chairs' meeting -------------------------------------------------


@pytest.mark.parametrize("purpose", ["information", "advice"])
def test_route_straight_to_oogo_allowed(world, purpose):
    pid = world.submit(purpose)
    world.advance(pid)
    world.to_meeting_of(pid)  # the chairs' meeting has started: it sets the route
    world.call(moves.set_route, proposal_id=pid, route=["table", "chairs", "oogo"])
    assert world.show(pid)["route"] == ["table", "chairs", "oogo"]
    r = world.advance(pid)
    assert (r.state, r.meeting_id) == ("oogo", "oogo-2027-01-28")
    assert world.audit_count("route_set") == 1


def test_adoption_route_skipping_ao_refused_listing_allowed_routes(world):
    pid = world.submit("adoption")
    world.advance(pid)
    world.to_meeting_of(pid)
    before = world.snapshot(pid)
    with pytest.raises(UsageError) as exc:
        world.call(moves.set_route, proposal_id=pid, route=["table", "chairs", "oogo"])
    msg = str(exc.value)
    assert "no advance from 'chairs' to 'oogo'" in msg
    assert "allowed routes: table -> chairs -> ao -> oogo" in msg
    assert world.snapshot(pid) == before


def test_route_can_only_be_given_up_to_the_chairs_stage(world):
    pid = world.submit("information")
    world.advance(pid)
    world.advance(pid)  # now at the AO: past the chairs' meeting
    before = world.snapshot(pid)
    with pytest.raises(InvalidMove) as exc:
        world.call(moves.set_route, proposal_id=pid, route=["table", "chairs", "oogo"])
    assert "a route is proposed or set up to the 'chairs' stage" in str(exc.value)
    assert world.snapshot(pid) == before


def test_route_set_only_by_chairs_chair_or_coordinator(world):
    pid = world.submit("information")
    world.advance(pid)
    world.to_meeting_of(pid)
    with pytest.raises(NotAllowed):
        world.call(
            moves.set_route,
            proposal_id=pid,
            route=["table", "chairs", "oogo"],
            actor=world.chair("ao"),
        )


# -- return -----------------------------------------------------------------------------

RETURNS = [
    ("chairs", "table"),
    ("ao", "table"),
    ("ao", "chairs"),
    ("oogo", "table"),
    ("oogo", "chairs"),
    ("oogo", "ao"),
]


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize(("at", "to"), RETURNS)
def test_return_to_each_earlier_stage(world, purpose, at, to):
    pid = world.submit(purpose)
    while world.show(pid)["state"] != at:
        world.advance(pid)
    old_meeting = world.show(pid)["meeting"]
    r = world.call(moves.return_, proposal_id=pid, to=to, reason="needs more work")
    p = world.show(pid)
    assert (r.action, p["state"], p["stage"]) == ("returned", to, to)
    body = world.sql("SELECT body_id FROM meeting WHERE id = ?", (p["meeting"],))[0][0]
    assert body == ("tafel-model" if to == "table" else world.body_id(to))
    old = [a for a in p["agenda"] if a["meeting"] == old_meeting]
    assert old[-1]["result"] == "returned"
    ev = world.sql("SELECT payload FROM audit_event WHERE action = 'returned'")
    assert '"reason":"needs more work"' in ev[0][0]


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize(
    ("at", "to"),
    [
        ("table", "chairs"),
        ("chairs", "ao"),
        ("chairs", "chairs"),
        ("ao", "oogo"),
        ("ao", "lea"),
        ("table", "table"),
    ],
)
def test_return_to_a_later_or_unknown_stage_refused(world, purpose, at, to):
    pid = world.submit(purpose)
    while world.show(pid)["state"] != at:
        world.advance(pid)
    before = world.snapshot(pid)
    with pytest.raises(InvalidMove) as exc:
        world.call(moves.return_, proposal_id=pid, to=to)
    assert f"cannot return to '{to}'" in str(exc.value)
    assert world.snapshot(pid) == before


def test_return_to_a_stage_off_the_route_is_refused(world):
    """Information routed table -> chairs -> oogo: the OOGO cannot send it to the AO,
    which is not on its route (it would have no way forward)."""
    pid = world.submit("information")
    world.advance(pid)
    world.to_meeting_of(pid)
    world.call(moves.set_route, proposal_id=pid, route=["table", "chairs", "oogo"])
    world.advance(pid)
    p = world.show(pid)
    assert "return (to table or chairs)" in p["moves_allowed"]
    before = world.snapshot(pid)
    with pytest.raises(InvalidMove) as exc:
        world.call(moves.return_, proposal_id=pid, to="ao")
    assert "not on its route table -> chairs -> oogo" in str(exc.value)
    assert world.snapshot(pid) == before
    world.call(moves.return_, proposal_id=pid, to="chairs")
    assert world.advance(pid).state == "oogo"


# -- defer ------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("at", ["table", "chairs", "ao", "oogo"])
def test_defer_goes_to_the_next_meeting_of_the_same_body(world, purpose, at):
    pid = world.submit(purpose)
    while world.show(pid)["state"] != at:
        world.advance(pid)
    old = world.show(pid)["meeting"]
    old_start = world.meeting_start(old)
    body = world.sql("SELECT body_id FROM meeting WHERE id = ?", (old,))[0][0]
    world.to_meeting_of(pid)
    r = world.call(moves.defer, proposal_id=pid, reason="no time")
    p = world.show(pid)
    assert (r.action, p["state"]) == ("deferred", at)
    new_body, new_start = world.sql(
        "SELECT body_id, starts_at FROM meeting WHERE id = ?", (p["meeting"],)
    )[0]
    assert new_body == body
    expected = world.sql(
        "SELECT id FROM meeting WHERE body_id = ? AND starts_at > "
        "(SELECT starts_at FROM meeting WHERE id = ?) ORDER BY starts_at LIMIT 1",
        (body, old),
    )
    assert p["meeting"] == expected[0][0]
    assert world.meeting_start(p["meeting"]) > old_start
    results = {(a["meeting"], a["result"]) for a in p["agenda"]}
    assert (old, "deferred") in results and (p["meeting"], None) in results


def test_defer_before_the_meeting_also_moves_to_the_next_one(world):
    pid = world.submit("adoption")
    r = world.call(moves.defer, proposal_id=pid)
    assert r.meeting_id == "tafel-model-2027-01-12"


# -- withdraw ---------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("at", ["table", "chairs", "ao", "oogo"])
def test_withdraw_then_every_move_refused(world, purpose, at):
    pid = world.submit(purpose)
    while world.show(pid)["state"] != at:
        world.advance(pid)
    old = world.show(pid)["meeting"]
    world.call(moves.withdraw, proposal_id=pid, reason="no longer needed")
    p = world.show(pid)
    assert (p["state"], p["meeting"], p["moves_allowed"]) == ("withdrawn", None, [])
    assert [a["result"] for a in p["agenda"] if a["meeting"] == old] == ["withdrawn"]
    before = world.snapshot(pid)
    attempts = [
        (moves.advance, {}),
        (moves.return_, {"to": "table"}),
        (moves.defer, {}),
        (moves.withdraw, {"reason": "again"}),
        (moves.set_route, {"route": ["table", "chairs", "ao", "oogo"]}),
        (decisions.decide, {"outcome": OUTCOME[purpose], "text": "x"}),
        (decisions.confirm, {}),
        (decisions.confirm, {"amend_text": "x"}),
    ]
    for fn, kwargs in attempts:
        with pytest.raises(InvalidMove) as exc:
            world.call(fn, proposal_id=pid, **kwargs)
        assert "moves allowed now: none" in str(exc.value), fn.__name__
        assert "'withdrawn'" in str(exc.value)
    assert world.snapshot(pid) == before


def test_withdraw_needs_a_reason(world):
    pid = world.submit("adoption")
    with pytest.raises(UsageError):
        world.call(moves.withdraw, proposal_id=pid, reason="  ")
    assert world.show(pid)["state"] == "table"


# -- decide and confirm -----------------------------------------------------------------


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("at", ["table", "chairs", "ao"])
def test_decide_only_at_the_final_stage(world, purpose, at):
    pid = world.submit(purpose)
    while world.show(pid)["state"] != at:
        world.advance(pid)
    world.to_meeting_of(pid)
    before = world.snapshot(pid)
    with pytest.raises(InvalidMove) as exc:
        world.call(decisions.decide, proposal_id=pid, outcome=OUTCOME[purpose], text="x")
    assert "the outcome is recorded at the end of its route ('oogo')" in str(exc.value)
    assert world.snapshot(pid) == before


@pytest.mark.parametrize("purpose", PURPOSES)
def test_decide_before_the_meeting_started_refused(world, purpose):
    pid = world.submit(purpose)
    world.to_final(pid)
    world.clock.set(world.meeting_start(world.show(pid)["meeting"]).replace(hour=19, minute=29))
    before = world.snapshot(pid)
    with pytest.raises(InvalidMove) as exc:
        world.call(
            decisions.decide, proposal_id=pid, outcome=OUTCOME[purpose], text="x", override="test"
        )
    assert "has not started yet" in str(exc.value)
    assert world.snapshot(pid) == before


@pytest.mark.parametrize("purpose", PURPOSES)
def test_unknown_outcome_refused_listing_allowed(world, purpose):
    pid = world.submit(purpose)
    world.to_final(pid)
    with pytest.raises(UsageError) as exc:
        world.call(decisions.decide, proposal_id=pid, outcome="approved", text="x")
    allowed = {
        "information": "noted",
        "adoption": "adopted, rejected",
        "advice": "positive, negative, no_consensus",
    }[purpose]
    assert f"at 'oogo'; use one of: {allowed}" in str(exc.value)


def test_advice_needs_its_text(world):
    pid = world.submit("advice")
    world.to_final(pid)
    with pytest.raises(UsageError, match="needs the decision text"):
        world.call(decisions.decide, proposal_id=pid, outcome="positive", override="x")


def test_adoption_can_be_rejected(world):
    pid = world.submit("adoption")
    world.to_final(pid)
    _cover_all(world, pid)
    d = world.call(decisions.decide, proposal_id=pid, outcome="rejected", text="Not feasible.")
    assert d.outcome == "rejected"


@pytest.mark.parametrize("purpose", DECISIONS)
def test_confirm_only_by_the_deciding_bodys_chair(world, purpose):
    pid = world.submit(purpose)
    world.to_final(pid)
    _decide(world, pid, purpose)
    before = world.snapshot(pid)
    for who in (world.coordinator, world.chair("ao"), world.mandated("ede", "oogo")):
        assert who != world.chair("oogo")
        with pytest.raises(NotAllowed) as exc:
            world.call(decisions.confirm, proposal_id=pid, actor=who, version=1)
        assert "only the chair of 'oogo' may" in str(exc.value)
        if who == world.coordinator:
            continue  # the coordinator may amend: see the next test but one
        with pytest.raises(NotAllowed):
            world.call(decisions.confirm, proposal_id=pid, actor=who, amend_text="other")
    assert world.snapshot(pid) == before


def test_the_coordinator_amends_and_the_chair_gets_a_new_request(world):
    """A chair asks for a correction (web link); the coordinator writes it: a new version
    the chair confirms on its own, announced to the chair (not to the coordinator)."""
    pid = world.submit("adoption")
    world.to_final(pid)
    _decide(world, pid, "adoption", text="Version one.")
    r = world.call(
        decisions.confirm, proposal_id=pid, actor=world.coordinator, amend_text="Version two."
    )
    assert (r.state, r.version) == ("awaiting_confirmation", 2)
    with pytest.raises(NotAllowed):  # confirming stays the chair's
        world.call(decisions.confirm, proposal_id=pid, actor=world.coordinator, version=2)
    [(event_id, actor)] = world.sql(
        "SELECT id, actor FROM audit_event WHERE action = 'amended' AND proposal_id = ?", (pid,)
    )
    assert actor == world.coordinator
    mails = world.sql("SELECT kind, person_id FROM outbox WHERE event_id = ?", (event_id,))
    assert mails == [("decision_amended", world.chair("oogo"))]
    r = world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=2)
    assert (r.state, r.version) == ("decided", 2)


def test_confirm_amend_creates_version_2_then_confirm_finalises_it(world):
    pid = world.submit("adoption")
    world.to_final(pid)
    _decide(world, pid, "adoption", text="Version one.")
    chair = world.chair("oogo")
    r = world.call(decisions.confirm, proposal_id=pid, actor=chair, amend_text="Version two.")
    assert (r.state, r.version) == ("awaiting_confirmation", 2)
    p = world.show(pid)
    assert p["state"] == "awaiting_confirmation"
    assert [(d["version"], d["text"], d["confirmed_by"]) for d in p["decisions"]] == [
        (1, "Version one.", None),
        (2, "Version two.", None),
    ]
    r = world.call(decisions.confirm, proposal_id=pid, actor=chair, version=2)
    assert (r.state, r.version) == ("decided", 2)
    p = world.show(pid)
    assert [(d["version"], d["confirmed_by"]) for d in p["decisions"]] == [(1, None), (2, chair)]
    assert world.audit_count("amended") == 1 and world.audit_count("confirmed") == 1
    before = world.snapshot(pid)
    with pytest.raises(InvalidMove) as exc:
        world.call(decisions.confirm, proposal_id=pid, actor=chair, version=2)
    assert "moves allowed now: none" in str(exc.value)
    assert world.snapshot(pid) == before


def test_empty_amendment_refused_and_nothing_changes(world):
    pid = world.submit("adoption")
    world.to_final(pid)
    _decide(world, pid, "adoption")
    before = world.snapshot(pid)
    with pytest.raises(UsageError):
        world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), amend_text="  ")
    assert world.snapshot(pid) == before


def test_decide_twice_refused(world):
    pid = world.submit("adoption")
    world.to_final(pid)
    _decide(world, pid, "adoption")
    with pytest.raises(InvalidMove) as exc:
        _decide(world, pid, "adoption")
    assert "moves allowed now: amend, confirm, retract" in str(exc.value)


# -- invalid moves: the message and nothing changed -----------------------------------------


def test_invalid_move_message_names_proposal_state_move_and_allowed_moves(world):
    pid = world.submit("adoption")
    world.advance(pid)
    world.advance(pid)  # at ao, on its meeting (the clock is before it)
    world.clock.set(world.meeting_start(world.show(pid)["meeting"]).replace(hour=9, minute=0))
    before = world.snapshot(pid)
    with pytest.raises(InvalidMove) as exc:
        world.call(moves.advance, proposal_id=pid)
    err = exc.value
    assert (err.proposal, err.state, err.move) == (pid, "ao", "advance")
    msg = str(err)
    assert msg.startswith(f"{pid} is in state 'ao': cannot advance")
    assert "once that meeting has started" in msg
    assert (
        "moves allowed now: advance (to oogo), defer, return (to table or chairs), withdraw"
    ) in msg
    assert world.snapshot(pid) == before


def test_advance_at_the_final_stage_refused(world):
    pid = world.submit("information")
    world.to_final(pid)
    before = world.snapshot(pid)
    with pytest.raises(InvalidMove) as exc:
        world.call(moves.advance, proposal_id=pid)
    assert "record the outcome with 'regie decide'" in str(exc.value)
    assert "decide" in exc.value.allowed
    assert world.snapshot(pid) == before


def test_unknown_proposal(world):
    from regie.errors import NotFound

    with pytest.raises(NotFound, match="P-2026-999"):
        world.call(moves.advance, proposal_id="P-2026-999")
