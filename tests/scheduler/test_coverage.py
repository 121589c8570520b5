"""Rule 2 of issue 18, mandate coverage: reminders to the representatives of a party
nobody covers yet, 7 and 3 working days before the meeting that decides, and one
escalation to the chair and the coordinator 2 working days before; with a real SQLite
database, the sweep and a fixed clock.

The adoption proposals reach the OOGO of Thursday 2027-01-28 19:30 (the clock is then at
2027-01-07): reminders Tuesday 19 January (a weekend in between) and Monday 25 January
09:00, the escalation Tuesday 26 January 09:00.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import schedtest

from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.engine import attendance
from regie.engine.facts import region_facts
from regie.engine.storage import Tx
from regie.notifications.render import render_parts
from regie.scheduler import coverage as rule
from regie.scheduler.sweep import sweep

MEETING = "oogo-2027-01-28"
CHAIR = "sandra-kooiman"  # chair of the OOGO
EDE = {"ingrid-schouten", "bart-lamers"}  # mandate for Ede in the OOGO (bart: substitute)
SWV_VO = {"hans-wolters", "ellen-post"}  # mandate for SWV VO in the OOGO


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def on_top_meeting(world: Any, *parties: list[str]) -> list[str]:
    """Adoption proposals (one per list of parties) advanced together to the OOGO."""
    pids = [world.submit("adoption", parties=p) for p in parties]
    while waiting := [p for p in pids if world.show(p)["state"] != "oogo"]:
        world.advance(min(waiting, key=lambda p: world.meeting_start(world.show(p)["meeting"])))
    assert {world.show(p)["meeting"] for p in pids} == {MEETING}
    assert world.clock.now() < local(2027, 1, 19)
    return pids


def swept(world: Any, when: datetime) -> list[tuple[str, str | None]]:
    world.at(when)
    return sorted(
        (d.item, d.person) for d in sweep(world.db, world.clock, {rule.NAME: rule.RULE}).fired
    )


def notices(world: Any, kind: str) -> list[tuple[str, dict[str, Any]]]:
    rows = world.sql("SELECT person_id, context FROM outbox WHERE kind = ? ORDER BY id", (kind,))
    return [(r[0], json.loads(r[1])) for r in rows]


def reminded(world: Any) -> set[str]:
    return {person for person, _ in notices(world, "coverage_reminder")}


def due_by(world: Any, when: datetime) -> list[Any]:
    """What the rule lists as due from now up to ``when``."""
    with world.db.session(write=False) as session:
        tx = Tx(session)
        now = to_utc_naive(world.clock.now())
        return list(rule.RULE.due(tx, region_facts(tx), now, to_utc_naive(when)))


def remind(pid: str, party: str) -> str:
    return f"remind:{pid}@{MEETING}/{party}"


def prior_position(world: Any, pid: str, person: str) -> None:
    world.call(attendance.record_prior_position, actor=person, meeting_id=MEETING,
               proposal_id=pid, person=person, stance="agree")  # fmt: skip


def expected(world: Any, person: str) -> None:
    schedtest.expected(world, person, MEETING)


set_scheduler = schedtest.set_scheduler


def test_the_dates_follow_the_calendar_weekends_holidays_and_summer_time(world: Any) -> None:
    with world.db.session(write=False) as session:
        cal = region_facts(Tx(session)).calendar

    def dates(meeting: datetime) -> list[datetime]:
        t = rule.times(cal, to_utc_naive(meeting), 9)
        return [to_local(at) for _n, at in t.reminders] + [to_local(t.escalate_at)]

    # a weekend between the 7th and the 3rd working day before
    assert dates(local(2027, 1, 28, 19, 30)) == [
        local(2027, 1, 19, 9), local(2027, 1, 25, 9), local(2027, 1, 26, 9)
    ]  # fmt: skip
    # Christmas, New Year and the region's closed days 28-31 December
    assert dates(local(2027, 1, 7, 19, 30)) == [
        local(2026, 12, 21, 9), local(2027, 1, 4, 9), local(2027, 1, 5, 9)
    ]  # fmt: skip
    # King's Day, Ascension Day and the closed 7 May; summer time: 09:00 is 07:00 UTC
    got = dates(local(2027, 5, 10, 19, 30))
    assert got == [local(2027, 4, 26, 9), local(2027, 5, 3, 9), local(2027, 5, 4, 9)]
    assert to_utc_naive(got[0]).hour == 7


def test_reminders_go_to_the_representatives_at_nine_seven_working_days_before(
    world: Any,
) -> None:
    (pid,) = on_top_meeting(world, ["ede", "swv-vo"])
    assert swept(world, local(2027, 1, 18, 9)) == []  # 8 working days before
    assert swept(world, local(2027, 1, 19, 8, 59)) == []
    fired = swept(world, local(2027, 1, 19, 9))
    assert fired == sorted(
        [(remind(pid, "ede"), p) for p in EDE] + [(remind(pid, "swv-vo"), p) for p in SWV_VO]
    )
    assert swept(world, local(2027, 1, 19, 9, 1)) == []  # once, across sweeps
    assert reminded(world) == EDE | SWV_VO  # each their own mail
    events = world.sql(
        "SELECT proposal_id, meeting_id, actor, payload FROM audit_event "
        "WHERE action = 'reminder_sent' ORDER BY id"
    )
    assert len(events) == 4 and {e[:3] for e in events} == {(pid, MEETING, "scheduler")}
    payload = json.loads(events[0][3])
    assert payload["rule"] == "coverage" and payload["working_days"] == 7
    assert payload["due"] == "2027-01-19" and len(payload["to"]) == 1
    assert {p: ctx["payload"]["party"] for p, ctx in notices(world, "coverage_reminder")} == {
        **dict.fromkeys(EDE, "ede"), **dict.fromkeys(SWV_VO, "swv-vo")
    }  # fmt: skip


def test_a_party_covered_after_the_first_reminder_gets_no_second(world: Any) -> None:
    (pid,) = on_top_meeting(world, ["ede", "swv-vo"])
    swept(world, local(2027, 1, 19, 9))
    world.at(local(2027, 1, 20, 11))
    pending = due_by(world, local(2027, 1, 26, 9))  # listed before anything changed

    def still_due() -> set[str | None]:
        with world.db.session(write=False) as session:
            return {d.detail.get("party") for d in pending if rule.RULE.still_due(Tx(session), d)}

    assert still_due() == {"ede", "swv-vo", None}  # None: the escalation
    prior_position(world, pid, "ingrid-schouten")  # Ede: a prior position
    assert still_due() == {"swv-vo", None}
    assert swept(world, local(2027, 1, 25, 9)) == [(remind(pid, "swv-vo"), p) for p in
                                                    sorted(SWV_VO)]  # fmt: skip
    expected(world, "ellen-post")  # SWV VO: a mandated representative will come
    assert still_due() == set()  # an escalation listed before is not sent
    assert swept(world, local(2027, 1, 26, 9)) == []
    assert notices(world, "coverage_escalated") == []


def test_after_downtime_only_the_latest_reminder_goes_out(world: Any) -> None:
    (pid,) = on_top_meeting(world, ["ede"])
    fired = swept(world, local(2027, 1, 25, 14))  # the 7- and the 3-day reminder passed
    assert fired == [(remind(pid, "ede"), p) for p in sorted(EDE)]
    payloads = world.sql("SELECT payload FROM audit_event WHERE action = 'reminder_sent'")
    assert {json.loads(p[0])["working_days"] for p in payloads} == {3}


def test_the_escalation_lists_the_uncovered_parties_per_item_once(world: Any) -> None:
    first, second = on_top_meeting(world, ["ede", "swv-vo"], ["ede", "barneveld"])
    world.at(local(2027, 1, 21, 10))
    prior_position(world, first, "ingrid-schouten")  # Ede covered for the first item only
    expected(world, "hans-wolters")  # SWV VO will be there
    fired = swept(world, local(2027, 1, 26, 9))
    assert (f"escalate@{MEETING}", None) in fired
    assert swept(world, local(2027, 1, 26, 12)) == []  # once
    sent = notices(world, "coverage_escalated")
    assert {person for person, _ in sent} == {CHAIR, world.coordinator}
    items = sent[0][1]["payload"]["items"]
    assert [(i["proposal"], i["parties"]) for i in items] == [(second, ["barneveld", "ede"])]
    (ev,) = world.sql("SELECT proposal_id, meeting_id FROM audit_event WHERE action = 'escalated'")
    assert ev == (None, MEETING)  # one escalation for the meeting, not one per item

    for lang, words in (("nl", ("het Regionaal bestuurlijk OOGO", "28 januari 2027",
                                "Wat vragen wij van u", "Barneveld, Ede")),
                        ("en", ("Regionaal bestuurlijk OOGO", "28 January 2027",
                                "What we ask of you", "Barneveld, Ede"))):  # fmt: skip
        subject, text, html = render_parts("coverage_escalated", lang, sent[0][1])
        assert [w for w in words if w not in text] == [], text
        assert second in text and second in html and first not in text
        assert "regie " not in text.replace("regie voor", "").replace("regie for", "")


def test_the_reminder_mail_names_the_meeting_and_the_three_ways(world: Any) -> None:
    (pid,) = on_top_meeting(world, ["ede"])
    swept(world, local(2027, 1, 19, 9))
    ctx = notices(world, "coverage_reminder")[0][1]
    subject, text, html = render_parts("coverage_reminder", "nl", ctx)
    assert pid in subject and "Ede" in subject and "28 januari 2027" in subject
    assert "Regionaal bestuurlijk OOGO" in text and "donderdag 28 januari 2027" in text
    for way in ("Kom zelf", "Stuur een vervanger met mandaat", "Geef vooraf het standpunt"):
        assert way in text and way in html
    assert "regie attend" not in text and "--stance" not in text  # no commands in the mail
    subject, text, html = render_parts("coverage_reminder", "en", ctx)
    assert subject.startswith(pid) and "who speaks for Ede" in subject
    for way in ("Come yourself", "Send a substitute with a mandate", "Give the position"):
        assert way in text and way in html


def test_a_substitute_with_mandate_covers_the_party(world: Any) -> None:
    on_top_meeting(world, ["ede"])
    world.at(local(2027, 1, 8, 10))
    world.call(attendance.record_answer, actor="ingrid-schouten", meeting_id=MEETING,
               person="ingrid-schouten", status="absent", stand_in="bart-lamers")  # fmt: skip
    assert swept(world, local(2027, 1, 26, 9)) == []  # all due by now, none needed
    assert notices(world, "coverage_reminder") == []


def test_no_reminder_where_no_outcome_is_recorded(world: Any) -> None:
    pid = world.submit("adoption", parties=["ede"])
    while world.show(pid)["state"] != "ao":  # the civil servants' meeting: no decision
        world.advance(pid)
    meeting = world.show(pid)["meeting"]
    assert swept(world, world.meeting_start(meeting) - timedelta(minutes=1)) == []
    assert notices(world, "coverage_reminder") == []


def test_a_rule_switched_off_fires_nothing(world: Any) -> None:
    on_top_meeting(world, ["ede"])
    set_scheduler(world, {"off": ["coverage"]})
    assert swept(world, local(2027, 1, 19, 9)) == []
    set_scheduler(world, {"bodies": {"oogo": {"off": ["coverage"]}}})
    assert swept(world, local(2027, 1, 25, 9)) == []
    set_scheduler(world, {"bodies": {"ao": {"off": ["coverage"]}}})  # another body's
    assert len(swept(world, local(2027, 1, 25, 10))) == 2
    assert world.sql("SELECT COUNT(*) FROM outbox WHERE kind LIKE 'coverage%'")[0][0] == 2
