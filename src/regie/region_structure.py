"""The region's own structure: the workflows it uses and the roles its bodies play.

Two optional tables of the region config (see ``docs/CONFIG.md``)::

    [workflows]                 # the region's own routes; purposes left out use the built-in
    dir = "workflows"           # <purpose>.toml files, relative to the config file
    [workflows.adoption]        # ... or a workflow written inline (same keys as a file)

    [structure]
    routing_body = "voorzitters"              # decides routes (default: the body of the
                                              # adoption workflow's route_setter stage)
    top_body = "oogo"                         # the top meeting (default: where adoption decides)
    news_to = ["lea"]                         # after the top meeting: news to these bodies'
                                              # members (body ids or kinds)
    routing_chaired_by_coordinator = true     # a rule of the region, checked at load
    one_body_per_party = [{ body_kind = "lea", party_kind = "municipality" }]

A workflow stage names its body by id or by kind (:func:`bodies_for`); the config is only
valid when every stage of every workflow the region uses finds its body. Bodies no
workflow uses are not required. All problems are reported together.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from regie.errors import Problem, WorkflowError
from regie.workflows.definition import PURPOSES, Workflow, bodies_for, builtin_workflows
from regie.workflows.validate import load_workflow, parse_workflow_table

if TYPE_CHECKING:
    from regie.region import Region

_KIND = re.compile(r"[a-z][a-z0-9_-]*")


def _check_kind(value: str) -> str:
    if not _KIND.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a kind; use lowercase letters, digits, '_' and '-', starting "
            "with a letter, e.g. 'table' or 'municipality'"
        )
    return value


Kind = Annotated[str, AfterValidator(_check_kind)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkflowsSpec(_Model):
    """The ``[workflows]`` table: a folder of workflow files and/or inline workflows."""

    dir: str | None = None
    information: dict[str, Any] | None = None
    adoption: dict[str, Any] | None = None
    advice: dict[str, Any] | None = None


class OneBodyPerParty(_Model):
    """Every party of ``party_kind`` has exactly one body of ``body_kind`` (its ``party``)."""

    body_kind: Kind
    party_kind: Kind


class StructureSpec(_Model):
    """The ``[structure]`` table: which bodies play the roles the rules of conduct name."""

    routing_body: str | None = None
    top_body: str | None = None
    news_to: list[str] = Field(default_factory=list)
    routing_chaired_by_coordinator: bool = False
    one_body_per_party: list[OneBodyPerParty] = Field(default_factory=list)


@dataclass(frozen=True)
class Roles:
    """The resolved roles: body ids (None when the region has no such body)."""

    routing_body: str | None
    top_body: str | None
    news_bodies: tuple[str, ...]

    def as_setting(self) -> dict[str, object]:
        return {
            "routing_body": self.routing_body,
            "top_body": self.top_body,
            "news_bodies": list(self.news_bodies),
        }


# --- resolving a stage's body -------------------------------------------------------------


# --- loading the region's workflows --------------------------------------------------------


def load_region_workflows(
    spec: WorkflowsSpec, config_source: str
) -> tuple[dict[str, Workflow], set[str], list[Problem]]:
    """(workflow per purpose, the purposes the region defines itself, problems)."""
    own: dict[str, Workflow] = {}
    problems: list[Problem] = []
    failed: set[str] = set()

    def take(purpose: str, load: Any, where: str) -> None:
        if purpose in own or purpose in failed:
            problems.append(
                (
                    config_source,
                    "workflows",
                    f"the {purpose} workflow is defined twice (again in {where}); keep one",
                )
            )
            return
        try:
            wf = load()
        except WorkflowError as exc:
            problems.extend(exc.problems)
            failed.add(purpose)
            return
        if wf.purpose != purpose:
            problems.append(
                (
                    wf.source,
                    "purpose",
                    f"is '{wf.purpose}' but the workflow is given for "
                    f"'{purpose}'; make them the same",
                )
            )
            failed.add(purpose)
            return
        own[purpose] = wf

    if spec.dir is not None:
        for purpose, path in _workflow_files(spec.dir, config_source, problems):
            take(purpose, lambda path=path: load_workflow(path), os.fspath(path))
    for purpose in PURPOSES:
        table = getattr(spec, purpose)
        if table is not None:
            source = f"{config_source} [workflows.{purpose}]"
            data = {"purpose": purpose, **table}
            take(purpose, lambda d=data, s=source: parse_workflow_table(d, s), source)
    builtins = builtin_workflows()
    merged = {p: own.get(p, builtins[p]) for p in PURPOSES if p not in failed}
    return merged, set(own), problems


def _workflow_files(
    folder: str, config_source: str, problems: list[Problem]
) -> Iterator[tuple[str, Path]]:
    base = Path(config_source).parent / Path(folder).expanduser()
    if not base.is_dir():
        problems.append(
            (
                config_source,
                "workflows.dir",
                f"folder '{base}' does not exist; create it with "
                "<purpose>.toml files, or fix the path (relative to the config file)",
            )
        )
        return
    for path in sorted(base.glob("*.toml")):
        if path.stem in PURPOSES:
            yield path.stem, path
        else:
            close = difflib.get_close_matches(path.stem, PURPOSES, n=1)
            hint = f" (did you mean '{close[0]}.toml'?)" if close else ""
            problems.append(
                (
                    os.fspath(path),
                    "",
                    f"is not named after a purpose{hint}; name workflow "
                    f"files {', '.join(p + '.toml' for p in PURPOSES)}",
                )
            )


# --- checks ------------------------------------------------------------------------------


def structure_problems(region: Region, own: set[str]) -> Iterator[Problem]:
    """Every stage finds its body; the roles name bodies; the region's own rules hold."""
    yield from _stage_bodies(region, own)
    yield from _roles(region)
    yield from _one_body_per_party(region)


