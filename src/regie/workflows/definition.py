"""Workflows at run time: the frozen :class:`Workflow`, :class:`Stage` and :class:`Outcome`.

A workflow says through which stages (bodies) a proposal of one purpose travels, which
moves are allowed between them, and which outcomes the final step may record. This module
has no pydantic: it builds workflows from text that was validated before, the built-in
files of this package and the versions ``regie init`` stored (:func:`stored_workflow`).
Validating a definition someone wrote, with an error message per problem, is
:mod:`regie.workflows.validate` (:func:`~regie.workflows.validate.parse_workflow`,
:func:`~regie.workflows.validate.load_workflow`).

A stage's ``body`` names where it meets: the id of a body of the region, or a body kind
(``table``, ``chairs``, …). Which bodies exist is the region's business: the region config
checks that every stage of the workflows it uses finds its body
(:mod:`regie.region_structure`). Regions may ship their own workflows; the ones in this
package are the default (FoodValley's route: table, chairs' meeting, AO, OOGO).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, cast, get_args

from regie.errors import UsageError, WorkflowError

Purpose = Literal["information", "adoption", "advice"]
PURPOSES: tuple[str, ...] = get_args(Purpose)
# The kinds the built-in workflows use (a region's own workflows may name others).
BODY_KINDS = ("table", "chairs", "ao", "oogo")


def format_route(route: Sequence[str]) -> str:
    """A route as people read it: ``table -> chairs -> oogo``."""
    return " -> ".join(route)


@dataclass(frozen=True, kw_only=True)
class Stage:
    id: str
    body: str
    label: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class Outcome:
    id: str
    label: dict[str, str]
    text_required: bool = False
    # the end stages where it may be recorded ([] = every end stage)
    at: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Workflow:
    """A workflow; build one with :func:`stored_workflow` from checked text, or with
    :func:`~regie.workflows.validate.parse_workflow` from text someone wrote."""

    purpose: Purpose
    label: dict[str, str]
    stages: list[Stage]
    final: str
    advance: list[tuple[str, str]]
    default_route: list[str]
    route_setter: str  # the stage at which the routing body may set another route
    returns: list[tuple[str, str]]
    defer: list[str]
    withdraw: list[str]
    outcomes: list[Outcome]
    requires_mandate: bool
    ends: list[str] = field(default_factory=list)  # where a route may end, outcome recorded
    records_decision: bool = True  # False: the item ends "noted", no text, no confirmation
    addressee: bool = False  # True: the proposal names whom the advice is for
    source: str
    text: str
    digest: str

    @property
    def end_stages(self) -> list[str]:
        """Where a route may end: ``ends``, or only ``final`` when it is not given."""
        return list(self.ends) or [self.final]

    def outcomes_at(self, stage_id: str) -> list[Outcome]:
        """The outcomes the meeting of an end stage may record."""
        return [o for o in self.outcomes if not o.at or stage_id in o.at]

    @property
    def start(self) -> str:
        return self.stages[0].id

    def stage(self, stage_id: str) -> Stage:
        return {stage.id: stage for stage in self.stages}[stage_id]  # KeyError if unknown

    def outcome(self, outcome_id: str) -> Outcome:
        return {outcome.id: outcome for outcome in self.outcomes}[outcome_id]

    def route_problem(self, route: Sequence[str]) -> str | None:
        """Why ``route`` is not allowed, or None when it is."""
        if not route:
            return "the route is empty"
        unknown = [name for name in route if name not in {s.id for s in self.stages}]
        if unknown:
            return f"unknown stage '{unknown[0]}'"
        if route[0] != self.start:
            return f"a route must start at '{self.start}'"
        if route[-1] not in self.end_stages:
            ends = "' or '".join(self.end_stages)
            return f"a route must end at '{ends}'"
        if len(set(route)) != len(route):
            return "a stage appears more than once"
        edges = set(self.advance)
        for here, there in zip(route, route[1:], strict=False):
            if (here, there) not in edges:
                return f"no advance from '{here}' to '{there}'"
        return None

    def is_valid_route(self, route: Sequence[str]) -> bool:
        return self.route_problem(route) is None

    def check_route(self, route: Sequence[str]) -> None:
        """Raise UsageError, listing the allowed routes, when ``route`` is not allowed."""
        problem = self.route_problem(route)
        if problem is None:
            return
        allowed = "; ".join(format_route(r) for r in self.allowed_routes())
        raise UsageError(
            f"route '{format_route(route)}' is not allowed for {self.purpose} proposals "
            f"({problem}); allowed routes: {allowed}"
        )

    def allowed_routes(self) -> list[list[str]]:
        """All routes from the start to an end stage over advance edges, the default first."""
        others = [
            p for end in self.end_stages for p in _simple_paths(self.advance, [self.start], end)
        ]
        return [list(self.default_route)] + [p for p in others if p != self.default_route]

    def next_stage(self, route: Sequence[str], current: str) -> str | None:
        """The stage after ``current`` on ``route``; None when ``current`` is the last."""
        if current not in route:
            raise ValueError(f"stage '{current}' is not on route '{format_route(route)}'")
        position = list(route).index(current)
        return route[position + 1] if position + 1 < len(route) else None


def _simple_paths(
    edges: Sequence[tuple[str, str]], path: list[str], end: str
) -> Iterator[list[str]]:
    if path[-1] == end:
        yield list(path)
        return
    for here, there in edges:
        if here == path[-1] and there not in path:
            yield from _simple_paths(edges, [*path, there], end)


def bodies_for(ref: str, bodies: Iterable[tuple[str, str]]) -> list[str]:
    """The bodies a stage's ``body`` names: the body with that id, else every body of that
    kind. ``bodies`` are (id, kind) pairs."""
    pairs = list(bodies)
    if any(ident == ref for ident, _ in pairs):
        return [ref]
    return [ident for ident, kind in pairs if kind == ref]


def build_workflow(doc: Mapping[str, Any], text: str, source: str) -> Workflow:
    """The workflow of a definition table laid out as in the TOML file (``moves`` a
    sub-table), with the file's defaults; ``doc`` must already have the right shape."""
    moves = doc["moves"]
    stages = [Stage(id=s["id"], body=s["body"], label=dict(s["label"])) for s in doc["stages"]]
    ids = [stage.id for stage in stages]
    setter = doc.get("route_setter")
    if setter is None:  # default: the stage after the start
        setter = ids[1] if len(ids) > 1 else (ids or [""])[0]
    outcomes = [
        Outcome(
            id=o["id"],
            label=dict(o["label"]),
            text_required=o.get("text_required", False),
            at=list(o.get("at", [])),
        )
        for o in doc["outcomes"]
    ]
    return Workflow(
        purpose=cast(Purpose, doc["purpose"]),
        label=dict(doc["label"]),
        stages=stages,
        final=doc["final"],
        advance=[(here, there) for here, there in moves["advance"]],
        default_route=list(doc["default_route"]),
        route_setter=setter,
        returns=[(here, there) for here, there in moves["returns"]],
        defer=list(moves["defer"]),
        withdraw=list(moves["withdraw"]),
        outcomes=outcomes,
        requires_mandate=doc["requires_mandate"],
        ends=list(doc.get("ends", [])),
        records_decision=doc.get("records_decision", True),
        addressee=doc.get("addressee", False),
        source=source,
        text=text,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def stored_workflow(text: str, source: str) -> Workflow:
    """A workflow from text that was validated before (a version ``regie init`` stored, a
    built-in file): no shape or meaning checks, so a fast start. Text from anyone else goes
    through :func:`~regie.workflows.validate.parse_workflow`."""
    return build_workflow(tomllib.loads(text), text, source)


def decode(data: bytes, source: str) -> str:
    """The text of a workflow file (UTF-8, a byte order mark dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WorkflowError(
            source, f"line {line}", "the file is not valid UTF-8; save it with UTF-8 encoding"
        ) from None


def builtin_texts() -> dict[str, str]:
    """The text of every workflow file of this package, keyed by file name."""
    from importlib import resources  # ~6 ms, needed only when the built-ins are first read

    package = resources.files("regie.workflows")
    entries = sorted(package.iterdir(), key=lambda e: e.name)
    return {e.name: decode(e.read_bytes(), e.name) for e in entries if e.name.endswith(".toml")}


@cache
def _builtins() -> dict[str, Workflow]:
    found: dict[str, Workflow] = {}
    for name, text in builtin_texts().items():
        workflow = stored_workflow(text, name)  # checked by the tests (test_workflows.py)
        if f"{workflow.purpose}.toml" != name:
            raise WorkflowError(name, "purpose", f"must be '{name[:-5]}' to match the file name")
        found[workflow.purpose] = workflow
    missing = [p for p in PURPOSES if p not in found]
    if missing:
        raise WorkflowError("regie.workflows", "", f"no built-in workflow for {missing}")
    return {purpose: found[purpose] for purpose in PURPOSES}


def builtin_workflows() -> dict[str, Workflow]:
    """The shipped workflows keyed by purpose (read once, then cached)."""
    return dict(_builtins())
