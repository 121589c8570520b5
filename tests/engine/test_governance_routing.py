"""Seed 002's governance rules 1, 2 and 8 as services: the chairs' meeting decides the route,
sets the top meeting's agenda, and concerned parties are corrected on the record.

Roles are the region's (`[structure] routing_body`, `top_body`); FoodValley's are the
voorzittersoverleg and the OOGO.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime
from typing import Any

import pytest

from regie.engine import (
    agenda,
    agenda_approval,
    agenda_view,
    attendance,
    audit,
    decisions,
    moves,
    parties,
)
from regie.engine.changes import begin
from regie.engine.check import check_database
from regie.engine.storage import Tx
from regie.errors import InvalidMove, NotAllowed, UsageError
from regie.notifications.recipients import notices_for_event

CHAIRS_1 = "voorzitters-2026-12-17"  # the first routing meeting after START
OOGO_1 = "oogo-2027-01-28"  # the top meeting a proposal submitted at START reaches
INFO_ROUTE = ["table", "chairs", "oogo"]  # information may skip the AO


def events(world: Any, action: str) -> list[audit.Event]:
    with world.db.session(write=False) as session:
        return [ev for _row, ev in audit.iter_events(session) if ev.action == action]


def route(world: Any, pid: str, stages: list[str], **kwargs: Any) -> Any:
    return world.call(moves.set_route, proposal_id=pid, route=stages, **kwargs)


def view(world: Any, meeting: str) -> dict[str, Any]:
    return dict(world.read(agenda_view.agenda, meeting_id=meeting, lang="en"))


def item(world: Any, meeting: str, pid: str) -> dict[str, Any]:
    return next(i for i in view(world, meeting)["items"] if i["proposal"] == pid)


def notified(world: Any, ev: audit.Event) -> dict[str, set[str]]:
    with world.db.session(write=False) as session:
        found = notices_for_event(Tx(session), ev)
    kinds: dict[str, set[str]] = {}
    for n in found:
        kinds.setdefault(n.kind, set()).add(n.person_id)
    return kinds


def problems(world: Any) -> set[str]:
    world.db.dispose()
    return {p.code for p in check_database(db=world.db).problems}


# -- rule 1: the chairs' meeting decides the route ------------------------------------------


def test_a_route_given_before_the_chairs_meeting_is_only_proposed(world: Any) -> None:
    pid = world.submit("information", admin_lead="gerrit-hoogendoorn")
    before = world.snapshot(pid)
    r = route(world, pid, INFO_ROUTE)
    assert (r.action, r.route, r.routing_body, r.meeting_id) == (
        "route_proposed",
        INFO_ROUTE,
        "voorzitters",
        None,  # still at the table: the chairs' meeting that decides is not known yet
    )
    assert world.snapshot(pid)["proposal"] == before["proposal"]  # route, version unchanged
    (ev,) = events(world, "route_proposed")
    assert ev.payload == {
        "route": INFO_ROUTE,
        "previous": ["table", "chairs", "ao", "oogo"],
        "routing_meeting": None,
    }
    assert world.show(pid)["proposed_route"] == INFO_ROUTE
    assert notified(world, ev) == {  # not the coordinator: they proposed it
        "route_proposed": {"gerda-timmer", "koen-smit", "saskia-dekker",
                           "thijs-veldhuizen", "gerrit-hoogendoorn"},
    }  # fmt: skip

    world.advance(pid)  # on the chairs' meeting, not started yet: still a proposal
    assert world.show(pid)["route"] == ["table", "chairs", "ao", "oogo"]
    shown = item(world, CHAIRS_1, pid)
    assert shown["proposed_route"] == INFO_ROUTE
    assert shown["proposed_route_labels"] == ["table", "chairs' meeting", "OOGO"]
    again = route(world, pid, INFO_ROUTE)
    assert (again.action, again.meeting_id) == ("route_proposed", CHAIRS_1)
    assert events(world, "route_proposed")[-1].payload["routing_meeting"] == CHAIRS_1
    assert world.audit_count("route_set") == 0


def test_from_the_start_of_the_chairs_meeting_the_route_is_set_on_its_behalf(world: Any) -> None:
    pid = world.submit("information")
    route(world, pid, INFO_ROUTE)
    world.advance(pid)
    world.to_meeting_of(pid)
    r = route(world, pid, INFO_ROUTE)
    assert (r.action, r.meeting_id) == ("route_set", CHAIRS_1)
    p = world.show(pid)
    assert (p["route"], p["proposed_route"]) == (INFO_ROUTE, None)
    (ev,) = events(world, "route_set")
    assert ev.meeting_id == CHAIRS_1
    assert ev.payload == {
        "route": INFO_ROUTE,
        "previous": ["table", "chairs", "ao", "oogo"],
        "meeting": CHAIRS_1,
        "routing_body": "voorzitters",
    }
    assert item(world, CHAIRS_1, pid)["proposed_route"] is None
    assert world.advance(pid).meeting_id == OOGO_1  # skips the AO
    assert problems(world) == set()


def test_the_route_is_still_set_after_the_meeting_until_the_item_moves_on(world: Any) -> None:
    pid = world.submit("information")
    world.advance(pid)
    world.at(datetime(2026, 12, 18, 9, 0))  # the day after the chairs' meeting
    assert route(world, pid, INFO_ROUTE).action == "route_set"
    world.advance(pid)
    with pytest.raises(InvalidMove, match="up to the 'chairs' stage"):
        route(world, pid, ["table", "chairs", "ao", "oogo"])


def test_who_may_propose_or_set_a_route(world: Any) -> None:
    pid = world.submit("information")
    table_chair = world.chair("tafel-model")
    before = world.snapshot(pid)
    for who in (table_chair, world.chair("ao"), world.chair("oogo")):
        with pytest.raises(NotAllowed, match="only the chair of 'voorzitters'"):
            route(world, pid, INFO_ROUTE, actor=who)
    assert world.snapshot(pid) == before
    world.advance(pid)
    world.to_meeting_of(pid)
    with pytest.raises(NotAllowed):
        route(world, pid, INFO_ROUTE, actor=table_chair)
    assert route(world, pid, INFO_ROUTE, actor=world.chair("voorzitters")).action == "route_set"


def test_an_invalid_route_is_refused_also_as_a_proposal(world: Any) -> None:
    pid = world.submit("adoption")
    before = world.snapshot(pid)
    with pytest.raises(UsageError, match="allowed routes: table -> chairs -> ao -> oogo"):
        route(world, pid, INFO_ROUTE)
    assert world.snapshot(pid) == before


def test_a_deferred_item_gets_its_route_from_its_next_chairs_meeting(world: Any) -> None:
    pid = world.submit("information")
    world.advance(pid)
    world.to_meeting_of(pid)
    world.call(moves.defer, proposal_id=pid, reason="geen tijd")
    assert world.show(pid)["meeting"] == "voorzitters-2027-01-14"
    r = route(world, pid, INFO_ROUTE)  # that meeting has not started: a proposal
    assert (r.action, r.meeting_id) == ("route_proposed", "voorzitters-2027-01-14")
    world.to_meeting_of(pid)
    assert route(world, pid, INFO_ROUTE).meeting_id == "voorzitters-2027-01-14"


# -- rule 2: the chairs' meeting sets the OOGO agenda ---------------------------------------


def at_oogo(world: Any, purpose: str = "adoption", **kwargs: Any) -> str:
    """A proposal advanced to the OOGO; the clock stays at its AO meeting."""
    pid = world.submit(purpose, **kwargs)
    while world.show(pid)["state"] != "oogo":
        world.advance(pid)
    assert world.show(pid)["meeting"] == OOGO_1
    return str(pid)


def two_for_oogo(world: Any) -> tuple[str, str]:
    """Two proposals at the same AO meeting; the first advanced to the OOGO, the second
    (``late``) to follow with ``world.advance``."""
    first, late = world.submit("adoption"), world.submit("adoption", title="Late item")
    for _ in range(2):
        world.advance(first)
        world.advance(late)
    world.advance(first)
    assert world.show(first)["meeting"] == OOGO_1
    return first, late


def test_the_top_agenda_is_published_only_after_approval(world: Any) -> None:
    pid = at_oogo(world)
    with pytest.raises(UsageError, match=f"approve it first: regie agenda approve {OOGO_1}"):
        world.call(agenda.publish_agenda, meeting_id=OOGO_1)
    assert world.audit_count("agenda_published") == 0
    assert view(world, OOGO_1)["approval"] is None
    assert item(world, OOGO_1, pid)["awaiting_approval"] is True

    r = world.approve(OOGO_1)
    assert (r.proposals, r.routing_body, r.routing_meeting, r.republished) == (
        [pid],
        "voorzitters",
        CHAIRS_1,  # the latest chairs' meeting that has started
        None,
    )
    (ev,) = events(world, "agenda_approved")
    assert (ev.meeting_id, ev.payload) == (
        OOGO_1,
        {"proposals": [pid], "routing_body": "voorzitters", "routing_meeting": CHAIRS_1},
    )
    shown = view(world, OOGO_1)
    assert shown["approval"]["routing_meeting"]["id"] == CHAIRS_1
    assert shown["approval"]["proposals"] == [pid]
    assert (shown["items"][0]["approved"], shown["items"][0]["awaiting_approval"]) == (True, False)
    published = world.call(agenda.publish_agenda, meeting_id=OOGO_1)
    assert (published.items, published.awaiting) == (1, 0)


def test_an_item_placed_after_the_approval_awaits_a_new_one(world: Any) -> None:
    first, late = two_for_oogo(world)
    world.approve(OOGO_1)
    world.call(agenda.publish_agenda, meeting_id=OOGO_1)
    world.advance(late)
    assert item(world, OOGO_1, late)["awaiting_approval"] is True
    assert item(world, OOGO_1, first)["awaiting_approval"] is False
    again = world.call(agenda.publish_agenda, meeting_id=OOGO_1)
    assert (again.items, again.awaiting, again.republished) == (1, 1, True)
    payload = events(world, "agenda_published")[-1].payload
    assert [i["proposal"] for i in payload["agenda"]] == [first]

    world.to_meeting_of(first)
    for party in ("ede", "swv-vo"):
        world.call(attendance.record_attendance, meeting_id=OOGO_1,
                   person=world.mandated(party, "oogo"), status="present")  # fmt: skip
    with world.db.session() as session:
        ch = begin(session, world.clock, world.coordinator)
        agenda_approval.require_on_approved_agenda(ch, first, OOGO_1)  # approved: no error
        with pytest.raises(UsageError) as exc:
            agenda_approval.require_on_approved_agenda(ch, late, OOGO_1)
    assert str(exc.value) == (
        f"{late} is not on the agenda of {OOGO_1} that the voorzittersoverleg approved; ask it "
        f"to approve again: regie agenda approve {OOGO_1}"
    )
    before = world.snapshot(late)
    with pytest.raises(UsageError, match="regie agenda approve"):
        world.call(decisions.decide, proposal_id=late, outcome="adopted", text="Ja.")
    assert world.snapshot(late) == before


def test_an_approval_that_changes_a_published_agenda_sends_it_again(world: Any) -> None:
    first, late = two_for_oogo(world)
    world.approve(OOGO_1)
    world.call(agenda.publish_agenda, meeting_id=OOGO_1)
    assert world.approve(OOGO_1).republished is None  # nothing changed: nothing sent
    assert world.audit_count("agenda_published") == 1
    world.advance(late)
    r = world.approve(OOGO_1)
    assert r.proposals == [first, late]
    assert r.republished is not None
    assert (r.republished.items, r.republished.sequence, r.republished.republished) == (
        2,
        1,
        True,
    )
    approved, published = events(world, "agenda_approved")[-1], events(world, "agenda_published")
    assert published[-1].id == approved.id + 1  # one transaction
    assert [i["proposal"] for i in published[-1].payload["agenda"]] == [first, late]
    members = set(world.region.body("oogo").members)
    assert notified(world, published[-1]) == {"agenda": members}
    assert world.sql("SELECT sequence FROM meeting WHERE id = ?", (OOGO_1,)) == [(1,)]


def test_an_item_approved_then_returned_and_placed_again_needs_a_new_approval(world: Any) -> None:
    pid = at_oogo(world)
    world.approve(OOGO_1)
    world.call(moves.return_, proposal_id=pid, to="ao", reason="cijfers")
    world.advance(pid)  # from the AO of 4 February: to the next OOGO
    meeting = world.show(pid)["meeting"]
    assert meeting == "oogo-2027-03-11"
    assert item(world, meeting, pid)["awaiting_approval"] is True
    world.approve(meeting)
    assert item(world, meeting, pid)["awaiting_approval"] is False


@pytest.mark.parametrize("who", ["thijs-veldhuizen", "sandra-kooiman"])
def test_approve_is_for_the_routing_bodys_chair_or_the_coordinator(world: Any, who: str) -> None:
    at_oogo(world)
    with pytest.raises(NotAllowed, match="only the chair of 'voorzitters'"):
        world.call(agenda_approval.approve, meeting_id=OOGO_1, actor=who)
    assert world.audit_count("agenda_approved") == 0


def test_approve_refusals(world: Any) -> None:
    pid = at_oogo(world)
    with pytest.raises(UsageError, match="not a meeting of the top body"):
        world.approve("ao-2027-02-04")
    with pytest.raises(UsageError, match="--at ao-2027-01-07 is a meeting of 'ao'"):
        world.call(agenda_approval.approve, meeting_id=OOGO_1, at="ao-2027-01-07")
    with pytest.raises(UsageError, match="has not started yet"):
        world.call(agenda_approval.approve, meeting_id=OOGO_1, at="voorzitters-2027-01-14")
    r = world.call(agenda_approval.approve, meeting_id=OOGO_1, at=CHAIRS_1)
    assert r.routing_meeting == CHAIRS_1
    world.to_meeting_of(pid)
    with pytest.raises(UsageError, match="already started"):
        world.approve(OOGO_1)
    assert world.audit_count("agenda_approved") == 1


def test_before_any_chairs_meeting_the_approval_names_none(world: Any) -> None:
    r = world.approve("oogo-2026-12-16")
    assert (r.proposals, r.routing_meeting) == ([], None)


def test_meetings_of_other_bodies_need_no_approval(world: Any) -> None:
    pid = world.submit("adoption")
    with world.db.session() as session:
        ch = begin(session, world.clock, world.coordinator)
        agenda_approval.require_on_approved_agenda(ch, pid, "tafel-model-2026-12-08")
    assert world.call(agenda.publish_agenda, meeting_id="tafel-model-2026-12-08").items == 1


def test_a_routing_chair_other_than_the_coordinator_acts_for_the_routing_body(
    world: Any,
) -> None:
    """FoodValley's coordinator chairs the voorzittersoverleg; with another chair, that
    chair routes, approves and corrects parties as well (the roles are the region's)."""
    chair = "thijs-veldhuizen"  # a member of the voorzittersoverleg
    with closing(sqlite3.connect(world.path)) as conn, conn:
        conn.execute("UPDATE body SET chair_id = ? WHERE id = 'voorzitters'", (chair,))
    pid = world.submit("information", parties=["ede"])
    assert route(world, pid, INFO_ROUTE, actor=chair).action == "route_proposed"
    world.advance(pid)
    world.to_meeting_of(pid)
    assert route(world, pid, INFO_ROUTE, actor=chair).action == "route_set"
    world.advance(pid)
    r = world.call(agenda_approval.approve, meeting_id=OOGO_1, actor=chair)
    assert r.proposals == [pid]
    corrected = world.call(parties.correct_parties, proposal_id=pid, add=["rhenen"],
                           reason="ook Rhenen", actor=chair)  # fmt: skip
    assert corrected.after == ["ede", "rhenen"]
    assert [ev.actor for ev in events(world, "route_set")] == [chair]


# -- rule 8: concerned parties corrected on the record --------------------------------------


def correct(world: Any, pid: str, **kwargs: Any) -> Any:
    kwargs.setdefault("reason", "Rhenen doet ook mee")
    return world.call(parties.correct_parties, proposal_id=pid, **kwargs)


def test_parties_are_corrected_with_a_reason_in_the_audit_trail(world: Any) -> None:
    pid = world.submit("adoption", parties=["ede", "swv-vo"])
    world.advance(pid)
    r = correct(world, pid, add=["rhenen", "barneveld"], remove=["swv-vo"])
    assert (r.before, r.after, r.added, r.removed) == (
        ["ede", "swv-vo"],
        ["barneveld", "ede", "rhenen"],
        ["barneveld", "rhenen"],
        ["swv-vo"],
    )
    assert world.show(pid)["parties"] == ["barneveld", "ede", "rhenen"]
    (ev,) = events(world, "parties_changed")
    assert (ev.proposal_id, ev.meeting_id) == (pid, CHAIRS_1)
    assert ev.payload == {
        "before": ["ede", "swv-vo"],
        "after": ["barneveld", "ede", "rhenen"],
        "added": ["barneveld", "rhenen"],
        "removed": ["swv-vo"],
        "reason": "Rhenen doet ook mee",
    }
    assert item(world, CHAIRS_1, pid)["parties"] == ["barneveld", "ede", "rhenen"]
    assert problems(world) == set()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"add": [], "remove": []}, "say which parties change"),
        ({"add": ["atlantis"]}, "unknown party 'atlantis'"),
        ({"add": ["ede"]}, "'ede' is already a concerned party"),
        ({"remove": ["rhenen"]}, "'rhenen' is not a concerned party"),
        ({"add": ["rhenen"], "remove": ["rhenen"]}, "both added and removed"),
        ({"remove": ["ede", "swv-vo"]}, "at least one concerned party remains"),
        ({"add": ["rhenen"], "reason": "  "}, "say why the parties change"),
    ],
)
def test_party_corrections_refused(world: Any, kwargs: dict[str, Any], message: str) -> None:
    pid = world.submit("adoption", parties=["ede", "swv-vo"])
    before = world.snapshot(pid)
    parties_before = world.sql("SELECT * FROM proposal_party")
    with pytest.raises(UsageError, match=message):
        correct(world, pid, **kwargs)
    assert world.snapshot(pid) == before
    assert world.sql("SELECT * FROM proposal_party") == parties_before


