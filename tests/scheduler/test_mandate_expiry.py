"""Issue 18, rule 4 (mandate expiry), on a real SQLite file with a fixed clock.

A proposal of tafel-model for ede and swv-vo is deferred to the meeting of Tuesday
12 January 2027. Yvonne Hendriks holds the swv-vo mandate in tafel-model; we let it end on
Friday 8 January 2027, so that meeting comes after it. 20 working days before 8 January,
with Christmas, New Year and the region's closed days 28-31 December skipped, is
Thursday 3 December 2026: the notice goes out then at 09:00.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import date, datetime
from typing import Any

from regie.clock import AMSTERDAM, to_local
from regie.engine import moves
from regie.engine.calendar import working_days_before
from regie.engine.check import check_database
from regie.engine.facts import region_facts
from regie.engine.storage import Tx
from regie.notifications.render import render_parts
from regie.scheduler import mandate_expiry as rule
from regie.scheduler.rules import all_rules
from regie.scheduler.sweep import due_items, sweep

PERSON, PARTY, BODY = "yvonne-hendriks", "swv-vo", "tafel-model"
MEETING = "tafel-model-2027-01-12"
ENDS = date(2027, 1, 8)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def write(world: Any, query: str, params: tuple[Any, ...] = ()) -> None:
    with closing(sqlite3.connect(world.path)) as conn, conn:
        conn.execute(query, params)


def ends_on(world: Any, person: str, party: str, body: str, day: date) -> None:
    write(world, "UPDATE mandate SET valid_until = ? WHERE person_id = ? AND party_id = ? "
          "AND body_id = ?", (day.isoformat(), person, party, body))  # fmt: skip


def on_the_january_meeting(world: Any) -> str:
    pid = world.submit("adoption", title="Dashboard jeugd")
    world.call(moves.defer, proposal_id=pid, reason="later")
    assert world.show(pid)["meeting"] == MEETING
    ends_on(world, PERSON, PARTY, BODY, ENDS)
    return pid


def swept(world: Any, when: datetime) -> list[tuple[str | None, datetime]]:
    world.at(when)
    fired = sweep(world.db, world.clock, {rule.NAME: rule.RULE}).fired
    return [(d.person, to_local(d.due_at)) for d in fired]


def test_the_rule_is_registered_and_its_day_follows_the_calendar(world: Any) -> None:
    assert rule.NAME in all_rules()
    with world.db.session(write=False) as session:
        cal = region_facts(Tx(session)).calendar
    assert working_days_before(cal, ENDS, rule.WORKING_DAYS) == date(2026, 12, 3)


def test_one_notice_at_nine_twenty_working_days_before_to_person_and_coordinator(
    world: Any,
) -> None:
    pid = on_the_january_meeting(world)
    assert swept(world, local(2026, 12, 3, 8, 59)) == []
    assert swept(world, local(2026, 12, 3, 9, 0)) == [(PERSON, local(2026, 12, 3, 9))]
    assert swept(world, local(2026, 12, 4, 9, 0)) == []  # once
    rows = world.sql("SELECT person_id, meeting_id, context FROM outbox "
                     "WHERE kind = 'mandate_expiring' ORDER BY person_id")  # fmt: skip
    assert {r[0] for r in rows} == {PERSON, world.coordinator}
    assert {r[1] for r in rows} == {MEETING}
    context = json.loads(rows[0][2])
    payload = context["payload"]
    assert payload["valid_until"] == "2027-01-08" and payload["party"] == PARTY
    assert [m["id"] for m in payload["meetings"]] == [MEETING]
    assert payload["meetings"][0]["items"] == [{"proposal": pid, "title": "Dashboard jeugd"}]
    subject, text, html = render_parts("mandate_expiring", "nl", context)
    assert "8 januari 2027" in subject and "loopt af" in subject
    assert pid in text and "Dashboard jeugd" in html and "init" not in text
    subject, text, _html = render_parts("mandate_expiring", "en", context)
    assert "ends on" in subject and "have the mandate renewed" in text
    # the person is asked to reply or contact the coordinator; the coordinator's own copy
    # says what to do instead (not "contact the coordinator")
    own = {"recipient_id": PERSON, "recipient_name": "x"}
    _s, to_person, _h = render_parts("mandate_expiring", "en", {**context, **own})
    coordinator = {"recipient_id": world.coordinator, "recipient_name": "y"}
    _s, to_coordinator, html = render_parts("mandate_expiring", "nl", {**context, **coordinator})
    assert "Reply to this mail or contact" in to_person
    assert "neem contact op met" not in to_coordinator and "om verlenging" in to_coordinator
    assert "regioconfiguratie" in html
    assert check_database(db=world.db).problems == []


def test_after_downtime_the_notice_fires_once_late(world: Any) -> None:
    on_the_january_meeting(world)
    assert swept(world, local(2026, 12, 7, 15)) == [(PERSON, local(2026, 12, 3, 9))]
    assert swept(world, local(2026, 12, 8, 9)) == []


def test_no_notice_without_a_meeting_for_that_party_after_the_end(world: Any) -> None:
    on_the_january_meeting(world)
    # the mandate of ede's representative in ao ends too, but no ao meeting has items
    ends_on(world, "thijs-veldhuizen", "ede", "ao", ENDS)
    # and one that ends after the January meeting: nothing comes after it
    ends_on(world, PERSON, PARTY, BODY, date(2027, 1, 13))
    assert swept(world, local(2026, 12, 20, 12)) == []
    assert world.sql("SELECT COUNT(*) FROM outbox WHERE kind = 'mandate_expiring'") == [(0,)]


def test_a_renewed_mandate_gets_no_notice_also_when_renewed_after_it_was_listed(
    world: Any,
) -> None:
    on_the_january_meeting(world)
    now = datetime(2026, 12, 2, 12)
    listed = [d for _r, d in due_items(world.db, now, datetime(2026, 12, 4), unfired=True)
              if d.rule == rule.NAME]  # fmt: skip
    assert [d.item for d in listed] == [f"{PERSON}/{PARTY}/{BODY}/2027-01-08"]
    write(world, "INSERT INTO mandate (person_id, party_id, body_id, valid_from, valid_until) "
          "VALUES (?, ?, ?, ?, ?)", (PERSON, PARTY, BODY, "2027-01-09", "2028-12-31"))  # fmt: skip
    assert swept(world, local(2026, 12, 3, 9)) == []
    world.at(local(2026, 12, 3, 9, 5))
    with world.db.transaction() as session:  # the sweep asks the rule in its transaction
        assert rule.RULE.still_due(Tx(session), listed[0]) is False


def test_a_withdrawn_item_leaves_nothing_to_tell(world: Any) -> None:
    pid = on_the_january_meeting(world)
    world.call(moves.withdraw, proposal_id=pid, reason="not needed")
    assert swept(world, local(2026, 12, 3, 9)) == []
