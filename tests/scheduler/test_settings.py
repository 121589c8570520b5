"""The ``[scheduler]`` table: the reminder hour, rules switched off for the region or for
one body, and the config errors a coordinator gets for a wrong table; with a real SQLite
database that ``regie init`` runs on again with the changed config."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from regie.clock import AMSTERDAM, to_local
from regie.engine.setup import init_database
from regie.errors import ConfigError
from regie.region import parse_region
from regie.region_scheduler import SCHEDULER_RULES
from regie.scheduler.rules import all_rules
from regie.scheduler.sweep import due_items, sweep
from regie.workflows.definition import builtin_workflows

CONFIG = Path(__file__).resolve().parents[2] / "config" / "foodvalley.toml"
TABLE = "tafel-model"  # its meeting of 8 December 2026 has a document deadline on 3 December


def reinit(world: Any, table: str) -> None:
    """Run init again with ``table`` (TOML) appended to the FoodValley config."""
    region = parse_region(CONFIG.read_text(encoding="utf-8") + "\n" + table, "region.toml")
    init_database(db=world.db, clock=world.clock, region=region, workflows=builtin_workflows())


def documents_due(world: Any, until: datetime) -> list[tuple[str, datetime]]:
    world.at(until)
    now = world.clock.now()
    found = due_items(world.db, now.replace(tzinfo=None), now.replace(tzinfo=None))
    return [(d.item, to_local(d.due_at).replace(tzinfo=None)) for r, d in found
            if r.name == "documents"]  # fmt: skip


@pytest.fixture
def submitted(world: Any) -> str:
    pid = world.submit(focus_point="sp1", admin_lead="ingrid-schouten", official_lead="koen-smit")
    assert world.show(pid)["meeting"].startswith(TABLE)
    return pid


def test_every_rule_name_is_a_registered_rule() -> None:
    assert set(SCHEDULER_RULES) == set(all_rules())


def test_the_reminder_hour_moves_the_reminders(world: Any, submitted: str) -> None:
    # default: Monday 30 November 09:00, three working days before the deadline
    until = datetime(2026, 11, 30, 9, 30, tzinfo=AMSTERDAM)
    assert [at for _i, at in documents_due(world, until)] == [datetime(2026, 11, 30, 9)]
    reinit(world, "[scheduler]\nreminder_hour = 8\n")
    assert [at for _i, at in documents_due(world, until)] == [datetime(2026, 11, 30, 8)]


def test_a_rule_switched_off_for_the_region_fires_nothing(world: Any, submitted: str) -> None:
    reinit(world, '[scheduler]\noff = ["documents"]\n')
    world.at(datetime(2026, 12, 4, 10, tzinfo=AMSTERDAM))  # reminder and deferral both due
    assert [d for d in sweep(world.db, world.clock).fired if d.rule == "documents"] == []
    assert world.show(submitted)["meeting"].startswith(TABLE + "-2026-12-08")
    reinit(world, "")  # on again: what is due now fires
    assert [d.item.split(":")[0] for d in sweep(world.db, world.clock).fired
            if d.rule == "documents"] == ["defer"]  # fmt: skip


def test_a_rule_switched_off_for_one_body_only(world: Any, submitted: str) -> None:
    until = datetime(2026, 11, 30, 9, 30, tzinfo=AMSTERDAM)
    reinit(world, f'[scheduler.bodies.{TABLE}]\noff = ["documents"]\n')
    assert documents_due(world, until) == []
    reinit(world, '[scheduler.bodies.ao]\noff = ["documents"]\n')  # another body: no effect
    assert len(documents_due(world, until)) == 1


@pytest.mark.parametrize(
    ("table", "key", "fragments"),
    [
        ('[scheduler]\noff = ["documentz"]\n', "scheduler.off", ("'documentz'", "coverage")),
        ("[scheduler]\nreminder_hour = 3\n", "scheduler.reminder_hour", ("6 to 20",)),
        ("[scheduler]\nagenda_working_days = 0\n", "scheduler.agenda_working_days", ("1 to",)),
        ("[scheduler.bodies.nope]\noff = []\n", "scheduler.bodies.nope", ("nope", "[[bodies]]")),
        ("[scheduler]\nhour = 9\n", "scheduler.hour", ("hour",)),
    ],
)
def test_a_wrong_scheduler_table_is_one_clear_message(
    table: str, key: str, fragments: tuple[str, ...]
) -> None:
    text = CONFIG.read_text(encoding="utf-8") + "\n" + table
    with pytest.raises(ConfigError) as info:
        parse_region(text, "region.toml")
    problems = [(at, why) for _file, at, why in info.value.problems]
    assert [at for at, _why in problems] == [key], problems
    for fragment in fragments:
        assert fragment in problems[0][1]
    assert "pydantic" not in str(info.value)
