"""Who gets what: notices_for_event on a real FoodValley database, per event kind."""

from __future__ import annotations

import json
from typing import Any

from regie.engine import agenda, audit, decisions, moves
from regie.engine.audit import Event
from regie.engine.storage import Tx
from regie.notifications.config import EVENT_KINDS, NOTICE_KINDS, default_rules
from regie.notifications.recipients import notices_for_event
from regie.notifications.types import Notice

LEADS = {"gerrit-hoogendoorn", "koen-smit"}  # koen-smit is also on the table and chairs


def members(world: Any, body_id: str) -> set[str]:
    return set(world.region.body(body_id).members)


def last_event(world: Any, action: str) -> Event:
    with world.db.session(write=False) as session:
        found = [ev for _row, ev in audit.iter_events(session) if ev.action == action]
    assert found, f"no {action} event"
    return found[-1]


def notices(world: Any, action: str) -> list[Notice]:
    event = last_event(world, action)
    with world.db.session() as session:
        return notices_for_event(Tx(session), event)


def by_kind(found: list[Notice]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for n in found:
        out.setdefault(n.kind, set()).add(n.person_id)
    return out


def submit(world: Any) -> str:
    return str(
        world.submit(
            title="Dashboard jeugd",
            admin_lead="gerrit-hoogendoorn",
            official_lead="koen-smit",
            documents=["https://d.example.org/x"],
        )
    )


def to_oogo_decided(world: Any) -> str:
    pid = submit(world)
    world.to_final(pid)
    world.call(
        decisions.decide,
        proposal_id=pid,
        outcome="adopted",
        text="Vastgesteld.",
        override="agreed by e-mail",
    )
    return pid


def test_every_event_kind_maps_to_known_notice_kinds() -> None:
    for kinds in EVENT_KINDS.values():
        assert set(kinds) <= set(NOTICE_KINDS)
    assert set(default_rules()) == set(NOTICE_KINDS)


def test_submitted_goes_to_table_and_chairs_and_the_leads(world: Any) -> None:
    pid = submit(world)
    found = notices(world, "submitted")
    kinds = by_kind(found)
    # The leads get their own notice (documents due), the submitter (the coordinator, on
    # the chairs' meeting) a receipt; the table and the chairs' meeting the submission.
    table_and_chairs = members(world, "tafel-model") | members(world, "voorzitters")
    assert kinds["submitted"] == table_and_chairs - LEADS - {world.coordinator}
    assert kinds["placed_lead"] == LEADS
    assert kinds["submitted_receipt"] == {world.coordinator}
    assert "placed" not in kinds
    ids = [n.person_id for n in found]
    assert len(ids) == len(set(ids)), "one notice per person per event"
    koen = next(n for n in found if n.person_id == "koen-smit")
    assert koen.kind == "placed_lead" and koen.proposal_id == pid
    assert koen.meeting_id == "tafel-model-2026-12-08"
    liam = next(n for n in found if n.person_id == "liam-brennan")
    assert liam.language == "en" and liam.email == "liam.brennan@fat.example.org"
    ctx = koen.context
    assert ctx["title"] == "Dashboard jeugd" and ctx["proposal_id"] == pid
    assert ctx["starts_at"] == "2026-12-08T09:30:00+01:00"
    assert ctx["table_name"] == "Tafel Model passende samenwerking"
    assert ctx["actor_name"] == "Mirjam Verhoef" and ctx["recipient_name"] == "Koen Smit"
    assert ctx["documents"] == ["https://d.example.org/x"]
    json.dumps(ctx)  # JSON-able


def test_route_set_goes_to_the_leads_and_the_table_chair(world: Any) -> None:
    pid = submit(world)
    world.advance(pid)
    world.to_meeting_of(pid)  # the chairs' meeting sets the route
    world.call(moves.set_route, proposal_id=pid, route=["table", "chairs", "ao", "oogo"])
    kinds = by_kind(notices(world, "route_set"))
    assert kinds == {"route_set": LEADS | {"marloes-kamphuis"}}


def test_advanced_goes_to_the_new_body_and_the_leads(world: Any) -> None:
    pid = submit(world)
    world.advance(pid)
    found = notices(world, "advanced")
    assert by_kind(found) == {  # not the coordinator, who advanced it
        "placed_lead": LEADS,
        "placed": members(world, "voorzitters") - LEADS - {world.coordinator},
    }
    assert {n.meeting_id for n in found} == {world.show(pid)["meeting"]}
    assert found[0].context["body_name"] == "Regionaal voorzittersoverleg"


def test_returned_goes_to_leads_and_table_chair_and_the_table(world: Any) -> None:
    pid = submit(world)
    world.advance(pid)
    world.to_meeting_of(pid)
    world.call(moves.return_, proposal_id=pid, to="table", reason="more figures")
    kinds = by_kind(notices(world, "returned"))
    assert kinds["returned"] == LEADS | {"marloes-kamphuis"}
    assert kinds["placed"] == members(world, "tafel-model") - kinds["returned"]


def test_deferred_and_withdrawn(world: Any) -> None:
    pid = submit(world)
    world.to_meeting_of(pid)
    world.call(moves.defer, proposal_id=pid, reason="no time")
    kinds = by_kind(notices(world, "deferred"))
    assert kinds["deferred"] == LEADS | {"marloes-kamphuis"}
    assert kinds["placed"] == members(world, "tafel-model") - kinds["deferred"]
    world.call(moves.withdraw, proposal_id=pid, reason="not needed")
    found = notices(world, "withdrawn")
    submission = world.sql("SELECT person_id FROM outbox o JOIN audit_event e ON "
                           "e.id = o.event_id WHERE e.action = 'submitted'")  # fmt: skip
    reached = {p for (p,) in submission} - {world.coordinator}  # who withdrew it
    assert by_kind(found) == {"withdrawn": LEADS | {"marloes-kamphuis"} | reached}
    assert found[0].context["payload"]["reason"] == "not needed"


def test_decided_goes_to_the_chair_of_the_deciding_body(world: Any) -> None:
    to_oogo_decided(world)
    found = notices(world, "decided")
    assert by_kind(found) == {"decision_recorded": {world.chair("oogo")}}
    assert found[0].context["payload"]["outcome"] == "adopted"


def test_confirmed_goes_to_body_representatives_and_leads(world: Any) -> None:
    pid = to_oogo_decided(world)
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    kinds = by_kind(notices(world, "confirmed"))
    representatives = {"ingrid-schouten", "bart-lamers", "hans-wolters", "ellen-post"}
    everyone = members(world, "oogo") | representatives | LEADS
    assert kinds == {"decision_final": everyone - {world.chair("oogo")}}  # who confirmed


def test_amended_by_the_chair_reaches_the_coordinator(world: Any) -> None:
    pid = to_oogo_decided(world)
    world.call(
        decisions.confirm,
        proposal_id=pid,
        actor=world.chair("oogo"),
        amend_text="Vastgesteld, met aanpassing.",
    )
    # Only the chair amends, and gets no notice of their own action; the coordinator,
    # who keeps the records, learns that the decision text changed.
    found = notices(world, "amended")
    assert by_kind(found) == {"decision_amended": {world.region.coordinator}}
    assert found[0].context["payload"]["text"] == "Vastgesteld, met aanpassing."


def test_agenda_published_goes_to_every_member(world: Any) -> None:
    pid = submit(world)
    world.call(agenda.publish_agenda, meeting_id="tafel-model-2026-12-08")
    found = notices(world, "agenda_published")
    assert by_kind(found) == {"agenda": members(world, "tafel-model")}
    ctx = found[0].context
    assert [item["proposal"] for item in ctx["payload"]["agenda"]] == [pid]
    assert ctx["payload"]["agenda"][0]["parties"] == ["Ede", "SWV VO"]  # short names
    assert found[0].proposal_id is None and found[0].meeting_id == "tafel-model-2026-12-08"


def test_oogo_news_goes_to_every_lea_member_once(world: Any) -> None:
    pid = to_oogo_decided(world)
    meeting = world.show(pid)["meeting"]
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    world.call(agenda.oogo_news, meeting_id=meeting)
    found = notices(world, "oogo_news")
    lea_members = set().union(*(set(b.members) for b in world.region.bodies_of_kind("lea")))
    assert by_kind(found) == {"oogo_news": lea_members}
    koen = next(n for n in found if n.person_id == "koen-smit")
    assert koen.context["news_body"] == "LEA Ede"
    assert "lea" not in koen.context
    assert koen.context["payload"]["decisions"][0]["proposal"] == pid


def test_events_without_notices_cost_nothing(world: Any) -> None:
    event = last_event(world, "config_loaded")
    with world.db.session() as session:
        tx = Tx(session)
        statements: list[str] = []
        driver = session.connection().connection.driver_connection
        driver.set_trace_callback(statements.append)
        assert notices_for_event(tx, event) == []
        driver.set_trace_callback(None)
    assert statements == []


def test_hot_path_uses_few_queries(world: Any) -> None:
    submit(world)
    event = last_event(world, "submitted")
    with world.db.session() as session:
        tx = Tx(session)
        statements: list[str] = []
        driver = session.connection().connection.driver_connection
        driver.set_trace_callback(statements.append)
        assert notices_for_event(tx, event)
        driver.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 5, selects


def test_region_can_change_who_gets_what(world: Any) -> None:
    rules = {**default_rules(), "submitted": [], "submitted_receipt": [], "placed_lead": []}
    rules["placed"] = ["table_chair"]
    with world.db.session() as session:
        Tx(session).execute(
            "UPDATE region_setting SET value = ? WHERE key = 'notifications'", (json.dumps(rules),)
        )
        session.commit()
    submit(world)
    assert by_kind(notices(world, "submitted")) == {"placed": {"marloes-kamphuis"}}


def test_inactive_people_get_nothing(world: Any) -> None:
    submit(world)
    with world.db.session() as session:
        Tx(session).execute("UPDATE person SET active = ? WHERE id = ?", (False, "liam-brennan"))
        session.commit()
    assert "liam-brennan" not in {n.person_id for n in notices(world, "submitted")}
