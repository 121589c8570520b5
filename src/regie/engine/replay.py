"""Replay a proposal from its audit events and compare with what is stored.

Every change of a proposal's state writes exactly one audit event in the same
transaction, so the events alone must give back the stored state, stage, meeting,
route and compare-and-set version, and the decision versions. Used by ``regie check``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from regie.engine.audit import Event
from regie.engine.machine import AWAITING, DECIDED, NOTED, WITHDRAWN, CompiledWorkflow

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
    retracted: set[int] = field(default_factory=set)  # versions withdrawn for a new one


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
        r.retracted |= {d[0] for d in r.decisions}
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
        r.version += 1
        bad = _apply(r, ev, cw)
        if bad:
            findings.append(("event_invalid_move", bad, [ev.proposal_id or "", f"event {ev.id}"]))
    return r, findings


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
            yield (
                "replay_mismatch",
                f"stored {what} {stored!r} but the audit events give {replayed!r}",
                [p.id],
            )
    yield from _compare_decisions(p, r)


def _compare_decisions(p: Stored, r: Replayed) -> Iterator[Finding]:
    versions = [d[0] for d in p.decisions]
    if versions != list(range(1, len(versions) + 1)):
        yield ("decision_versions", f"decision versions {versions} are not 1, 2, 3…", [p.id])
    stored = [(v, outcome, text) for v, outcome, text, _ in p.decisions]
    if stored != r.decisions:
        yield (
            "decision_mismatch",
            f"{len(stored)} decision version(s) stored, the decided/"
            f"amended events give {len(r.decisions)} (or their outcome/text differ)",
            [p.id],
        )
    if set(p.retracted) != r.retracted:
        yield (
            "decision_retraction_mismatch",
            f"versions {sorted(p.retracted)} are marked retracted, the events say "
            f"{sorted(r.retracted)}",
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


@dataclass
class Presence:
    """Attendance and prior positions as their events say (the last event per key wins,
    as each recording replaces the row before it)."""

    attendance: dict[Key, tuple[Any, ...]] = field(default_factory=dict)  # party, status, for
    positions: dict[Key, tuple[Any, ...]] = field(default_factory=dict)  # person, stance, text


def replay_presence(events: list[Event]) -> Presence:
    out = Presence()
    for ev in events:
        pl: dict[str, Any] = ev.payload
        if ev.action == "attendance":
            key = (str(ev.meeting_id), str(pl.get("person")))
            out.attendance[key] = (pl.get("party"), pl.get("status"), pl.get("substitute_for"))
        elif ev.action == "prior_position":
            pos_key = (str(ev.meeting_id), str(ev.proposal_id), str(pl.get("party")))
            out.positions[pos_key] = (pl.get("person"), pl.get("stance"), pl.get("position"))
    return out


def compare_presence(stored: Presence, replayed: Presence) -> Iterator[Finding]:
    """Rows whose party, status, stance or text the events do not give (or rows without
    an event, or events whose row is gone)."""
    tables = (
        ("attendance", stored.attendance, replayed.attendance),
        ("prior_position", stored.positions, replayed.positions),
    )
    for table, rows, events in tables:
        for key in sorted(set(rows) | set(events)):
            if rows.get(key) != events.get(key):
                yield (
                    f"{table}_mismatch",
                    f"{table} {' / '.join(key)}: stored {rows.get(key)!r} but the audit "
                    f"events give {events.get(key)!r}",
                    list(key),
                )