def _pairs(region: Region) -> list[tuple[str, str]]:
    return [(body.id, body.kind) for body in region.bodies]


def _stage_bodies(region: Region, own: set[str]) -> Iterator[Problem]:
    pairs = _pairs(region)
    builtin: dict[tuple[str, int], list[str]] = {}  # (kind, bodies found) -> purposes
    for purpose, wf in region.workflows.items():
        for stage in wf.stages:
            found = bodies_for(stage.body, pairs)
            if found and (stage.id == wf.start or len(found) == 1):
                continue
            if purpose in own:
                yield wf.source, f"stages.{stage.id}.body", _stage_problem(stage.body, found, pairs)
            else:
                builtin.setdefault((stage.body, len(found)), []).append(purpose)
    for (kind, count), purposes in builtin.items():
        which = f"built-in workflow{'s' if len(purposes) > 1 else ''} ({', '.join(purposes)})"
        own_hint = "or give the region its own workflows under [workflows] (see docs/CONFIG.md)"
        if count == 0:
            problem = (
                f"no body of kind '{kind}', and the {which} meet in one; add a [[bodies]] entry "
                f'with kind = "{kind}", {own_hint}'
            )
        else:
            listed = ", ".join(bodies_for(kind, pairs))
            problem = (
                f"{count} bodies of kind '{kind}' ({listed}), and the {which} meet in one of "
                f"them; keep one of kind '{kind}' (give the others another kind), {own_hint}"
            )
        yield region.source, "bodies", problem


