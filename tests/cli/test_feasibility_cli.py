"""`regie submit --follow-up` and `regie feasibility`: the command states feasibility for a
concerned party; bad input gives one clear line, an exit code other than 0 and no change."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from regie.cli import cli


def regie(world: Any, *args: str, user: str | None = None) -> Any:
    env = {"REGIE_DB": None, "REGIE_USER": user, "REGIE_LANG": "en",
           "REGIE_NOW": world.clock.now().isoformat()}  # fmt: skip
    return CliRunner().invoke(cli, ["--db", str(world.path), *args], env=env)


@pytest.fixture
def pid(world: Any) -> str:
    result = regie(world, "submit", "--title", "Dashboard", "--purpose", "adoption",
                   "--table", "tafel-model", "--party", "ede", "--party", "swv-vo",
                   "--follow-up", user=world.coordinator)  # fmt: skip
    assert result.exit_code == 0, result.output
    (row,) = world.sql("SELECT id, follow_up FROM proposal")
    assert row[1] == 1
    return str(row[0])


def test_a_representative_states_feasibility(world: Any, pid: str) -> None:
    result = regie(world, "feasibility", pid, "--feasible", "--text", "Fine.",
                   user="thijs-veldhuizen")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{pid}: ede finds the follow-up feasible"
    assert world.sql("SELECT party_id, person_id, feasible, text FROM feasibility") == [
        ("ede", "thijs-veldhuizen", 1, "Fine.")
    ]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--feasible",), "--party"),  # the coordinator says for which party
        (("--party", "ede"), "--feasible or --not-feasible"),
        (("--party", "ede", "--not-feasible"), "--text"),
        (("--party", "barneveld", "--feasible"), "not a concerned party"),
        (("--party", "nope", "--feasible"), "not a concerned party"),
    ],
)
def test_bad_input_one_message_no_change(
    world: Any, pid: str, args: tuple[str, ...], words: str
) -> None:
    before = world.snapshot(pid)
    result = regie(world, "feasibility", pid, *args, user=world.coordinator)
    assert result.exit_code != 0
    assert words in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 2, result.output  # usage + error at most
    assert world.snapshot(pid) == before


def test_unknown_proposal_and_other_party(world: Any, pid: str) -> None:
    result = regie(world, "feasibility", "P-2026-999", "--party", "ede", "--feasible",
                   user=world.coordinator)  # fmt: skip
    assert result.exit_code != 0 and "P-2026-999" in result.output
    result = regie(world, "feasibility", pid, "--party", "ede", "--feasible",
                   user="yvonne-hendriks")  # fmt: skip
    assert result.exit_code != 0 and "may not state feasibility" in result.output
    assert world.sql("SELECT COUNT(*) FROM feasibility") == [(0,)]
