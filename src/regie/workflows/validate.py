"""Validating workflow definitions someone wrote: a file, a table of a region config.

Parsing checks the shape (pydantic, unknown keys forbidden) and then the meaning (graph
rules, :mod:`regie.workflows.checks`); the problems found are raised together as one
:class:`~regie.errors.WorkflowError`, each naming the file, the key path and what to
change. Only loading a region, ``regie init`` and the tests import this module; at run
time regie reads workflows it checked before (:func:`regie.workflows.definition.stored_workflow`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from regie.errors import WorkflowError
from regie.workflows import checks
from regie.workflows.definition import Purpose, Workflow, build_workflow, decode

_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
_BODY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

Problem = tuple[str, str]  # (key path, problem)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


def parse_workflow(text: str, source: str) -> Workflow:
    """Parse and validate a workflow definition; ``source`` names it in errors."""
    data = _parse_toml(text, source)
    try:
        doc = _WorkflowIn.model_validate(data)
    except ValidationError as exc:
        shapes = [_shape_problem(error, data) for error in exc.errors()]
        raise WorkflowError.collect([(source, *problem) for problem in shapes]) from None
    workflow = build_workflow(doc.model_dump(), text, source)
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


def load_workflow(path: str | os.PathLike[str]) -> Workflow:
    """Read and validate the workflow file at ``path``."""
    source = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkflowError(source, "", f"cannot read the file: {reason}; check the path") from None
    return parse_workflow(decode(data, source), source)
