"""Replay a proposal from its audit events and compare with what is stored.

Every change of a proposal's state writes exactly one audit event in the same
transaction, so the events alone must give back the stored state, stage, meeting,
route and compare-and-set version, and the decision versions; a ``replay_mismatch`` names
the proposal and the event that last gave the value. The columns of the decision rows are
compared in :mod:`regie.engine.check_tables`. Used by ``regie check``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from regie.engine.audit import Event
from regie.engine.machine import AWAITING, DECIDED, NOTED, WITHDRAWN, CompiledWorkflow
from regie.engine.storage import as_datetime

STATE_ACTIONS = (
    "submitted",
    "route_set",
    "advanced",
    "returned",
    "deferred",
    "withdrawn",
    "decided",
    "noted",
    "amended",
    "confirmed",
    "decision_retracted",
)
_MOVE_OF = {
    "advanced": "advance",
    "returned": "return",
    "deferred": "defer",
    "withdrawn": "withdraw",
    "decided": "decide",
    "noted": "decide",
    "amended": "amend",
    "confirmed": "confirm",
    "decision_retracted": "retract",
}

Finding = tuple[str, str, list[str]]  # (code, message, ids)


def shown(value: Any, limit: int = 60) -> str:
    """A stored or replayed value as a finding shows it (times in ISO form, long text cut)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Replayed:
    """What the events say a proposal should look like now."""

    state: str = ""
    stage: str = ""
    meeting_id: str | None = None
    route: list[str] = field(default_factory=list)
    version: int = 0
    workflow: str | None = None
    decisions: list[tuple[int, str, str]] = field(default_factory=list)  # version, outcome, text
    confirmed_version: int | None = None
    source: dict[str, int] = field(default_factory=dict)  # field -> event that last set it


@dataclass(frozen=True)
class Stored:
    """A proposal as stored, with its decision rows (version, outcome, text, confirmed_by)."""

    id: str
    workflow_digest: str
    route: list[str]
    stage: str
    state: str
    meeting_id: str | None
    version: int
    decisions: list[tuple[int, str, str, str | None]]
    retracted: frozenset[int] = frozenset()


def _apply(r: Replayed, ev: Event, cw: CompiledWorkflow | None) -> str | None:
    """Apply one event; returns a problem text when the move was not allowed."""
    pl: dict[str, Any] = ev.payload
    action = ev.action
    if action == "submitted":
        r.state = r.stage = cw.workflow.start if cw else r.state
        r.meeting_id, r.route, r.workflow = (
            ev.meeting_id,
            list(pl.get("route", [])),
            pl.get("workflow"),
        )
    elif action == "route_set":
        r.route = list(pl.get("route", []))
    elif action in ("advanced", "returned"):
        return _move(r, cw, action, str(pl.get("to")), pl.get("meeting"))
    elif action == "deferred":
        return _move(r, cw, action, None, pl.get("meeting"))
    elif action == "withdrawn":
        bad = _move(r, cw, action, None, None)
        r.meeting_id = None
        return bad
    elif action == "decided":
        r.decisions.append((int(pl.get("version", 1)), str(pl.get("outcome")), str(pl.get("text"))))
        return _move(r, cw, action, None, ev.meeting_id)
    elif action == "amended":
        outcome = r.decisions[-1][1] if r.decisions else ""
        r.decisions.append((int(pl.get("version", 0)), outcome, str(pl.get("text"))))
        return _move(r, cw, action, None, r.meeting_id)
    elif action == "confirmed":
        r.confirmed_version = int(pl.get("version", 0))
        return _move(r, cw, action, None, r.meeting_id)
    elif action == "noted":
        return _move(r, cw, action, None, ev.meeting_id)
    elif action == "decision_retracted":
        return _move(r, cw, action, str(pl.get("to")), r.meeting_id)
    return None


def _move(
    r: Replayed, cw: CompiledWorkflow | None, action: str, target: str | None, meeting: Any
) -> str | None:
    before = r.state
    after = cw.fire(before, _MOVE_OF[action], target) if cw else None
    if action in ("advanced", "returned"):
        r.state = r.stage = str(target)
    elif action == "decision_retracted":
        r.state = str(target)
    elif action == "noted":
        r.state = NOTED
    elif action == "withdrawn":
        r.state = WITHDRAWN
    elif action in ("decided", "amended"):
        r.state = AWAITING
    elif action == "confirmed":
        r.state = DECIDED
    r.meeting_id = meeting
    if cw is not None and after is None:
        return f"event '{action}' is not a move its workflow allows from state '{before}'"
    return None


def replay(events: list[Event], cw: CompiledWorkflow | None) -> tuple[Replayed, list[Finding]]:
    r = Replayed()
    findings: list[Finding] = []
    for ev in events:
        if ev.action not in STATE_ACTIONS:
            continue
        if r.version == 0 and ev.action != "submitted":
            findings.append(
                (
                    "event_before_submit",
                    f"event '{ev.action}' comes before 'submitted'",
                    [ev.proposal_id or "", f"event {ev.id}"],
                )
            )
        elif r.version > 0 and ev.action == "submitted":
            findings.append(
                (
                    "duplicate_submit",
                    "a second 'submitted' event",
                    [ev.proposal_id or "", f"event {ev.id}"],
                )
            )
        before = _fields(r)
        r.version += 1
        bad = _apply(r, ev, cw)
        _note_source(r, before, ev.id)
        if bad:
            findings.append(("event_invalid_move", bad, [ev.proposal_id or "", f"event {ev.id}"]))
    return r, findings


def _fields(r: Replayed) -> dict[str, Any]:
    return {
        "state": r.state,
        "stage": r.stage,
        "meeting": r.meeting_id,
        "route": list(r.route),
        "version": r.version,
        "workflow": r.workflow,
    }


