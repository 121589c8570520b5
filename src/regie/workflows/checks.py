"""The meaning checks of a workflow definition: names, directions, the route graph, end
stages and outcomes. Each check yields ``(key path, problem)`` pairs; :func:`meaning_problems`
runs them in rounds (a round only when the checks it relies on found nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from regie.workflows.definition import Workflow

Problem = tuple[str, str]  # (key path, problem)
MIN_STAGES, MAX_STAGES = 2, 6

_FORWARD = "an advance must go to a later stage in [[stages]] order; returns go back"
_BACK = "a return must go to an earlier stage in [[stages]] order; advances go forward"


def _check_stages(wf: Workflow) -> Iterator[Problem]:
    if not wf.stages:
        yield "stages", "there are no stages; add [[stages]] tables, the first is the start"
    elif not MIN_STAGES <= len(wf.stages) <= MAX_STAGES:
        yield (
            "stages",
            f"{len(wf.stages)} stages; a workflow has {MIN_STAGES} to {MAX_STAGES} stages "
            "(the first is where proposals start, one of them takes the decision)",
        )
    seen: dict[str, int] = {}
    for i, stage in enumerate(wf.stages):
        if stage.id in seen:
            again = f"also by stages[{seen[stage.id]}]; give every stage its own id"
            yield f"stages[{i}].id", f"stage id '{stage.id}' is used twice ({again})"
        seen[stage.id] = i


def _moves(wf: Workflow) -> dict[str, list[tuple[str, ...]]]:
    singles: dict[str, list[tuple[str, ...]]] = {"defer": [(n,) for n in wf.defer]}
    singles["withdraw"] = [(n,) for n in wf.withdraw]
    return {"advance": list(wf.advance), "returns": list(wf.returns), **singles}


def _check_names(wf: Workflow) -> Iterator[Problem]:
    known = [stage.id for stage in wf.stages]
    hint = f"use one of the stage ids: {', '.join(known)}"
    for key in ("final", "route_setter"):
        if getattr(wf, key) not in known:
            yield key, f"unknown stage '{getattr(wf, key)}'; {hint}"
    for i, name in enumerate(wf.ends):
        if name not in known:
            yield f"ends[{i}]", f"unknown stage '{name}'; {hint}"
    for i, outcome in enumerate(wf.outcomes):
        for k, name in enumerate(outcome.at):
            if name not in wf.end_stages:
                ends = ", ".join(wf.end_stages)
                yield (
                    f"outcomes[{i}].at[{k}]",
                    (
                        f"'{name}' is not an end stage; an outcome is recorded where a route ends: "
                        f"use some of {ends} (or add the stage to ends)"
                    ),
                )
    for kind, items in _moves(wf).items():
        for i, item in enumerate(items):
            for name in (n for n in item if n not in known):
                yield f"moves.{kind}[{i}]", f"unknown stage '{name}'; {hint}"


def _check_repeats(wf: Workflow) -> Iterator[Problem]:
    for kind, items in _moves(wf).items():
        for i, item in enumerate(items):
            if item in items[:i]:
                shown = f"'{item[0]}'" if len(item) == 1 else f'["{item[0]}", "{item[1]}"]'
                yield f"moves.{kind}[{i}]", f"{shown} is listed twice; remove one"


def _check_directions(wf: Workflow) -> Iterator[Problem]:
    order = {stage.id: i for i, stage in enumerate(wf.stages)}
    for i, (here, there) in enumerate(wf.advance):
        if here == wf.final:
            why = "(it records the outcome) and cannot advance; remove this edge"
            yield f"moves.advance[{i}]", f"'{here}' is the final stage {why}"
        if order[there] <= order[here]:
            why = f"advance from '{here}' to '{there}' does not go forward"
            yield f"moves.advance[{i}]", f"{why}: {_FORWARD}"
    for i, (here, there) in enumerate(wf.returns):
        if order[there] >= order[here]:
            why = f"return from '{here}' to '{there}' does not go back"
            yield f"moves.returns[{i}]", f"{why}: {_BACK}"


def _check_graph(wf: Workflow) -> Iterator[Problem]:
    reached = {wf.start}
    for here, there in wf.advance:  # edges only go forward, so one pass in order suffices
        if here in reached:
            reached.add(there)
    leaving = {here for here, _ in wf.advance}
    for stage in wf.stages:
        if stage.id not in reached:
            how = "over moves.advance; add an advance edge into it or remove the stage"
            where = f"cannot be reached from the start '{wf.start}'"
            yield f"stages.{stage.id}", f"stage '{stage.id}' {where} {how}"
    for stage in wf.stages:
        if stage.id not in wf.end_stages and stage.id not in leaving:
            how = "add an advance edge from it, or list it in ends (a route may end there)"
            yield f"stages.{stage.id}", f"stage '{stage.id}' has no way out: {how}"


def _check_outcomes(wf: Workflow) -> Iterator[Problem]:
    if not wf.outcomes:
        how = "add at least one [[outcomes]] table"
        yield "outcomes", f"no outcomes: the final step at '{wf.final}' must record one; {how}"
    seen: set[str] = set()
    for i, outcome in enumerate(wf.outcomes):
        if outcome.id in seen:
            yield f"outcomes[{i}].id", f"outcome id '{outcome.id}' is used twice; rename one"
        seen.add(outcome.id)
    if wf.ends and wf.final not in wf.ends:
        yield "ends", f"the final stage '{wf.final}' must be one of the ends; add it to ends"
    known = {stage.id for stage in wf.stages}
    for end in wf.end_stages:
        if end in known and wf.outcomes and not wf.outcomes_at(end):
            yield (
                "outcomes",
                (
                    f"no outcome can be recorded at the end stage '{end}'; add it to the 'at' of "
                    "an outcome, or leave 'at' out (every end stage)"
                ),
            )


def _check_default_route(wf: Workflow) -> Iterator[Problem]:
    problem = wf.route_problem(wf.default_route)
    if problem is not None:
        how = f"list stage ids from '{wf.start}' to '{wf.final}' along moves.advance edges"
        yield "default_route", f"not a valid route ({problem}); {how}"


def meaning_problems(wf: Workflow) -> list[Problem]:
    """Every problem of the workflow's meaning, in rounds: a round runs only when the
    checks it relies on found nothing (directions need known stage names, the graph
    check needs edges that go forward)."""
    problems = [
        *_check_stages(wf),
        *(names := list(_check_names(wf))),
        *_check_repeats(wf),
        *_check_outcomes(wf),
    ]
    if problems and (names or not wf.stages):
        return problems
    directions = list(_check_directions(wf))
    problems += directions + list(_check_default_route(wf))
    if not directions:
        problems += _check_graph(wf)
    return problems
