"""Publishing agendas (with calendar invites), meeting updates from `regie init`, and the
news from the OOGO — on a real FoodValley database, rendered with the real templates."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, time
from email.message import EmailMessage
from typing import Any

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from regie.cli import cli
from regie.clock import AMSTERDAM
from regie.engine import agenda, audit, decisions
from regie.engine.setup import init_database
from regie.engine.storage import Tx
from regie.errors import NotAllowed, UsageError
from regie.notifications.recipients import notices_for_event
from regie.notifications.render import render_notice
from regie.notifications.types import Notice, OutboxRow
from regie.region import Region
from regie.workflows.definition import builtin_workflows

AO_MEETING = "ao-2026-12-10"


def notices(world: Any, action: str) -> list[Notice]:
    with world.db.session() as session:
        events = [ev for _r, ev in audit.iter_events(session) if ev.action == action]
        assert events, f"no {action} event"
        return notices_for_event(Tx(session), events[-1])


def mail(notice: Notice) -> EmailMessage:
    row = OutboxRow(
        id=1,
        event_id=1,
        kind=notice.kind,
        person_id=notice.person_id,
        email=notice.email,
        language=notice.language,
        proposal_id=notice.proposal_id,
        meeting_id=notice.meeting_id,
        context=notice.context,
        message_id="<regie-outbox-1@foodvalley.example.org>",
        status="sending",
        attempts=0,
        created_at=datetime(2026, 11, 23, 9),
    )
    raw = render_notice(None, row, sender_address="regie@foodvalley.example.org").as_bytes()  # type: ignore[arg-type]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def invite(msg: EmailMessage) -> Calendar:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_payload(decode=True))


def vevent(cal: Calendar) -> Any:
    return cal.walk("VEVENT")[0]


def reinit(world: Any, region: Region) -> Any:
    return init_database(
        db=world.db, clock=world.clock, region=region, workflows=builtin_workflows()
    )


def ao_spec(region: Region) -> Any:
    return next(s for s in region.body("ao").meetings if s.meeting_id("ao") == AO_MEETING)


# -- publish -------------------------------------------------------------------------------


def test_publish_sends_agenda_and_invite_to_every_member(world: Any) -> None:
    pid = world.submit(title="Dashboard jeugd", documents=["https://d.example.org/x.pdf"])
    meeting = world.show(pid)["meeting"]
    result = world.call(agenda.publish_agenda, meeting_id=meeting)
    assert (result.items, result.sequence, result.republished) == (1, 0, False)
    found = notices(world, "agenda_published")
    assert {n.person_id for n in found} == set(world.region.body("tafel-model").members)
    liam = mail(next(n for n in found if n.person_id == "liam-brennan"))
    assert (
        liam["Subject"] == "Invitation and agenda: Tafel Model passende samenwerking, "
        "Tuesday 8 December 2026, 09:30"
    )
    body = liam.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert pid in body and "Dashboard jeugd" in body and "for adoption" in body
    assert "Gemeente Ede" not in body and "Ede, SWV VO" in body
    assert "https://d.example.org/x.pdf" in body
    nl = mail(next(n for n in found if n.language == "nl"))
    assert "dinsdag 8 december 2026, van 9.30 tot " in nl.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    cal = invite(nl)
    assert str(cal["METHOD"]) == "REQUEST"
    ev = vevent(cal)
    assert str(ev["UID"]) == f"meeting-{meeting}@foodvalley.regie"
    assert int(ev["SEQUENCE"]) == 0
    assert ev["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert ev.decoded("DTSTART") == datetime(2026, 12, 8, 9, 30, tzinfo=AMSTERDAM)
    assert str(ev["LOCATION"]) == "Online (Teams)"


def test_publishing_again_raises_the_sequence(world: Any) -> None:
    world.call(agenda.publish_agenda, meeting_id=AO_MEETING, actor=world.chair("ao"))
    again = world.call(agenda.publish_agenda, meeting_id=AO_MEETING)
    assert (again.sequence, again.republished, again.items) == (1, True, 0)
    ev = vevent(invite(mail(notices(world, "agenda_published")[0])))
    assert int(ev["SEQUENCE"]) == 1


def test_publish_is_refused_for_others_and_past_meetings(world: Any) -> None:
    with pytest.raises(NotAllowed):
        world.call(agenda.publish_agenda, meeting_id=AO_MEETING, actor="liam-brennan")
    world.at(datetime(2026, 12, 10, 15, 0))
    with pytest.raises(UsageError, match="already started"):
        world.call(agenda.publish_agenda, meeting_id=AO_MEETING)
    assert world.audit_count("agenda_published") == 0


# -- meeting changes through `regie init` ---------------------------------------------------


def test_moved_and_cancelled_meeting_update_the_same_calendar_entry(world: Any) -> None:
    world.call(agenda.publish_agenda, meeting_id=AO_MEETING)
    first = vevent(invite(mail(notices(world, "agenda_published")[0])))

    region = world.region.model_copy(deep=True)
    spec = ao_spec(region)
    spec.time = time(15, 0)
    spec.location = "Gemeentehuis Barneveld"
    report = reinit(world, region)
    assert report.meetings_changed == 1
    found = notices(world, "meeting_changed")
    assert {n.person_id for n in found} == set(world.region.body("ao").members)
    msg = mail(found[0])
    moved = vevent(invite(msg))
    assert str(invite(msg)["METHOD"]) == "REQUEST"
    assert str(moved["UID"]) == str(first["UID"])
    assert int(moved["SEQUENCE"]) > int(first["SEQUENCE"])
    assert moved.decoded("DTSTART") == datetime(2026, 12, 10, 15, 0, tzinfo=AMSTERDAM)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "donderdag 10 december 2026, van 15.00 tot " in text  # now
    assert "Gemeentehuis Barneveld" in text

    region.body("ao").meetings.remove(spec)
    report = reinit(world, region)
    assert report.meetings_cancelled == 1
    msg = mail(notices(world, "meeting_cancelled")[0])
    cal = invite(msg)
    assert str(cal["METHOD"]) == "CANCEL"
    cancelled = vevent(cal)
    assert str(cancelled["UID"]) == str(first["UID"])
    assert int(cancelled["SEQUENCE"]) > int(moved["SEQUENCE"])
    assert str(cancelled["STATUS"]) == "CANCELLED"


def test_unpublished_meetings_change_quietly(world: Any) -> None:
    region = world.region.model_copy(deep=True)
    ao_spec(region).time = time(15, 0)
    assert reinit(world, region).meetings_changed == 1
    assert world.audit_count("meeting_changed") == 0


def test_init_stores_mail_and_notification_settings(world: Any) -> None:
    region = world.region.model_copy(deep=True)
    region.mail.host = "smtp.example.org"
    region.mail.port = 587
    region.notifications.submitted = ["leads"]
    reinit(world, region)
    rows = dict(world.sql("SELECT key, value FROM region_setting"))
    assert '"host": "smtp.example.org"' in rows["mail"] and "password" not in rows["mail"]
    assert '"submitted": ["leads"]' in rows["notifications"]


# -- news from the OOGO ---------------------------------------------------------------------


def _decided_at_oogo(world: Any) -> tuple[str, str]:
    pid = world.submit(title="Regionaal beleidskader OZA")
    meeting = world.to_final(pid)
    world.call(
        decisions.decide,
        proposal_id=pid,
        outcome="adopted",
        text="Vastgesteld.",
        override="agreed by e-mail",
    )
    return pid, meeting


def test_news_from_the_oogo_goes_to_every_lea(world: Any) -> None:
    pid, meeting = _decided_at_oogo(world)
    with pytest.raises(UsageError, match="not a meeting of the top body"):
        world.call(agenda.oogo_news, meeting_id=AO_MEETING)
    with pytest.raises(UsageError, match="awaits the chair's confirmation"):
        world.call(agenda.oogo_news, meeting_id=meeting)  # news carries confirmed decisions
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    result = world.call(agenda.oogo_news, meeting_id=meeting)
    assert (result.decisions, result.bodies) == (1, 8)
    found = notices(world, "oogo_news")
    leas = {b.name for b in world.region.bodies_of_kind("lea")}
    assert {n.context["news_body"] for n in found} == leas
    msg = mail(next(n for n in found if n.person_id == "ingrid-schouten"))
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert msg["Subject"].startswith("Nieuws uit het OOGO van ")
    assert "LEA Ede" in text and pid in text and "vastgesteld" in text
    assert "Vastgelegd zonder gemandateerde stem voor Ede, SWV VO; reden: agreed by e-mail" in text
    with pytest.raises(UsageError, match="every confirmed decision of it was in earlier news"):
        world.call(agenda.oogo_news, meeting_id=meeting)


def test_news_needs_a_held_meeting_with_decisions(world: Any) -> None:
    with pytest.raises(UsageError, match="not taken place"):
        world.call(agenda.oogo_news, meeting_id="oogo-2026-12-16")
    world.at(datetime(2026, 12, 17, 9, 0))
    with pytest.raises(UsageError, match="no decisions"):
        world.call(agenda.oogo_news, meeting_id="oogo-2026-12-16")


# -- CLI ------------------------------------------------------------------------------------


def _cli(world: Any, *args: str, now: str = "2026-11-23T10:00") -> Any:
    env = {
        "REGIE_DB": None,
        "REGIE_USER": "coordinator",
        "REGIE_NOW": now,
        "REGIE_DEBUG": None,
        "REGIE_LANG": None,
    }
    return CliRunner().invoke(cli, ["--db", str(world.path), *args], env=env)


def test_cli_publish_and_news(world: Any) -> None:
    world.db.dispose()
    res = _cli(world, "--lang", "en", "publish", AO_MEETING)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(
        "Agenda of Ambtelijk overleg jeugd en onderwijs on Thursday 10 December 2026, 09:30 "
        f"({AO_MEETING}) published to the members, no items; "
    )
    res = _cli(world, "publish", AO_MEETING)  # the region's language: Dutch
    assert res.exit_code == 0, res.output
    assert f"({AO_MEETING}) opnieuw gepubliceerd voor de leden" in res.stdout
    res = _cli(world, "publish", AO_MEETING, "--as", "liam-brennan")
    assert res.exit_code == 1 and "may not publish" in res.output
    res = _cli(world, "news", "oogo-2026-12-16")
    assert res.exit_code == 2 and "has not taken place yet" in res.output