def _note_source(r: Replayed, before: dict[str, Any], event_id: int) -> None:
    for name, value in _fields(r).items():
        if name not in r.source or before[name] != value:
            r.source[name] = event_id


def compare(p: Stored, r: Replayed) -> Iterator[Finding]:
    """Differences between the stored proposal and its replay from the events."""
    if r.version == 0:
        yield ("proposal_without_events", "the proposal has no 'submitted' event", [p.id])
        return
    pairs = (
        ("state", p.state, r.state),
        ("stage", p.stage, r.stage),
        ("meeting", p.meeting_id, r.meeting_id),
        ("route", p.route, r.route),
        ("version", p.version, r.version),
        ("workflow", p.workflow_digest, r.workflow),
    )
    for what, stored, replayed in pairs:
        if stored != replayed:
            event = r.source.get(what)
            yield (
                "replay_mismatch",
                f"proposal {p.id}: stored {what} {stored!r} but the audit events give "
                f"{replayed!r} (event {event})",
                [p.id, f"event {event}"],
            )
    yield from _compare_decisions(p, r)


def _compare_decisions(p: Stored, r: Replayed) -> Iterator[Finding]:
    versions = [d[0] for d in p.decisions]
    if versions != list(range(1, len(versions) + 1)):
        yield ("decision_versions", f"decision versions {versions} are not 1, 2, 3…", [p.id])
    replayed = [d[0] for d in r.decisions]
    if versions != replayed:  # the columns of each version: check_tables
        yield (
            "decision_mismatch",
            f"decision versions {versions} stored, the decided/amended events give {replayed}",
            [p.id],
        )
    standing = [d for d in p.decisions if d[0] not in p.retracted]
    if p.state in (AWAITING, DECIDED) and not standing:
        yield ("decision_missing", f"state '{p.state}' but no decision is recorded", [p.id])
        return
    if p.state not in (AWAITING, DECIDED) and standing:
        yield ("decision_unexpected", f"state '{p.state}' but a decision is recorded", [p.id])
    confirmed = [v for v, _, _, by in p.decisions if by]
    if p.state == DECIDED:
        latest = versions[-1]
        if confirmed != [latest] or r.confirmed_version != latest:
            yield (
                "decision_unconfirmed",
                f"decided, but version {latest} is not (only) the "
                f"confirmed one (confirmed: {confirmed or 'none'})",
                [p.id, f"v{latest}"],
            )
    elif confirmed:
        yield (
            "decision_confirmed_early",
            f"state '{p.state}' but version(s) {confirmed} carry a confirmation",
            [p.id],
        )


# -- attendance and prior positions ---------------------------------------------------------

PRESENCE_ACTIONS = ("attendance", "prior_position")
Key = tuple[str, ...]  # attendance: meeting, person; prior position: meeting, proposal, party
ATTENDANCE_COLUMNS = ("party_id", "status", "substitute_for", "recorded_by", "recorded_at")
POSITION_COLUMNS = ("person_id", "stance", "position", "recorded_at")


@dataclass
class Presence:
    """Attendance and prior positions as their events say (the last event per key wins,
    as each recording replaces the row before it): rows of ATTENDANCE_COLUMNS and
    POSITION_COLUMNS (times as naive UTC), and the event that gives each row."""

    attendance: dict[Key, tuple[Any, ...]] = field(default_factory=dict)
    positions: dict[Key, tuple[Any, ...]] = field(default_factory=dict)
    events: dict[tuple[str, Key], int] = field(default_factory=dict)  # (table, key) -> event


def replay_presence(events: list[Event]) -> Presence:
    out = Presence()
    for ev in events:
        pl: dict[str, Any] = ev.payload
        if ev.action == "attendance":
            key = (str(ev.meeting_id), str(pl.get("person")))
            out.attendance[key] = (pl.get("party"), pl.get("status"), pl.get("substitute_for"),
                                   ev.actor, as_datetime(ev.at))  # fmt: skip
            out.events["attendance", key] = ev.id
        elif ev.action == "prior_position":
            pos_key = (str(ev.meeting_id), str(ev.proposal_id), str(pl.get("party")))
            out.positions[pos_key] = (pl.get("person"), pl.get("stance"), pl.get("position"),
                                      as_datetime(ev.at))  # fmt: skip
            out.events["prior_position", pos_key] = ev.id
    return out


def compare_presence(stored: Presence, replayed: Presence) -> Iterator[Finding]:
    """Rows whose columns the events do not give (recorded_by/recorded_at: the actor and
    time of the event), rows without an event, events whose row is gone."""
    tables = (
        ("attendance", ATTENDANCE_COLUMNS, stored.attendance, replayed.attendance),
        ("prior_position", POSITION_COLUMNS, stored.positions, replayed.positions),
    )
    for table, columns, rows, given in tables:
        for key in sorted(set(rows) | set(given)):
            row, value = rows.get(key), given.get(key)
            if row != value:
                event = replayed.events.get((table, key))
                yield (
                    f"{table}_mismatch",
                    f"{table} {' / '.join(key)}: {_difference(columns, row, value, event)}",
                    list(key),
                )


def _difference(
    columns: tuple[str, ...], row: tuple[Any, ...] | None, value: tuple[Any, ...] | None,
    event: int | None,
) -> str:  # fmt: skip
    if value is None:
        return "a row that no audit event gives"
    if row is None:
        return f"no row, but event {event} gives one"
    differ = [i for i, column in enumerate(columns) if row[i] != value[i]]
    return (
        f"stored {', '.join(f'{columns[i]} {shown(row[i])}' for i in differ)} but event "
        f"{event} gives {', '.join(shown(value[i]) for i in differ)}"
    )
