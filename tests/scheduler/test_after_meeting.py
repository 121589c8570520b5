"""Rule 7 of issue 18, after the meeting: an item left open on a meeting that has ended is
deferred to its body's next meeting at 09:00 on the next working day, with the normal
``deferred`` notice; the top meeting's news goes out by itself at the first 09:00 after its
last decision is confirmed, once. Real SQLite (the ``world`` fixture), the sweep, a fixed
clock."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime
from typing import Any

from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.engine import attendance, decisions, moves
from regie.engine.check import check_database
from regie.engine.facts import region_facts
from regie.engine.storage import Tx
from regie.scheduler import after_meeting as rule
from regie.scheduler.rules import all_rules
from regie.scheduler.sweep import sweep

MODEL, NEXT = "tafel-model-2026-12-08", "tafel-model-2027-01-12"
OOGO = "oogo-2027-01-28"
LEADS = {"ingrid-schouten", "koen-smit"}
TABLE_CHAIR = "marloes-kamphuis"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def swept(world: Any, when: datetime) -> list[str]:
    world.at(when)
    return [d.item for d in sweep(world.db, world.clock, {rule.NAME: rule.RULE}).fired]


def write(world: Any, query: str, params: tuple[Any, ...]) -> None:
    with closing(sqlite3.connect(world.path)) as conn, conn:
        conn.execute(query, params)


def events(world: Any, action: str) -> list[tuple[Any, ...]]:
    return world.sql(
        "SELECT proposal_id, meeting_id, actor, payload FROM audit_event WHERE action = ? "
        "ORDER BY id",
        (action,),
    )


def submit(world: Any) -> str:
    return str(
        world.submit(focus_point="sp1", admin_lead="ingrid-schouten", official_lead="koen-smit")
    )


def test_registered_and_the_next_working_day_after_a_weekend_and_christmas(world: Any) -> None:
    assert all_rules()[rule.NAME] is rule.RULE
    with world.db.session(write=False) as session:
        cal = region_facts(Tx(session)).calendar

    def at(*ended: int) -> datetime:
        return to_local(rule.defer_time(cal, to_utc_naive(local(*ended)), 9))

    assert at(2026, 12, 8, 11, 30) == local(2026, 12, 9, 9)  # Tuesday: Wednesday
    assert at(2026, 12, 11, 16) == local(2026, 12, 14, 9)  # Friday: Monday
    assert at(2026, 12, 24, 21) == local(2027, 1, 4, 9)  # Christmas and the closed days
    # the news: the first 09:00 at or after a confirmation
    assert to_local(rule.next_reminder(cal, to_utc_naive(local(2027, 1, 29, 8)), 9)) == local(
        2027, 1, 29, 9
    )
    assert to_local(rule.next_reminder(cal, to_utc_naive(local(2027, 1, 29, 10)), 9)) == local(
        2027, 2, 1, 9
    )


def test_an_open_item_is_deferred_the_next_working_day_over_a_weekend(world: Any) -> None:
    open_item, advanced = submit(world), submit(world)
    assert world.show(open_item)["meeting"] == MODEL
    # the table meets on Friday 11 December instead (a change made in the database)
    starts, ends = to_utc_naive(local(2026, 12, 11, 14)), to_utc_naive(local(2026, 12, 11, 16))
    write(
        world, "UPDATE meeting SET starts_at = ?, ends_at = ? WHERE id = ?", (starts, ends, MODEL)
    )
    world.at(local(2026, 12, 11, 15))
    world.call(moves.advance, proposal_id=advanced)  # dealt with at the meeting
    assert swept(world, local(2026, 12, 11, 15, 59)) == []  # not ended yet
    assert swept(world, local(2026, 12, 12, 9)) == []  # Saturday
    assert swept(world, local(2026, 12, 14, 8, 59)) == []
    assert swept(world, local(2026, 12, 14, 9)) == [f"defer:{open_item}@{MODEL}"]
    assert swept(world, local(2026, 12, 14, 9, 1)) == []
    shown = world.show(open_item)
    assert (shown["meeting"], shown["state"]) == (NEXT, "table")
    assert world.show(advanced)["state"] != "table"
    (ev,) = [e for e in events(world, "deferred") if e[0] == open_item]
    assert ev[:3] == (open_item, NEXT, "scheduler")
    payload = json.loads(ev[3])
    assert payload == {
        "from_meeting": MODEL, "stage": "table", "meeting": NEXT, "late": False,
        "reason": "niet afgehandeld in de vergadering van 11-12-2026",
        "by": "scheduler", "rule": "after_meeting",
    }  # fmt: skip
    sent = world.sql(
        "SELECT person_id FROM outbox WHERE kind = 'deferred' AND proposal_id = ?", (open_item,)
    )
    assert {r[0] for r in sent} == LEADS | {TABLE_CHAIR}
    assert check_database(db=world.db).problems == []


def test_an_item_closed_after_the_meeting_before_nine_is_not_deferred(world: Any) -> None:
    pid = submit(world)
    world.at(local(2026, 12, 9, 8, 30))
    world.call(moves.withdraw, proposal_id=pid, reason="niet meer nodig")
    assert swept(world, local(2026, 12, 9, 9)) == []
    assert events(world, "deferred") == []


def decide_at_oogo(world: Any, count: int) -> list[str]:
    pids = [world.submit("adoption") for _ in range(count)]
    meeting = world.to_final_together(*pids)
    assert meeting == OOGO
    for party in world.show(pids[0])["parties"]:
        person = world.mandated(party, world.body_id("oogo"))
        world.call(attendance.record_attendance, meeting_id=meeting, person=person,
                   status="present")  # fmt: skip
    for pid in pids:
        world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Vastgesteld.")
    return pids


def confirm(world: Any, pid: str, when: datetime) -> None:
    world.at(when)
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)


def test_the_news_goes_out_once_after_the_last_confirmation(world: Any) -> None:
    first, second = decide_at_oogo(world, 2)
    confirm(world, first, local(2027, 1, 29, 10))
    assert swept(world, local(2027, 2, 1, 9)) == []  # one decision still unconfirmed
    confirm(world, second, local(2027, 2, 1, 10))
    assert swept(world, local(2027, 2, 1, 10, 1)) == []  # at the next 09:00
    assert swept(world, local(2027, 2, 2, 8, 59)) == []
    assert swept(world, local(2027, 2, 2, 9)) == [f"news:{OOGO}"]
    assert swept(world, local(2027, 2, 2, 9, 1)) == []
    assert swept(world, local(2027, 2, 3, 9)) == []
    (ev,) = events(world, "oogo_news")
    assert ev[1:3] == (OOGO, "scheduler")
    payload = json.loads(ev[3])
    assert sorted(d["proposal"] for d in payload["decisions"]) == sorted([first, second])
    assert payload["addendum"] is False
    leas = {
        r[0]
        for r in world.sql(
            "SELECT bm.person_id FROM body_member bm JOIN body b ON b.id = bm.body_id "
            "WHERE b.kind = 'lea'"
        )
    }
    sent = {r[0] for r in world.sql("SELECT person_id FROM outbox WHERE kind = 'oogo_news'")}
    assert sent == leas


def test_news_sent_by_hand_is_not_sent_again(world: Any) -> None:
    from regie.engine import agenda

    (pid,) = decide_at_oogo(world, 1)
    confirm(world, pid, local(2027, 1, 29, 10))
    world.call(agenda.oogo_news, meeting_id=OOGO)
    assert swept(world, local(2027, 2, 1, 9)) == []
    assert len(events(world, "oogo_news")) == 1


def test_a_decision_confirmed_after_hand_sent_news_goes_out_as_addendum_once(world: Any) -> None:
    """News sent by hand carried the first decision; the second, confirmed later, goes out
    as an addendum with only itself (the meeting has news already: the rule looks for a
    confirmation since it)."""
    from regie.engine import agenda

    first, second = decide_at_oogo(world, 2)
    confirm(world, first, local(2027, 1, 29, 10))
    world.call(agenda.oogo_news, meeting_id=OOGO)
    assert swept(world, local(2027, 2, 1, 9)) == []  # the second still unconfirmed
    confirm(world, second, local(2027, 2, 3, 10))
    assert swept(world, local(2027, 2, 4, 9)) == [f"news:{OOGO}"]
    assert swept(world, local(2027, 2, 5, 9)) == []
    hand, addendum = (json.loads(ev[3]) for ev in events(world, "oogo_news"))
    assert [d["proposal"] for d in hand["decisions"]] == [first]
    assert [d["proposal"] for d in addendum["decisions"]] == [second]
    assert addendum["addendum"] is True


def test_a_retraction_after_hand_sent_news_sends_nothing(world: Any) -> None:
    """The unconfirmed decision is retracted after the news carried the confirmed one:
    every standing decision is confirmed and sent, so no news is due."""
    from regie.engine import agenda

    first, second = decide_at_oogo(world, 2)
    confirm(world, first, local(2027, 1, 29, 10))
    world.call(agenda.oogo_news, meeting_id=OOGO)
    world.at(local(2027, 2, 1, 10))
    world.call(decisions.retract, proposal_id=second, actor=world.chair("oogo"),
               reason="de aanwezigheid klopte niet")  # fmt: skip
    fired = swept(world, local(2027, 2, 2, 9)) + swept(world, local(2027, 2, 9, 9))
    assert fired == [f"defer:{second}@{OOGO}"]  # back at its stage: deferred, no news
    assert len(events(world, "oogo_news")) == 1


def test_the_rule_reads_through_its_indexes(world: Any) -> None:
    """The partial index on open proposals and the meeting/confirmation index are the ones
    SQLite picks for the rule's queries (the scheduler's benchmark depends on them), and
    the migration's literals are the engine's."""
    from regie.engine.machine import OPEN_STATE_SQL
    with closing(sqlite3.connect(world.path)) as conn:
        left_open = " ".join(
            str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + rule._LEFT_OPEN, ("a", "b"))
        )
        confirmed = " ".join(
            str(r[-1])
            for r in conn.execute("EXPLAIN QUERY PLAN " + rule._CONFIRMED_SINCE, ("m", "t"))
        )
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_proposal_open'"
        ).fetchone()
    assert "ix_proposal_open" in left_open
    assert "ix_decision_meeting_confirmed" in confirmed
    assert sql.endswith(OPEN_STATE_SQL)
