"""Checks of a region configuration beyond the shape of single entries.

:func:`region_problems` runs the cross-reference rules on a parsed
:class:`~regie.region.Region` and returns every problem; :func:`check_region` raises them
as one :class:`~regie.errors.ConfigError`. :func:`translate_validation_error` turns a
pydantic ``ValidationError`` into the same error, with every shape problem. Every check is
a generator of ``(key path, problem)`` pairs, in file order. Rules about the region's
structure (which bodies the workflows need, LEAs per municipality, …) are in
:mod:`regie.region_structure`: they are the region's, set in its config.
"""

from __future__ import annotations

import datetime
import difflib
import itertools
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from regie.errors import ConfigError

if TYPE_CHECKING:
    from regie.region import Body, MeetingSpec, Region

Problem = tuple[str, str]
Check = Callable[["Region"], Iterator[Problem]]


# --- pydantic errors -------------------------------------------------------------------------


def key_path(loc: Sequence[int | str]) -> str:
    """``('bodies', 2, 'chair')`` -> ``bodies[2].chair``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part:  # a pydantic validator tag, not a key the user typed
            continue
        else:
            name = part if part.replace("-", "").replace("_", "").isalnum() else f'"{part}"'
            out += f".{name}" if out else name
    return out


def _model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class that holds the keys of the table at ``loc``."""
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None:
            return None
        fields = {field.alias or name: field for name, field in model.model_fields.items()}
        field = fields.get(part)
        model = _model_in(field.annotation) if field else None
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _shape(root: type[BaseModel], loc: Sequence[int | str]) -> str:
    """How the key at ``loc`` is written: "tables" ([[name]]), "table" ([name]) or "value"."""
    parent = _model_at(root, loc[:-1])
    fields = {f.alias or n: f for n, f in parent.model_fields.items()} if parent else {}
    field = fields.get(str(loc[-1])) if loc else None
    if field is None or _model_in(field.annotation) is None:
        return "value"
    return "tables" if typing.get_origin(field.annotation) is list else "table"


def _missing(error: Any, root: type[BaseModel], name: str) -> str:
    shape = _shape(root, tuple(error["loc"]))
    if shape == "tables":
        return f"the [[{name}]] entries are missing; add at least one"
    if shape == "table":
        return f"required table [{name}] is missing; add it"
    return f"required key '{name}' is missing; add {name} = ... to this entry"


def _unknown_key(error: Any, root: type[BaseModel], name: str) -> str:
    model = _model_at(root, tuple(error["loc"])[:-1])
    fields = model.model_fields if model else {}
    allowed = [field.alias or key for key, field in fields.items()]
    close = difflib.get_close_matches(name, allowed, n=1)
    if name in fields:  # the Python name of a field that has another name in the file
        close = [fields[name].alias or name]
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return (
        f"unknown key '{name}'{hint}; remove it or fix the spelling "
        f"(allowed keys: {', '.join(allowed)})"
    )


def _not_a_list(error: Any, root: type[BaseModel], name: str) -> str:
    tables = _shape(root, tuple(error["loc"])) == "tables"
    how = f"[[{name}]] entries" if tables else f'{name} = ["...", "..."]'
    return f"must be a list, not {_short(error['input'])}; write {how}"


_PROBLEMS: dict[str, Callable[[Any, type[BaseModel], str], str]] = {
    "missing": _missing,
    "extra_forbidden": _unknown_key,
    "list_type": _not_a_list,
    "value_error": lambda error, _root, _name: str(error["ctx"]["error"]),
    "string_type": lambda error, _root, _name: (
        f'must be text, not {_short(error["input"])}; put it in quotes: "..."'
    ),
    "bool_parsing": lambda error, _root, name: (
        f"must be true or false, not {_short(error['input'])}; write {name} = true"
    ),
    "int_parsing": lambda error, _root, name: (
        f"must be a whole number, not {_short(error['input'])}; write it without quotes or decimals"
    ),
}
for _alias, _kind in (
    ("bool_type", "bool_parsing"),
    ("int_type", "int_parsing"),
    ("int_from_float", "int_parsing"),
):
    _PROBLEMS[_alias] = _PROBLEMS[_kind]
for _kind in ("model_type", "model_attributes_type", "dict_type"):
    _PROBLEMS[_kind] = lambda error, _root, name: (
        f"must be a table, not {_short(error['input'])}; write [{name}] or {name} = {{ key = ... }}"
    )


