"""The lookup table a compiled workflow fires moves from gives the `transitions`
machine's own answers, for every state, move and target (issue 15 derived it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regie.engine.machine import MOVES, CompiledWorkflow, _lookup_table
from regie.workflows.definition import Workflow, builtin_workflows
from regie.workflows.validate import load_workflow

HEUVELLAND = Path(__file__).resolve().parents[1] / "data" / "region-heuvelland" / "workflows"


def _workflows() -> list[Workflow]:
    found = list(builtin_workflows().values())
    return found + [load_workflow(p) for p in sorted(HEUVELLAND.glob("*.toml"))]


@pytest.mark.parametrize("workflow", _workflows(), ids=lambda wf: f"{wf.purpose}-{wf.digest[:8]}")
def test_table_answers_as_the_machine(workflow: Workflow) -> None:
    cw = CompiledWorkflow(workflow)
    assert cw.table is not None
    compared = moved = 0
    for state in [*cw.states, "no-such-state"]:
        for move in MOVES:
            if move not in cw.machine.events:
                continue
            for target in [None, *cw.states]:
                expected = cw.fire_on_machine(state, move, target)
                assert cw.fire(state, move, target) == expected, (state, move, target)
                compared += 1
                moved += expected is not None
    assert moved > 5 and compared > 100  # the comparison saw real moves, not only refusals


def test_a_machine_with_callbacks_fires_through_the_machine() -> None:
    cw = CompiledWorkflow(builtin_workflows()["adoption"])
    seen: list[str] = []
    cw.machine.before_state_change = [lambda *_a, **_k: seen.append("before")]
    assert _lookup_table(cw.machine) is None
    cw.table = None
    start = cw.workflow.start
    target = cw.workflow.next_stage(list(cw.workflow.default_route), start)
    assert cw.fire(start, "advance", target) == target
    assert seen == ["before"]
