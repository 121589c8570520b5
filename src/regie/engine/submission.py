"""What a new proposal must name correctly: where it starts (a body the workflow's first
stage names), its concerned parties, focus point and leads, and for an advice whom it is
for. Used by :func:`regie.engine.moves.submit`."""

from __future__ import annotations

from collections.abc import Sequence

from regie.engine.changes import Change
from regie.engine.machine import CompiledWorkflow
from regie.engine.placement import start_bodies
from regie.errors import UsageError


def start_table(ch: Change, cw: CompiledWorkflow, table: str | None) -> str:
    """The body the proposal starts at: one the workflow's first stage names."""
    tables = start_bodies(ch, cw.workflow)
    if table is None and len(tables) == 1:
        return tables[0]
    if table is None:
        raise UsageError(f"say where the proposal starts with --table; one of: {', '.join(tables)}")
    if table not in tables:
        raise UsageError(
            f"'{table}' is not where {cw.workflow.purpose} proposals start; they start at "
            f"one of: {', '.join(tables) or '(none: check the region config)'}"
        )
    return table


def addressee(ch: Change, cw: CompiledWorkflow, value: str | None) -> str | None:
    """Whom an advice is for: ``party:<id>`` or ``body:<id>`` (a bare id is looked up)."""
    wf = cw.workflow
    if not wf.addressee:
        if value:
            raise UsageError(f"{wf.purpose} proposals have no addressee; leave out --addressee")
        return None
    if not value:
        raise UsageError(
            f"{wf.purpose} proposals name whom the advice is for: --addressee PARTY or BODY "
            "(e.g. --addressee ede, --addressee body:oogo)"
        )
    kind, _, ident = value.partition(":") if ":" in value else ("", "", value)
    found = [
        f"{table}:{ident}"
        for table in ("party", "body")
        if (not kind or kind == table)
        and ch.tx.one(f"SELECT 1 FROM {table} WHERE id = ?", (ident,)) is not None
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UsageError(f"unknown addressee '{value}'; name a party or a body by its id")
    raise UsageError(f"'{ident}' is both a party and a body; write party:{ident} or body:{ident}")


def check_refs(
    ch: Change,
    parties: Sequence[str],
    focus: str | None,
    leads: tuple[str | None, str | None],
) -> None:
    if not parties:
        raise UsageError("name at least one concerned party with --party")
    for party in parties:
        if ch.tx.one("SELECT 1 FROM party WHERE id = ?", (party,)) is None:
            known = ", ".join(str(r[0]) for r in ch.tx.all("SELECT id FROM party ORDER BY id"))
            raise UsageError(f"unknown party '{party}'; the region's parties: {known}")
    if focus and ch.tx.one("SELECT 1 FROM focus_point WHERE id = ?", (focus,)) is None:
        raise UsageError(f"unknown focus point '{focus}'; see the region config [[focus_points]]")
    for lead in leads:
        if lead and ch.tx.one("SELECT 1 FROM person WHERE id = ?", (lead,)) is None:
            raise UsageError(f"unknown lead '{lead}'; leads are people from the region config")


def check_follow_up(cw: CompiledWorkflow, follow_up: bool) -> None:
    """Only an adoption has a follow-up whose feasibility the concerned parties state
    (rules of conduct, point 7; issue 18: "an adoption with a follow-up")."""
    if follow_up and cw.workflow.purpose != "adoption":
        raise UsageError(
            f"{cw.workflow.purpose} proposals have no follow-up whose feasibility the parties "
            "state; leave out --follow-up (adoption proposals can have one)"
        )