def test_parties_only_by_the_coordinator_or_the_routing_bodys_chair(world: Any) -> None:
    pid = world.submit("adoption")
    for who in (world.chair("tafel-model"), world.chair("ao"), world.chair("oogo")):
        with pytest.raises(NotAllowed, match="only the chair of 'voorzitters'"):
            correct(world, pid, add=["rhenen"], actor=who)
    assert world.audit_count("parties_changed") == 0
    correct(world, pid, add=["rhenen"], actor=world.chair("voorzitters"))
    assert world.audit_count("parties_changed") == 1


def test_parties_are_not_corrected_while_a_decision_awaits_or_after_closing(world: Any) -> None:
    pid = world.submit("adoption")
    world.to_final(pid)
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Ja.",
               override="per mail")  # fmt: skip
    with pytest.raises(InvalidMove, match="a decision awaits confirmation"):
        correct(world, pid, add=["rhenen"])
    other = world.submit("adoption")
    world.call(moves.withdraw, proposal_id=other, reason="achterhaald")
    with pytest.raises(InvalidMove, match="it is closed"):
        correct(world, other, add=["rhenen"])
    assert world.audit_count("parties_changed") == 0


# -- `regie check` replays the rules --------------------------------------------------------


def append_event(world: Any, **fields: Any) -> None:
    """An event written past the services (as a faulty writer would)."""
    with world.db.session() as session:
        tx = Tx(session)
        audit.append(tx, at=world.clock.now().replace(tzinfo=None), actor=world.coordinator,
                     acting_for="netwerk", **fields)  # fmt: skip
        session.commit()


