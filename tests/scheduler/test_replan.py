"""A moved meeting re-plans the rules that depend on it: the reminder already sent for the
old date is not repeated for it, nothing fires at the old date's times, and the new date's
reminder and deferral follow the new deadline. With a real SQLite database, the config
edited and ``init`` run again (what a coordinator does), and a fixed clock."""

from __future__ import annotations

import datetime as dt
import json
from datetime import datetime
from typing import Any

from regie.clock import AMSTERDAM
from regie.engine.setup import init_database
from regie.region import Region
from regie.scheduler import documents as rule
from regie.scheduler.sweep import sweep
from regie.workflows.definition import builtin_workflows

MEETING = "tafel-model-2026-12-08"  # Tuesday; document deadline Thursday 3 December


def fired(world: Any, *when: int) -> list[tuple[str, str]]:
    world.at(datetime(*when, tzinfo=AMSTERDAM))  # type: ignore[misc]
    return [(d.detail["action"], d.detail["deadline"])
            for d in sweep(world.db, world.clock, {"documents": rule.RULE}).fired]  # fmt: skip


def move(world: Any, region: Region, meeting: str, day: dt.date) -> Region:
    """Edit the config: the meeting keeps its id and moves to ``day``; init again."""
    edited = region.model_copy(deep=True)
    for body in edited.bodies:
        for spec in body.meetings:
            if spec.meeting_id(body.id) == meeting:
                spec.id, spec.date = meeting, day
    report = init_database(
        db=world.db, clock=world.clock, region=edited, workflows=builtin_workflows()
    )
    assert report.meetings_changed == 1
    return edited


def test_a_moved_meeting_replans_the_reminder_and_the_deferral(world: Any, region: Region) -> None:
    pid = world.submit(focus_point="sp1", admin_lead="ingrid-schouten", official_lead="koen-smit")
    assert world.show(pid)["meeting"] == MEETING
    assert fired(world, 2026, 11, 30, 9, 0) == [("reminder", "2026-12-03")]
    world.at(datetime(2026, 12, 1, 10, tzinfo=AMSTERDAM))
    move(world, region, MEETING, dt.date(2026, 12, 15))  # deadline now Thursday 10 December
    assert fired(world, 2026, 12, 1, 10, 5) == []  # the old reminder is not repeated
    assert fired(world, 2026, 12, 4, 9, 30) == []  # the old date's deferral is gone
    assert world.show(pid)["meeting"] == MEETING
    assert fired(world, 2026, 12, 7, 9, 0) == [("reminder", "2026-12-10")]
    assert fired(world, 2026, 12, 7, 15, 0) == []  # once for the new due date
    assert fired(world, 2026, 12, 11, 9, 0) == [("defer", "2026-12-10")]
    assert world.show(pid)["meeting"] != MEETING
    reminders = world.sql(
        "SELECT payload FROM audit_event WHERE action = 'reminder_sent' ORDER BY id"
    )
    assert [json.loads(p)["deadline"] for (p,) in reminders] == ["2026-12-03", "2026-12-10"]


def test_a_meeting_moved_earlier_fires_what_became_due_once(world: Any, region: Region) -> None:
    pid = world.submit(focus_point="sp1", admin_lead="ingrid-schouten", official_lead="koen-smit")
    world.at(datetime(2026, 11, 24, 10, tzinfo=AMSTERDAM))
    # to Friday 4 December: deadline Tuesday 1 December, reminder due Thursday 26 November
    move(world, region, MEETING, dt.date(2026, 12, 4))
    assert fired(world, 2026, 11, 26, 8, 59) == []
    assert fired(world, 2026, 11, 26, 9, 0) == [("reminder", "2026-12-01")]
    assert fired(world, 2026, 11, 30, 9, 0) == []  # the old date's reminder time: nothing
    assert fired(world, 2026, 12, 2, 9, 0) == [("defer", "2026-12-01")]
    assert world.show(pid)["meeting"] != MEETING
