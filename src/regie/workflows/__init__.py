"""Workflow definitions shipped with regie: one validated TOML file per purpose."""

from regie.workflows.definition import (
    BODY_KINDS,
    PURPOSES,
    Outcome,
    Purpose,
    Stage,
    Workflow,
    builtin_workflows,
    format_route,
    load_workflow,
    parse_workflow,
)

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
]