def test_check_accepts_routes_set_before_this_rule(world: Any) -> None:
    pid = world.submit("information")
    default = ["table", "chairs", "ao", "oogo"]
    append_event(world, action="route_set", proposal_id=pid, meeting_id="tafel-model-2026-12-08",
                 payload={"route": default, "previous": default})  # fmt: skip
    with closing(sqlite3.connect(world.path)) as conn, conn:  # the version the old route_set raised
        conn.execute("UPDATE proposal SET version = version + 1 WHERE id = ?", (pid,))
    assert problems(world) == set()


def test_check_names_a_route_set_before_the_routing_meeting(world: Any) -> None:
    pid = world.submit("information")
    world.advance(pid)
    default = ["table", "chairs", "ao", "oogo"]
    append_event(world, action="route_set", proposal_id=pid, meeting_id=CHAIRS_1,
                 payload={"route": default, "previous": default, "meeting": CHAIRS_1,
                          "routing_body": "voorzitters"})  # fmt: skip
    assert "route_before_routing_meeting" in problems(world)


def test_check_names_a_route_set_at_another_bodys_meeting(world: Any) -> None:
    pid = world.submit("information")
    default = ["table", "chairs", "ao", "oogo"]
    append_event(world, action="route_set", proposal_id=pid, meeting_id="ao-2026-12-10",
                 payload={"route": default, "previous": default, "meeting": "ao-2026-12-10",
                          "routing_body": "voorzitters"})  # fmt: skip
    assert "route_not_by_routing_body" in problems(world)


def test_check_names_a_top_decision_off_the_approved_agenda(world: Any) -> None:
    approved, late = two_for_oogo(world)
    world.approve(OOGO_1)
    world.advance(late)
    world.to_meeting_of(late)
    assert "decision_not_on_approved_agenda" not in problems(world)
    payload = {"outcome": "adopted", "text": "Ja.", "version": 1}
    append_event(world, action="decided", proposal_id=late, meeting_id=OOGO_1, payload=payload)
    found = problems(world)
    assert "decision_not_on_approved_agenda" in found
    with world.db.session(write=False) as session:
        rows = Tx(session).all("SELECT payload FROM audit_event WHERE action = 'agenda_approved'")
    assert json.loads(rows[0][0])["proposals"] == [approved]


def test_check_names_parties_changed_without_their_event(world: Any) -> None:
    pid = world.submit("adoption", parties=["ede", "swv-vo"])
    correct(world, pid, add=["rhenen"])
    assert problems(world) == set()
    with closing(sqlite3.connect(world.path)) as conn, conn:
        conn.execute("DELETE FROM proposal_party WHERE party_id = 'rhenen'")
    assert "parties_mismatch" in problems(world)
