"""Workflow definitions shipped with regie: one validated TOML file per purpose.

Importing this package loads no pydantic: the validating parser
(:mod:`regie.workflows.validate`) is imported when :func:`parse_workflow` or
:func:`load_workflow` is first asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from regie.workflows.definition import (
    BODY_KINDS,
    PURPOSES,
    Outcome,
    Purpose,
    Stage,
    Workflow,
    builtin_workflows,
    format_route,
    stored_workflow,
)

if TYPE_CHECKING:
    from regie.workflows.validate import load_workflow, parse_workflow

_VALIDATING = ("load_workflow", "parse_workflow")


def __getattr__(name: str) -> Any:
    """The validating names, from :mod:`regie.workflows.validate` when first used."""
    if name in _VALIDATING:
        return getattr(importlib.import_module("regie.workflows.validate"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BODY_KINDS",
    "PURPOSES",
    "Outcome",
    "Purpose",
    "Stage",
    "Workflow",
    "builtin_workflows",
    "format_route",
    "load_workflow",
    "parse_workflow",
    "stored_workflow",
]
