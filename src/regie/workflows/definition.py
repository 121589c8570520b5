"""Workflow definitions: one TOML file per purpose, validated when loaded.

A workflow says through which stages (bodies) a proposal of one purpose travels, which
moves are allowed between them, and which outcomes the final step may record. Loading a
file checks its shape (pydantic, unknown keys forbidden) and then its meaning (graph rules);
the problems found are raised together as one :class:`~regie.errors.WorkflowError`, each
naming the file, the key path and what to change.

A stage's ``body`` names where it meets: the id of a body of the region, or a body kind
(``table``, ``chairs``, …). Which bodies exist is the region's business: the region config
checks that every stage of the workflows it uses finds its body
(:mod:`regie.region_structure`). Regions may ship their own workflows; the ones in this
package are the default (FoodValley's route: table, chairs' meeting, AO, OOGO).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from regie.errors import UsageError, WorkflowError
from regie.workflows import checks

Purpose = Literal["information", "adoption", "advice"]
PURPOSES: tuple[str, ...] = get_args(Purpose)
# The kinds the built-in workflows use (a region's own workflows may name others).
BODY_KINDS = ("table", "chairs", "ao", "oogo")
_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
_BODY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

Problem = tuple[str, str]  # (key path, problem)


def format_route(route: Sequence[str]) -> str:
    """A route as people read it: ``table -> chairs -> oogo``."""
    return " -> ".join(route)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Stage(_Frozen):
    id: str
    body: str
    label: dict[str, str]


class Outcome(_Frozen):
    id: str
    label: dict[str, str]
    text_required: bool = False
    at: list[str] = []  # the end stages where it may be recorded ([] = every end stage)


class Workflow(_Frozen):
    """A validated workflow; build one with :func:`parse_workflow` or :func:`load_workflow`."""

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
    ends: list[str] = []  # stages where a route may end and the outcome is recorded
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


class _LabelIn(_Frozen):
    nl: StrictStr = Field(min_length=1)
    en: StrictStr = Field(min_length=1)


class _StageIn(_Frozen):
    id: StrictStr = Field(pattern=_ID_PATTERN)
    body: StrictStr = Field(pattern=_BODY_PATTERN)
    label: _LabelIn


class _OutcomeIn(_Frozen):
    id: StrictStr = Field(pattern=_ID_PATTERN)
    label: _LabelIn
    text_required: StrictBool = False
    at: list[StrictStr] = []


class _MovesIn(_Frozen):
    advance: list[tuple[StrictStr, StrictStr]]
    returns: list[tuple[StrictStr, StrictStr]]
    defer: list[StrictStr]
    withdraw: list[StrictStr]


class _WorkflowIn(_Frozen):
    purpose: Purpose
    label: _LabelIn
    final: StrictStr
    route_setter: StrictStr | None = None  # default: the stage after the start
    requires_mandate: StrictBool
    default_route: list[StrictStr]
    stages: list[_StageIn]
    moves: _MovesIn
    outcomes: list[_OutcomeIn]
    ends: list[StrictStr] = []
    records_decision: StrictBool = True
    addressee: StrictBool = False


_MESSAGES = {
    "missing": "required key is missing; add it",
    "string_pattern_mismatch": (
        "use lowercase letters, digits and '_' (a body id may also have '-'), "
        "starting with a letter"
    ),
    "string_too_short": "must not be empty",
    "string_type": 'must be text; put it in quotes: "..."',
    "bool_type": "must be true or false (without quotes)",
    "list_type": 'must be a list; write it as ["...", "..."]',
    "tuple_type": 'must be a pair; write it as ["from", "to"]',
    "too_short": 'must be a pair; write it as ["from", "to"]',
    "too_long": 'must be a pair; write it as ["from", "to"]',
    "model_type": "must be a table; write it as [name] or { key = ... }",
    "dict_type": "must be a table; write it as [name] or { key = ... }",
    "literal_error": "must be one of: information, adoption, advice",
}


def _key_path(loc: Sequence[int | str], data: Any) -> str:
    """Key path of a pydantic location; list items with a valid id are named by it."""
    path, node, parent = "", data, ""
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            named = parent in ("stages", "outcomes") and isinstance(ident, str)
            path += f".{ident}" if named and re.match(_ID_PATTERN, str(ident)) else f"[{part}]"
            node = item
        else:
            path += f".{part}" if path else part
            node = node.get(part) if isinstance(node, dict) else None
            parent = part
    return path


def _table_model(loc: Sequence[int | str]) -> type[BaseModel]:
    """The model of the table at ``loc`` (list indexes skipped)."""
    model: type[BaseModel] = _WorkflowIn
    for part in (p for p in loc if isinstance(p, str)):
        annotation = model.model_fields[part].annotation
        model = (get_args(annotation) or (annotation,))[0]
    return model


def _shape_problem(error: Any, data: Any) -> Problem:
    loc = tuple(error["loc"])
    key = _key_path(loc, data)
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(_table_model(loc[:-1]).model_fields)
        return key, f"unknown key '{loc[-1]}'; allowed keys here: {allowed}"
    problem = _MESSAGES.get(error["type"], error["msg"])
    if error["type"] == "missing" and loc and isinstance(loc[-1], int):  # a short pair
        problem = _MESSAGES["tuple_type"]
    if error["type"] != "missing":
        got = repr(error["input"])
        problem += f" (got {got[:60] + '...' if len(got) > 60 else got})"
    return key, problem


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        line = int(found.group(1)) if found else text.count("\n") + 1
        problem = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        raise WorkflowError(
            source, f"line {line}", f"TOML syntax error: {problem}; fix the syntax there"
        ) from None


def _build(doc: _WorkflowIn, text: str, source: str) -> Workflow:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    fields = doc.model_dump(exclude={"moves"}) | doc.moves.model_dump()
    if fields["route_setter"] is None:
        stages = [stage.id for stage in doc.stages]
        fields["route_setter"] = stages[1] if len(stages) > 1 else (stages or [""])[0]
    return Workflow.model_validate({**fields, "source": source, "text": text, "digest": digest})


def parse_workflow(text: str, source: str) -> Workflow:
    """Parse and validate a workflow definition; ``source`` names it in errors."""
    data = _parse_toml(text, source)
    try:
        doc = _WorkflowIn.model_validate(data)
    except ValidationError as exc:
        shapes = [_shape_problem(error, data) for error in exc.errors()]
        raise WorkflowError.collect([(source, *problem) for problem in shapes]) from None
    workflow = _build(doc, text, source)
    problems = checks.meaning_problems(workflow)
    if problems:
        raise WorkflowError.collect([(source, *problem) for problem in problems])
    return workflow


def parse_workflow_table(data: dict[str, Any], source: str) -> Workflow:
    """A workflow written as a table inside another TOML file (a region config): kept as
    the TOML text of that table, so it is stored and hashed like a workflow file."""
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError) as exc:
        raise WorkflowError(source, "", f"cannot be written as a workflow ({exc})") from None
    return parse_workflow(text, source)


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WorkflowError(
            source, f"line {line}", "the file is not valid UTF-8; save it with UTF-8 encoding"
        ) from None


def load_workflow(path: str | os.PathLike[str]) -> Workflow:
    """Read and validate the workflow file at ``path``."""
    source = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkflowError(source, "", f"cannot read the file: {reason}; check the path") from None
    return parse_workflow(_decode(data, source), source)


@cache
def _builtins() -> dict[str, Workflow]:
    package = resources.files("regie.workflows")
    found: dict[str, Workflow] = {}
    for entry in sorted(package.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        workflow = parse_workflow(_decode(entry.read_bytes(), entry.name), entry.name)
        if f"{workflow.purpose}.toml" != entry.name:
            raise WorkflowError(
                entry.name, "purpose", f"must be '{entry.name[:-5]}' to match the file name"
            )
        found[workflow.purpose] = workflow
    missing = [p for p in PURPOSES if p not in found]
    if missing:
        raise WorkflowError("regie.workflows", "", f"no built-in workflow for {missing}")
    return {purpose: found[purpose] for purpose in PURPOSES}


def builtin_workflows() -> dict[str, Workflow]:
    """The shipped workflows keyed by purpose (parsed once, then cached)."""
    return dict(_builtins())
