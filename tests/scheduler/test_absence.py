"""Rule 3 of issue 18, absence: a representative who announced absence while their party
is not covered gets a reminder the next working day and 2 working days before the
meeting; with a real SQLite database, the sweep and a fixed clock.

The adoption proposal reaches the OOGO of Thursday 2027-01-28 19:30 (parties Ede and SWV
VO; Ingrid Schouten and Bart Lamers have a mandate for Ede there, Bart is also its
registered substitute). The second reminder is due Tuesday 26 January 09:00.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import schedtest

from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.engine import attendance
from regie.engine.facts import region_facts
from regie.engine.storage import Tx
from regie.notifications.render import render_parts
from regie.scheduler import absence as rule
from regie.scheduler.sweep import sweep

MEETING = "oogo-2027-01-28"
ABSENT = "ingrid-schouten"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def on_top_meeting(world: Any, parties: list[str]) -> list[str]:
    """An adoption proposal advanced to the OOGO of 28 January."""
    pid = world.submit("adoption", parties=parties)
    while world.show(pid)["state"] != "oogo":
        world.advance(pid)
    assert world.show(pid)["meeting"] == MEETING
    return [pid]


def expected(world: Any, person: str) -> None:
    schedtest.expected(world, person, MEETING)


set_scheduler = schedtest.set_scheduler


def swept(world: Any, when: datetime) -> list[tuple[str, str | None, datetime]]:
    world.at(when)
    fired = sweep(world.db, world.clock, {rule.NAME: rule.RULE}).fired
    return [(d.item, d.person, to_local(d.due_at)) for d in fired]


def announce_absent(world: Any, when: datetime, person: str = ABSENT, **kw: Any) -> None:
    world.at(when)
    world.call(attendance.record_answer, actor=person, meeting_id=MEETING, person=person,
               status="absent", **kw)  # fmt: skip


def sent(world: Any) -> list[tuple[str, dict[str, Any]]]:
    rows = world.sql(
        "SELECT person_id, context FROM outbox WHERE kind = 'absence_reminder' ORDER BY id"
    )
    return [(r[0], json.loads(r[1])) for r in rows]


def test_the_dates_skip_weekends_and_christmas(world: Any) -> None:
    with world.db.session(write=False) as session:
        cal = region_facts(Tx(session)).calendar

    def dates(announced: datetime, meeting: datetime) -> list[tuple[str, datetime]]:
        found = rule.times(cal, to_utc_naive(announced), to_utc_naive(meeting), 9)
        return [(which, to_local(at)) for which, at in found]

    # announced on Christmas Eve: the next working day is after the closed days, 4 January
    assert dates(local(2026, 12, 24, 15), local(2027, 1, 28, 19, 30)) == [
        ("first", local(2027, 1, 4, 9)), ("before", local(2027, 1, 26, 9))
    ]  # fmt: skip
    # announced the Wednesday before a Monday meeting: the first would come too late
    assert dates(local(2027, 1, 20, 15), local(2027, 1, 25, 19, 30)) == [
        ("before", local(2027, 1, 21, 9))
    ]  # fmt: skip
    # announced after the time of the second reminder: one, the next working day
    assert dates(local(2027, 1, 26, 10), local(2027, 1, 28, 19, 30)) == [
        ("first", local(2027, 1, 27, 9))
    ]  # fmt: skip
    # announced on the last working day before a 09:00 meeting: none (it has started)
    assert dates(local(2027, 1, 22, 10), local(2027, 1, 25, 9)) == []


def test_reminders_on_the_next_working_day_and_two_working_days_before(world: Any) -> None:
    (pid,) = on_top_meeting(world, ["ede", "swv-vo"])
    world.at(local(2027, 1, 8, 9))
    expected(world, "hans-wolters")  # SWV VO is covered
    announce_absent(world, local(2027, 1, 8, 15))  # a Friday
    announce_absent(world, local(2027, 1, 8, 15, 5), "gerrit-hoogendoorn")  # Barneveld: no item
    assert swept(world, local(2027, 1, 9, 9)) == []  # Saturday
    assert swept(world, local(2027, 1, 11, 8, 59)) == []
    item = f"absent@{MEETING}"
    assert swept(world, local(2027, 1, 11, 9)) == [(item, ABSENT, local(2027, 1, 11, 9))]
    assert swept(world, local(2027, 1, 11, 9, 1)) == []  # once
    assert swept(world, local(2027, 1, 26, 9)) == [(item, ABSENT, local(2027, 1, 26, 9))]
    assert [person for person, _ in sent(world)] == [ABSENT, ABSENT]
    payload = sent(world)[0][1]["payload"]
    assert payload["rule"] == "absence" and payload["to"] == [ABSENT]
    assert payload["party"] == "ede" and payload["announced_on"] == "2027-01-08"
    assert [i["proposal"] for i in payload["items"]] == [pid]
    (ev,) = world.sql("SELECT proposal_id, meeting_id, actor FROM audit_event "
                      "WHERE action = 'reminder_sent' AND payload LIKE '%2027-01-11%'")  # fmt: skip
    assert ev == (None, MEETING, "scheduler")


def test_covered_after_the_first_reminder_means_no_second(world: Any) -> None:
    on_top_meeting(world, ["ede"])
    announce_absent(world, local(2027, 1, 8, 15))
    assert len(swept(world, local(2027, 1, 11, 9))) == 1
    world.at(local(2027, 1, 12, 10))
    expected(world, "bart-lamers")  # another representative with a mandate will come
    assert swept(world, local(2027, 1, 26, 9)) == []
    assert len(sent(world)) == 1


def test_an_absence_with_a_substitute_or_a_prior_position_gets_nothing(world: Any) -> None:
    (pid,) = on_top_meeting(world, ["ede"])
    announce_absent(world, local(2027, 1, 8, 15), stand_in="bart-lamers")
    assert swept(world, local(2027, 1, 11, 9)) == []
    announce_absent(world, local(2027, 1, 12, 15), positions=[(pid, "disagree", "te duur")])
    assert swept(world, local(2027, 1, 26, 9)) == []  # the stand-in is withdrawn, a position
    assert sent(world) == []


def test_the_mail_names_the_meeting_and_what_to_do(world: Any) -> None:
    (pid,) = on_top_meeting(world, ["ede"])
    announce_absent(world, local(2027, 1, 8, 15))
    swept(world, local(2027, 1, 11, 9))
    ctx = sent(world)[0][1]
    subject, text, html = render_parts("absence_reminder", "nl", ctx)
    assert "namens Ede?" in subject and "28 januari 2027" in subject
    assert "het Regionaal bestuurlijk OOGO" in text and pid in text and pid in html
    for way in ("Stuur een vervanger met mandaat", "Geef vooraf het standpunt",
                "Vraag een collega met mandaat"):  # fmt: skip
        assert way in text and way in html
    assert "regie attend" not in text and "--absent" not in text
    subject, text, html = render_parts("absence_reminder", "en", ctx)
    assert subject.startswith("You are absent") and "28 January 2027" in subject
    assert "Send a substitute with a mandate" in text and "Give the position" in html


def test_the_rule_switched_off_fires_nothing(world: Any) -> None:
    on_top_meeting(world, ["ede"])
    announce_absent(world, local(2027, 1, 8, 15))
    set_scheduler(world, {"off": ["absence"]})
    assert swept(world, local(2027, 1, 11, 9)) == []
    set_scheduler(world, {"bodies": {"oogo": {"off": ["absence"]}}})
    assert swept(world, local(2027, 1, 26, 9)) == []
    assert sent(world) == []
