"""Issue 18, rule 8 (feasibility): a proposal with a follow-up; its concerned parties state
before the meeting of the stage before the final one (ao in the built-in adoption route)
whether it is feasible; reminders 7 and 3 working days before that meeting. Real SQLite,
fixed clock. The proposal reaches ao-2027-01-07 (Thursday); 7 working days before is
Monday 21 December 2026 (Christmas and the closed 28-31 December skipped), 3 working days
before is Monday 4 January 2027."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from regie.clock import AMSTERDAM, to_local
from regie.engine import feasibility
from regie.engine.check import check_database
from regie.errors import NotAllowed, UsageError
from regie.notifications.render import render_parts
from regie.scheduler import feasibility as rule
from regie.scheduler.rules import all_rules
from regie.scheduler.sweep import sweep

AO_MEETING = "ao-2027-01-07"
EDE = {"thijs-veldhuizen", "fleur-de-gooijer"}  # mandated for ede in ao
SWV_VO = {"yvonne-hendriks", "daan-meijer"}  # mandated for swv-vo in ao


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def at_ao(world: Any) -> str:
    pid = world.submit("adoption", follow_up=True)
    world.advance(pid)
    world.advance(pid)
    assert (world.show(pid)["state"], world.show(pid)["meeting"]) == ("ao", AO_MEETING)
    return pid


def state(world: Any, pid: str, **kwargs: Any) -> Any:
    return world.call(feasibility.state_feasibility, proposal_id=pid, **kwargs)


def swept(world: Any, when: datetime) -> list[tuple[str, datetime]]:
    world.at(when)
    fired = sweep(world.db, world.clock, {rule.NAME: rule.RULE}).fired
    return sorted((d.detail["party"], to_local(d.due_at)) for d in fired)


def reminded(world: Any) -> list[tuple[str, str]]:
    rows = world.sql("SELECT person_id, context FROM outbox WHERE kind = 'feasibility_reminder' "
                     "ORDER BY id")  # fmt: skip
    return [(r[0], json.loads(r[1])["payload"]["party"]) for r in rows]


def test_registered_and_the_stage_comes_from_the_workflow() -> None:
    from regie.workflows.definition import builtin_workflows

    assert rule.NAME in all_rules()
    adoption = builtin_workflows()["adoption"]
    assert feasibility.feasibility_stage(adoption, ["table", "chairs", "ao", "oogo"]) == "ao"
    assert feasibility.feasibility_stage(adoption, ["table", "chairs", "oogo"]) == "chairs"
    assert feasibility.feasibility_stage(adoption, ["oogo"]) is None


def test_reminders_seven_and_three_working_days_before_and_a_stated_party_gets_none(
    world: Any,
) -> None:
    pid = at_ao(world)
    assert swept(world, local(2026, 12, 21, 8, 59)) == []
    assert swept(world, local(2026, 12, 21, 9)) == [("ede", local(2026, 12, 21, 9)),
                                                    ("swv-vo", local(2026, 12, 21, 9))]  # fmt: skip
    assert swept(world, local(2026, 12, 22, 9)) == []
    assert {p for p, party in reminded(world) if party == "ede"} == EDE
    assert {p for p, party in reminded(world) if party == "swv-vo"} == SWV_VO
    world.at(local(2026, 12, 22, 10))
    s = state(world, pid, actor="thijs-veldhuizen", feasible=True, text="Past in ons plan.")
    assert (s.party, s.feasible) == ("ede", True)
    assert world.sql("SELECT COUNT(*) FROM outbox WHERE kind = 'feasibility_concern'") == [(0,)]
    assert swept(world, local(2027, 1, 4, 9)) == [("swv-vo", local(2027, 1, 4, 9))]
    query = "SELECT person_id, context FROM outbox WHERE kind = ? ORDER BY id DESC"
    (_p, context), *_ = world.sql(query, ("feasibility_reminder",))
    ctx = json.loads(context)
    subject, text, _html = render_parts("feasibility_reminder", "nl", ctx)
    assert pid in subject and "SWV VO" in subject and "vóór de vergadering van het" in text
    assert "Ambtelijk overleg" in text and "regie feasibility" not in text
    subject, text, _html = render_parts("feasibility_reminder", "en", ctx)
    assert "feasible" in subject and "before this meeting" in text
    assert check_database(db=world.db).problems == []


def test_down_past_both_times_only_the_later_reminder_fires(world: Any) -> None:
    at_ao(world)
    assert [d for _p, d in swept(world, local(2027, 1, 5, 12))] == [local(2027, 1, 4, 9)] * 2


def test_not_feasible_tells_the_chair_of_the_stage(world: Any) -> None:
    pid = at_ao(world)
    world.at(local(2026, 12, 18, 10))
    state(world, pid, party="swv-vo", feasible=False, text="Alleen vanaf 2028 haalbaar.")
    ((person, context),) = world.sql(
        "SELECT person_id, context FROM outbox WHERE kind = 'feasibility_concern'"
    )
    assert person == world.chair("ao")
    subject, text, _html = render_parts("feasibility_concern", "nl", json.loads(context))
    assert "niet haalbaar" in subject and "Alleen vanaf 2028 haalbaar." in text
    assert world.sql("SELECT party_id, person_id, feasible FROM feasibility") == [
        ("swv-vo", world.coordinator, 0)
    ]
    (ev,) = world.sql("SELECT acting_for, payload FROM audit_event "
                      "WHERE action = 'feasibility_stated'")  # fmt: skip
    assert ev[0] == "swv-vo" and json.loads(ev[1])["feasible"] is False
    assert swept(world, local(2026, 12, 21, 9)) == [("ede", local(2026, 12, 21, 9))]


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"party": "barneveld", "feasible": True}, UsageError, "not a concerned party"),
        ({"party": "ede", "feasible": False}, UsageError, "--text"),
        ({"actor": "yvonne-hendriks", "party": "ede", "feasible": True}, NotAllowed, "ede"),
        ({"feasible": True}, UsageError, "--party"),  # the coordinator names the party
    ],
)
def test_wrong_input_is_refused_and_changes_nothing(
    world: Any, kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    pid = at_ao(world)
    before = world.snapshot(pid)
    with pytest.raises(error, match=words):
        state(world, pid, **kwargs)
    assert world.snapshot(pid) == before
    assert world.sql("SELECT COUNT(*) FROM feasibility") == [(0,)]


def test_without_follow_up_or_past_the_stage_there_is_nothing_to_state(world: Any) -> None:
    pid = at_ao(world)
    plain = world.submit("adoption")
    with pytest.raises(UsageError, match="no follow-up"):
        state(world, plain, party="ede", feasible=True)
    with pytest.raises(UsageError, match="follow-up"):
        world.submit("advice", follow_up=True)
    world.advance(pid)  # to the top meeting: past the civil servants' meeting
    with pytest.raises(UsageError, match="past the meeting"):
        state(world, pid, party="ede", feasible=True)
    assert swept(world, local(2027, 1, 8, 9)) == []  # nothing was stated, nothing is due
    assert world.sql("SELECT COUNT(*) FROM feasibility") == [(0,)]
