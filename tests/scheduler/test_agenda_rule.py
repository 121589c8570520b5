"""Rule 6 of issue 18, agendas: published with the invite 7 working days before the meeting
at 09:00; an empty agenda is not mailed (the coordinator is asked whether to cancel); the
top meeting's agenda only with what the routing body approved, the coordinator warned in
time. Real SQLite (the ``world`` fixture), the sweep, a fixed clock.

tafel-model meets Tuesday 2026-12-08 09:30: publication Friday 2026-11-27 09:00.
tafel-monitor and the AO meet Thursday 2026-12-10: publication Tuesday 2026-12-01.
The OOGO meets Thursday 2027-01-28 19:30: publication Tuesday 2027-01-19, first warning
two working days earlier, Friday 2027-01-15.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.engine import agenda
from regie.engine.facts import region_facts
from regie.engine.storage import Tx
from regie.notifications.render import render_parts
from regie.scheduler import agenda as rule
from regie.scheduler.rules import all_rules
from regie.scheduler.sweep import sweep

MODEL, MONITOR, AO = "tafel-model-2026-12-08", "tafel-monitor-2026-12-10", "ao-2026-12-10"
OOGO = "oogo-2027-01-28"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def swept(world: Any, when: datetime) -> list[str]:
    world.at(when)
    return [d.item for d in sweep(world.db, world.clock, {"agenda": rule.RULE}).fired]


def rows(world: Any, kind: str, meeting: str) -> list[tuple[str, dict[str, Any]]]:
    found = world.sql(
        "SELECT person_id, context FROM outbox WHERE kind = ? AND meeting_id = ? ORDER BY id",
        (kind, meeting),
    )
    return [(r[0], json.loads(r[1])) for r in found]


def published(world: Any, meeting: str) -> list[dict[str, Any]]:
    found = world.sql(
        "SELECT actor, payload FROM audit_event WHERE action = 'agenda_published' "
        "AND meeting_id = ? ORDER BY id",
        (meeting,),
    )
    return [{"actor": r[0], **json.loads(r[1])} for r in found]


def members(world: Any, body: str) -> set[str]:
    return {r[0] for r in world.sql("SELECT person_id FROM body_member WHERE body_id = ?", (body,))}


def test_the_rule_is_registered_and_its_dates_follow_the_calendar(world: Any) -> None:
    assert all_rules()["agenda"] is rule.RULE
    with world.db.session(write=False) as session:
        cal = region_facts(Tx(session)).calendar

    def when(meeting: datetime) -> tuple[datetime, datetime]:
        t = rule.times(cal, to_utc_naive(meeting), 7, 9)
        return to_local(t.warn_at), to_local(t.publish_at)

    assert when(local(2026, 12, 8, 9, 30)) == (local(2026, 11, 25, 9), local(2026, 11, 27, 9))
    # Christmas, New Year and the region's closed days 28-31 December
    assert when(local(2027, 1, 12, 9, 30)) == (local(2026, 12, 22, 9), local(2026, 12, 24, 9))


def test_the_agenda_goes_out_seven_working_days_before_at_nine_once(world: Any) -> None:
    pid = world.submit()
    assert world.show(pid)["meeting"] == MODEL
    assert swept(world, local(2026, 11, 27, 8, 59)) == []
    assert swept(world, local(2026, 11, 27, 9, 0)) == [f"publish:{MODEL}"]
    assert swept(world, local(2026, 11, 27, 9, 1)) == []
    assert swept(world, local(2026, 11, 30, 9, 0)) == []  # not again on later days
    (event,) = published(world, MODEL)
    assert event["actor"] == "scheduler" and event["sequence"] == 0
    assert [item["proposal"] for item in event["agenda"]] == [pid]
    assert {p for p, _ in rows(world, "agenda", MODEL)} == members(world, "tafel-model")


def test_an_agenda_published_by_hand_is_not_published_again(world: Any) -> None:
    world.submit()
    world.at(local(2026, 11, 26, 16))
    world.call(agenda.publish_agenda, meeting_id=MODEL)
    assert MODEL not in " ".join(swept(world, local(2026, 11, 27, 9)))
    assert len(published(world, MODEL)) == 1


def test_an_empty_agenda_asks_the_coordinator_and_mails_no_member(world: Any) -> None:
    assert swept(world, local(2026, 12, 1, 9)) == [
        f"empty:{MODEL}",
        f"empty:{AO}",
        f"empty:{MONITOR}",
    ]
    assert swept(world, local(2026, 12, 1, 10)) == []  # asked once
    assert published(world, MONITOR) == [] and rows(world, "agenda", MONITOR) == []
    asked = rows(world, "agenda_empty", MONITOR)
    assert [p for p, _ in asked] == [world.coordinator]
    context = asked[0][1]
    subject, text, html = render_parts("agenda_empty", "nl", context)
    assert "Lege agenda" in subject and "tafel" in subject.lower()
    assert "niets verstuurd" in text and "regie init --config" in text
    subject, text, html = render_parts("agenda_empty", "en", context)
    assert "go ahead?" in subject and "regie init --config" in html
    # had the region sent it to members too: no command for them
    member = {**context, "recipient_name": "Esther Mulder"}
    for lang in ("nl", "en"):
        mail = "".join(render_parts("agenda_empty", lang, member))
        assert "regie init" not in mail and "--config" not in mail
    # an item placed on the meeting later: its agenda goes out at the next sweep
    world.at(local(2026, 12, 2, 11))
    pid = world.submit(table="tafel-monitor")
    assert world.show(pid)["meeting"] == MONITOR
    assert swept(world, local(2026, 12, 2, 11, 1)) == [f"publish:{MONITOR}"]
    assert [i["proposal"] for i in published(world, MONITOR)[0]["agenda"]] == [pid]


def to_oogo(world: Any) -> str:
    """A proposal on the OOGO of 28 January (the clock at the AO of 7 January)."""
    pid = world.submit()
    while world.show(pid)["state"] != "oogo":
        world.advance(pid)
    assert world.show(pid)["meeting"] == OOGO
    return pid


def test_an_unapproved_top_agenda_warns_in_time_and_is_not_published(world: Any) -> None:
    pid = to_oogo(world)
    oogo = [i for i in swept(world, local(2027, 1, 15, 8, 59)) if OOGO in i]
    assert oogo == []
    assert swept(world, local(2027, 1, 15, 9)) == [f"warn:{OOGO}"]
    assert swept(world, local(2027, 1, 18, 9)) == []
    (warned,) = rows(world, "agenda_unapproved", OOGO)
    assert warned[0] == world.coordinator
    payload = warned[1]["payload"]
    assert payload["final"] is False and payload["publish_on"] == "2027-01-19"
    subject, text, _ = render_parts("agenda_unapproved", "nl", warned[1])
    assert "nog niet vastgesteld" in subject and "19 januari" in text
    assert "het Voorzittersoverleg" in text or "het voorzittersoverleg" in text.lower()
    assert f"regie agenda approve {OOGO}" in text  # the coordinator's command
    assert swept(world, local(2027, 1, 19, 9)) == [f"unpublished:{OOGO}"]
    assert published(world, OOGO) == [] and rows(world, "agenda", OOGO) == []
    final = rows(world, "agenda_unapproved", OOGO)[-1][1]
    assert final["payload"]["final"] is True
    assert "niet verstuurd" in render_parts("agenda_unapproved", "nl", final)[0]
    assert "not sent" in render_parts("agenda_unapproved", "en", final)[0]
    # approved late: the agenda goes out at the next sweep, with the approved item
    world.at(local(2027, 1, 19, 11))
    world.approve(OOGO)
    assert swept(world, local(2027, 1, 19, 11, 1)) == [f"publish:{OOGO}"]
    assert [i["proposal"] for i in published(world, OOGO)[0]["agenda"]] == [pid]
    assert {p for p, _ in rows(world, "agenda", OOGO)} == members(world, "oogo")


def test_an_approved_top_agenda_goes_out_without_warning(world: Any) -> None:
    approved = to_oogo(world)
    world.approve(OOGO)
    assert [i for i in swept(world, local(2027, 1, 15, 9)) if OOGO in i] == []
    assert swept(world, local(2027, 1, 19, 9)) == [f"publish:{OOGO}"]
    assert rows(world, "agenda_unapproved", OOGO) == []
    assert [i["proposal"] for i in published(world, OOGO)[0]["agenda"]] == [approved]


def test_bodies_no_route_meets_in_get_no_agenda_and_no_question(world: Any) -> None:
    """The LEAs (kind lea) are in no workflow's stages: their meetings are their own."""
    with world.db.session(write=False) as session:
        tx = Tx(session)
        bodies = rule.route_bodies(tx, region_facts(tx))
    assert "oogo" in bodies and "tafel-model" in bodies and "lea-ede" not in bodies
    # 20 May 2027: ao-2027-05-27 is past its publication day (18 May), and so is
    # lea-wageningen-2027-05-31 (20 May, if it were a route body)
    fired = swept(world, local(2027, 5, 20, 10))
    assert "empty:ao-2027-05-27" in fired
    assert [item for item in fired if ":lea-" in item] == []