def _problem(error: Any, root: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    name = next((str(part) for part in reversed(loc) if isinstance(part, str)), "value")
    handler = _PROBLEMS.get(error["type"])
    if handler:
        return handler(error, root, name)
    message = str(error["msg"]).replace("Input should be", "must be")
    return f"{message} (got {_short(error['input'])}); fix the value of '{name}'"


def _errors(exc: ValidationError) -> list[Any]:
    """Every error, but a misspelt key instead of the missing key it should have been
    (an unknown key and a missing key in the same table: the unknown key is reported)."""
    errors = exc.errors(include_url=False)
    misspelt = {tuple(e["loc"])[:-1] for e in errors if e["type"] == "extra_forbidden"}
    return [e for e in errors if e["type"] != "missing" or tuple(e["loc"])[:-1] not in misspelt]


def translate_validation_error(
    exc: ValidationError, source: str, root: type[BaseModel]
) -> ConfigError:
    """Every error of ``exc`` in one ConfigError, each with its TOML key path."""
    return ConfigError.collect(
        [(source, key_path(tuple(e["loc"])), _problem(e, root)) for e in _errors(exc)]
    )


# --- helpers ---------------------------------------------------------------------------------


def _unknown(what: str, value: str, known: Iterable[str], where: str) -> str:
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown {what} '{value}'; {hint}use the id of an entry in {where}"


def _duplicates(items: Iterable[tuple[str, str]], what: str) -> Iterator[Problem]:
    """``items`` are (key path, id) pairs; yields a problem for every repeated id."""
    seen: dict[str, str] = {}
    for key, ident in items:
        if ident in seen:
            yield (
                key,
                (
                    f"duplicate {what} id '{ident}' (also at {seen[ident]}); ids must be unique, "
                    "rename one of them"
                ),
            )
        else:
            seen[ident] = key


def _meeting_key(body_index: int, index: int, meeting: MeetingSpec) -> str:
    return f"bodies[{body_index}].meetings[{index}].{'id' if meeting.id else 'date'}"


def _span(meeting: MeetingSpec) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(meeting.date, meeting.time)
    return start, start + datetime.timedelta(minutes=meeting.duration_minutes)


# --- the checks ------------------------------------------------------------------------------


def _unique_ids(region: Region) -> Iterator[Problem]:
    lists: tuple[tuple[str, Sequence[str], str], ...] = (
        ("parties", [party.id for party in region.parties], "party"),
        ("people", [person.id for person in region.people], "person"),
        ("bodies", [body.id for body in region.bodies], "body"),
        ("focus_points", [point.id for point in region.focus_points], "focus point"),
    )
    for name, ids, what in lists:
        yield from _duplicates(((f"{name}[{i}].id", ident) for i, ident in enumerate(ids)), what)
    meetings = (
        (_meeting_key(b, m, meeting), meeting.meeting_id(body.id))
        for b, body in enumerate(region.bodies)
        for m, meeting in enumerate(body.meetings)
    )
    for key, problem in _duplicates(meetings, "meeting"):
        yield key, problem + "; a meeting without id gets '<body>-<date>', give it its own id"


def _people(region: Region) -> Iterator[Problem]:
    parties = [party.id for party in region.parties]
    for i, person in enumerate(region.people):
        if person.party not in parties:
            yield f"people[{i}].party", _unknown("party", person.party, parties, "[[parties]]")
    people = [person.id for person in region.people]
    if region.coordinator not in people:
        yield "region.coordinator", _unknown("person", region.coordinator, people, "[[people]]")


def _body_party(region: Region, index: int, body: Body) -> Iterator[Problem]:
    key = f"bodies[{index}].party"
    parties = [party.id for party in region.parties]
    if body.party is not None and body.party not in parties:
        yield key, _unknown("party", body.party, parties, "[[parties]]")


def _body_people(region: Region, index: int, body: Body) -> Iterator[Problem]:
    people = [person.id for person in region.people]
    key = f"bodies[{index}]"
    if body.chair not in people:
        yield f"{key}.chair", _unknown("person", body.chair, people, "[[people]]")
    for m, member in enumerate(body.members):
        if member not in people:
            yield f"{key}.members[{m}]", _unknown("person", member, people, "[[people]]")
        elif member in body.members[:m]:
            yield f"{key}.members[{m}]", f"'{member}' is listed twice; remove one"
    if body.chair not in body.members:
        yield (
            f"{key}.chair",
            (
                f"'{body.chair}' is not a member of body '{body.id}'; add '{body.chair}' to "
                f"{key}.members or choose a member as chair"
            ),
        )


def _bodies(region: Region) -> Iterator[Problem]:
    for i, body in enumerate(region.bodies):
        yield from _body_party(region, i, body)
        yield from _body_people(region, i, body)


def _meeting_overlaps(region: Region) -> Iterator[Problem]:
    for b, body in enumerate(region.bodies):
        for (i, one), (k, two) in itertools.combinations(enumerate(body.meetings), 2):
            (start1, end1), (start2, end2) = _span(one), _span(two)
            if start1 < end2 and start2 < end1:
                yield (
                    f"bodies[{b}].meetings[{k}]",
                    (
                        f"meeting on {start2:%Y-%m-%d %H:%M} overlaps bodies[{b}].meetings[{i}] "
                        f"({start1:%Y-%m-%d %H:%M}-{end1:%H:%M}) of body '{body.id}'; "
                        "move one of them or shorten duration_minutes"
                    ),
                )


def _refs(region: Region, key: str, entry: tuple[str, str, str], blame: str) -> Iterator[Problem]:
    """Shared by mandates and substitutes: the three ids, and that the person belongs to the
    party (reported at ``key.<blame>``)."""
    person, party, body = entry
    people = {p.id: p.party for p in region.people}
    parties = [p.id for p in region.parties]
    bodies = [b.id for b in region.bodies]
    if person not in people:
        yield f"{key}.person", _unknown("person", person, people, "[[people]]")
    elif party in parties and people[person] != party:
        yield (
            f"{key}.{blame}",
            (
                f"'{person}' belongs to party '{people[person]}', not '{party}'; use "
                f"party = \"{people[person]}\" or choose a person of '{party}'"
            ),
        )
    if party not in parties:
        yield f"{key}.party", _unknown("party", party, parties, "[[parties]]")
    if body not in bodies:
        yield f"{key}.body", _unknown("body", body, bodies, "[[bodies]]")


def _mandates(region: Region) -> Iterator[Problem]:
    for i, mandate in enumerate(region.mandates):
        key = f"mandates[{i}]"
        entry = (mandate.person, mandate.party, mandate.body)
        yield from _refs(region, key, entry, "party")
        until = mandate.valid_until
        if until is not None and until < mandate.valid_from:
            yield (
                f"{key}.until",
                (f"until {until} is before from {mandate.valid_from}; swap the dates or fix one"),
            )


def _mandate_overlaps(region: Region) -> Iterator[Problem]:
    far = datetime.date.max
    for (i, one), (k, two) in itertools.combinations(enumerate(region.mandates), 2):
        same = (one.person, one.party, one.body) == (two.person, two.party, two.body)
        end1, end2 = one.valid_until or far, two.valid_until or far
        if same and one.valid_from <= end2 and two.valid_from <= end1:
            until = one.valid_until or "open end"
            yield (
                f"mandates[{k}].from",
                (
                    f"overlaps mandates[{i}] ({one.valid_from} to {until}) of '{two.person}' for "
                    f"'{two.party}' in '{two.body}'; let one end before the other starts, "
                    "or remove the duplicate"
                ),
            )


def _substitutes(region: Region) -> Iterator[Problem]:
    for i, sub in enumerate(region.substitutes):
        entry = (sub.person, sub.party, sub.body)
        yield from _refs(region, f"substitutes[{i}]", entry, "person")


def _focus_point_leads(region: Region) -> Iterator[Problem]:
    """A focus point's leads are people of the region (a missing lead is only a warning,
    see :mod:`regie.region_warnings`)."""
    people = [person.id for person in region.people]
    for i, point in enumerate(region.focus_points):
        for key in ("admin_lead", "official_lead"):
            lead = getattr(point, key)
            if lead is not None and lead not in people:
                yield f"focus_points[{i}].{key}", _unknown("person", lead, people, "[[people]]")


def _scheduler_bodies(region: Region) -> Iterator[Problem]:
    bodies = [body.id for body in region.bodies]
    for body in region.scheduler.bodies:
        if body not in bodies:
            yield f"scheduler.bodies.{body}", _unknown("body", body, bodies, "[[bodies]]")


CHECKS: tuple[Check, ...] = (
    _unique_ids,
    _people,
    _bodies,
    _meeting_overlaps,
    _mandates,
    _mandate_overlaps,
    _substitutes,
    _focus_point_leads,
    _scheduler_bodies,
)


def region_problems(region: Region) -> list[Problem]:
    """Every cross-reference problem of ``region``, check by check, in file order."""
    return [problem for check in CHECKS for problem in check(region)]


def check_region(region: Region) -> None:
    """Raise one ConfigError with every cross-reference problem of ``region``."""
    problems = region_problems(region)
    if problems:
        raise ConfigError.collect([(region.source, key, why) for key, why in problems])
