"""What `regie init --check` prints about a valid region config: its size, each purpose's
workflow (the region's own or built-in) with its route in the region's body names, and the
roles; in JSON also the warnings (:mod:`regie.region_warnings`, printed on stderr by the
CLI). Nothing here touches a database."""

from __future__ import annotations

from typing import Any

from regie.region import Region
from regie.region_structure import bodies_for
from regie.region_warnings import warnings_json
from regie.workflows.definition import Workflow


def _stage_names(region: Region, wf: Workflow, lang: str) -> list[str]:
    pairs = [(b.id, b.kind) for b in region.bodies]
    names = []
    for stage in wf.stages:
        found = bodies_for(stage.body, pairs)
        if len(found) == 1:
            names.append(region.body(found[0]).short)
        else:
            names.append(stage.label.get(lang) or stage.id)
    return names


def summarize(region: Region) -> dict[str, Any]:
    """A JSON-able summary, with ``lines`` to print."""
    lang = region.language
    meetings = sum(len(body.meetings) for body in region.bodies)
    workflows: dict[str, Any] = {}
    lines = [
        f"{region.source}: OK: region {region.name}, {len(region.parties)} parties, "
        f"{len(region.people)} people, {len(region.bodies)} bodies, {meetings} meetings"
    ]
    for purpose, wf in region.workflows.items():
        own = purpose in region.own_workflows
        stages = dict(zip([s.id for s in wf.stages], _stage_names(region, wf, lang), strict=True))
        route = [stages[s] for s in wf.default_route]
        workflows[purpose] = {
            "source": wf.source if own else "built-in",
            "digest": wf.digest,
            "default_route": list(wf.default_route),
            "route_names": route,
            "decides_at": wf.final,
            "route_set_at": wf.route_setter,
        }
        origin = wf.source if own else "built-in"
        lines.append(f"  {purpose} ({origin}): {' -> '.join(route)}; decided at {stages[wf.final]}")
    roles = region.roles
    named = {
        "routing body": roles.routing_body,
        "top body": roles.top_body,
    }
    shown = ", ".join(f"{k} {v or '(none)'}" for k, v in named.items())
    news = ", ".join(roles.news_bodies) or "(nobody: set [structure] news_to)"
    lines.append(f"  roles: {shown}; news of the top body to {news}")
    return {
        "file": region.source,
        "region": region.name,
        "parties": len(region.parties),
        "people": len(region.people),
        "bodies": len(region.bodies),
        "meetings": meetings,
        "workflows": workflows,
        "roles": roles.as_setting(),
        "warnings": warnings_json(region),
        "lines": lines,
    }
