"""What a valid region config falls short of: warnings, not errors.

Rule of conduct 4, "ownership" (seed 002, part 2, point 7): *every partner takes part in
at least one table or working group; each focus point has an administrative and an
official lead* ("iedere partner dient deel te nemen aan een regionale tafel of werkgroep
... wie de bestuurlijk en ambtelijk trekker is per speerpunt"). A config that does not
meet it still loads (`regie init` succeeds, exit 0) and gets a warning per gap:

* a ``[[focus_points]]`` entry without ``admin_lead`` or without ``official_lead``
  (reported at ``focus_points[i].admin_lead`` / ``.official_lead``);
* a partner none of whose people is a member of a body where proposals start: the body
  of the first stage of any of the region's workflows, found the way the workflow finds
  it (:func:`regie.region_structure.bodies_for`: an id, else every body of that kind;
  FoodValley's tables, a region's ``werkgroep``) -- reported at ``parties[i]``.

A partner is every party except the coordinator's own (the party of
``region.coordinator``, FoodValley's network organisation): the rule exists because, with
a network coordinator, "nobody feels responsible"; the coordinator's organisation runs the
network and may submit at every table, it is not one of the partners the rule addresses.
An unknown person as lead is an error (:mod:`regie.region_validate`), not a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from regie.region_structure import bodies_for

if TYPE_CHECKING:
    from regie.region import Region

RegionWarning = tuple[str, str]  # (key path, what is missing and what to do)

_RULE = "rule of conduct 4"
_LEADS = (
    ("admin_lead", "administrative", "an alderman or board member"),
    ("official_lead", "official", "a policy officer"),
)


def region_warnings(region: Region) -> list[RegionWarning]:
    """Every warning for ``region``, focus points first, each in file order."""
    return [*_focus_point_leads(region), *_partners_without_a_start_body(region)]


def warning_lines(region: Region) -> list[str]:
    """The warnings as ``FILE: KEY: text`` lines (the form of the config errors)."""
    return [f"{region.source}: {key}: {text}" for key, text in region_warnings(region)]


def warnings_json(region: Region) -> list[dict[str, str]]:
    """The warnings for ``--json``: ``{"key": ..., "text": ...}`` each."""
    return [{"key": key, "text": text} for key, text in region_warnings(region)]


def start_bodies(region: Region) -> list[str]:
    """The bodies where proposals start: the first stage's body of every workflow of the
    region, in [[bodies]] order."""
    pairs = [(body.id, body.kind) for body in region.bodies]
    found = {
        ident for wf in region.workflows.values() for ident in bodies_for(wf.stages[0].body, pairs)
    }
    return [body.id for body in region.bodies if body.id in found]


def _focus_point_leads(region: Region) -> Iterator[RegionWarning]:
    for i, point in enumerate(region.focus_points):
        for key, which, example in _LEADS:
            if getattr(point, key) is None:
                yield (
                    f"focus_points[{i}].{key}",
                    f"focus point '{point.id}' has no {which} lead; every focus point has an "
                    f"administrative and an official lead ({_RULE}): add {key} = "
                    f'"<person id>" (e.g. {example})',
                )


def _partners_without_a_start_body(region: Region) -> Iterator[RegionWarning]:
    starts = start_bodies(region)
    if not starts:
        return  # no workflow found its first body: reported as a config error
    own = next((p.party for p in region.people if p.id == region.coordinator), None)
    taking_part = {
        person.party
        for person in region.people
        for body in region.bodies
        if body.id in starts and person.id in body.members
    }
    listed = ", ".join(starts)
    for i, party in enumerate(region.parties):
        if party.id == own or party.id in taking_part:
            continue
        people = [person.id for person in region.people if person.party == party.id]
        fix = (
            f"add one of its people ({', '.join(people)}) to the members of one of them"
            if people
            else f'add a [[people]] entry with party = "{party.id}" and make them a member '
            "of one of them"
        )
        yield (
            f"parties[{i}]",
            f"party '{party.id}' has nobody in a body where proposals start ({listed}); every "
            f"partner takes part in at least one table or working group ({_RULE}): {fix}",
        )