def _stage_problem(ref: str, found: Sequence[str], pairs: Sequence[tuple[str, str]]) -> str:
    if found:
        return (
            f"{len(found)} bodies are of kind '{ref}' ({', '.join(found)}); only the first "
            "stage (where proposals start) may name a kind with several bodies; name one body "
            "by its id"
        )
    names = [ident for ident, _ in pairs] + sorted({kind for _, kind in pairs})
    close = difflib.get_close_matches(ref, names, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"no body with id or kind '{ref}'; {hint}use the id of a [[bodies]] entry or a kind"


def _unknown_body(region: Region, key: str, value: str) -> Problem:
    ids = [body.id for body in region.bodies]
    close = difflib.get_close_matches(value, ids, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return region.source, key, f"unknown body '{value}'; {hint}use the id of a [[bodies]] entry"


def _roles(region: Region) -> Iterator[Problem]:
    spec = region.structure
    ids = {body.id for body in region.bodies}
    for key in ("routing_body", "top_body"):
        value = getattr(spec, key)
        if value is not None and value not in ids:
            yield _unknown_body(region, f"structure.{key}", value)
    for i, ref in enumerate(spec.news_to):
        if not bodies_for(ref, _pairs(region)):
            yield _unknown_body(region, f"structure.news_to[{i}]", ref)
    yield from _route_setters(region)
    if spec.routing_chaired_by_coordinator:
        routing = resolve_roles(region).routing_body
        if routing is None and "adoption" not in region.workflows:
            pass  # the adoption workflow did not load: that problem is reported already
        elif routing is None:
            yield (
                region.source,
                "structure.routing_chaired_by_coordinator",
                "the region has no routing body; set structure.routing_body",
            )
        elif routing in ids and region.body(routing).chair != region.coordinator:
            index = next(i for i, b in enumerate(region.bodies) if b.id == routing)
            yield (
                region.source,
                f"bodies[{index}].chair",
                f"the routing body '{routing}' must be chaired by the region coordinator "
                f"'{region.coordinator}' (structure.routing_chaired_by_coordinator); set "
                f'chair = "{region.coordinator}" or change region.coordinator',
            )


def _route_setters(region: Region) -> Iterator[Problem]:
    """Where a workflow lets the route be set, the routing body meets (seed 002: the
    chairs' meeting decides the routes)."""
    routing = region.structure.routing_body
    if routing not in {body.id for body in region.bodies}:
        return  # none, or unknown: reported by _roles
    for purpose, wf in region.workflows.items():
        setter = _stage_body(region, wf, wf.route_setter)
        if setter is not None and setter != routing:
            where = wf.source if purpose in region.own_workflows else region.source
            key = "route_setter" if purpose in region.own_workflows else "structure.routing_body"
            yield (
                where,
                key,
                (
                    f"the {purpose} workflow lets the route be set at stage '{wf.route_setter}', "
                    f"which meets in '{setter}', but the routing body is '{routing}'; set "
                    f"route_setter to the stage that meets in '{routing}', or routing_body = "
                    f'"{setter}"'
                ),
            )


def _one_body_per_party(region: Region) -> Iterator[Problem]:
    kinds = {party.id: party.kind for party in region.parties}
    for r, rule in enumerate(region.structure.one_body_per_party):
        first: dict[str, int] = {}
        for i, body in enumerate(region.bodies):
            if body.kind != rule.body_kind:
                continue
            key = f"bodies[{i}].party"
            if body.party is None:
                yield (
                    region.source,
                    key,
                    (
                        f"body '{body.id}' is of kind '{rule.body_kind}', which belongs to one "
                        f"party (structure.one_body_per_party[{r}]); "
                        f'set party = "<{rule.party_kind} id>"'
                    ),
                )
            elif kinds.get(body.party) not in (None, rule.party_kind):
                yield (
                    region.source,
                    key,
                    (
                        f"party '{body.party}' of '{body.id}' is of kind '{kinds[body.party]}'; a "
                        f"body of kind '{rule.body_kind}' belongs to a party of kind "
                        f"'{rule.party_kind}' (structure.one_body_per_party[{r}])"
                    ),
                )
            elif body.party in first:
                yield (
                    region.source,
                    key,
                    (
                        f"'{body.party}' already has a body of kind '{rule.body_kind}' "
                        f"(bodies[{first[body.party]}]); each has exactly one, remove one or fix "
                        "the party"
                    ),
                )
            else:
                first[body.party] = i
        for i, party in enumerate(region.parties):
            if party.kind == rule.party_kind and party.id not in first:
                yield (
                    region.source,
                    "bodies",
                    (
                        f"{rule.party_kind} '{party.id}' (parties[{i}]) has no body of kind "
                        f"'{rule.body_kind}' (structure.one_body_per_party[{r}]); add a [[bodies]] "
                        f'entry with kind = "{rule.body_kind}" and party = "{party.id}"'
                    ),
                )


# --- roles -------------------------------------------------------------------------------


def _stage_body(region: Region, wf: Workflow, stage_id: str) -> str | None:
    if stage_id == wf.start:
        return None
    found = bodies_for(wf.stage(stage_id).body, _pairs(region))
    return found[0] if len(found) == 1 else None


def resolve_roles(region: Region) -> Roles:
    """The roles, from [structure] or else from the adoption workflow (where it sets the
    route, where it decides)."""
    spec = region.structure
    wf = region.workflows.get("adoption")
    routing = spec.routing_body or (_stage_body(region, wf, wf.route_setter) if wf else None)
    top = spec.top_body or (_stage_body(region, wf, wf.final) if wf else None)
    news: list[str] = []
    for ref in spec.news_to:
        news += [b for b in bodies_for(ref, _pairs(region)) if b not in news]
    return Roles(routing, top, tuple(news))
