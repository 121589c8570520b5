"""`regie check`: the rows the audit events describe, column by column (issue 14).

The audit trail is the record; a table row is what its events say now. Each finding names
the table (in its code), the row and the event that gives the value:

* ``proposal_mismatch`` [proposal, event] — title, summary, purpose, table_id,
  focus_point, admin_lead, official_lead, documents and addressee are those of the
  ``submitted`` event; submitted_by/submitted_at are its actor and time; updated_at is
  the time of the proposal's latest state event. (State, stage, meeting, route, workflow
  and version are replayed in :mod:`regie.engine.replay`; concerned parties in
  :mod:`regie.engine.check_governance`.)
* ``decision_mismatch`` [proposal, vN, event] — a version's outcome, text,
  override_reason and dissent are those of its ``decided`` event (an ``amended`` version
  keeps the outcome, override and dissent of the version it amends, its text is the
  ``amended`` event's); meeting_id, recorded_by and recorded_at are the meeting, actor and
  time of the ``decided``/``amended`` event of that version, confirmed_by/confirmed_at
  those of the ``confirmed`` event naming it, retracted_by/retracted_at those of the
  ``decision_retracted`` event that withdrew it (all NULL when there is no such event).
  Versions present on one side only are reported by the replay (``decision_mismatch``
  [proposal]).
* ``workflow_text_mismatch`` [digest] — every ``workflow_version.text`` hashes to its
  ``digest`` (SHA-256 of the UTF-8 text).
* ``attendance_mismatch``, ``prior_position_mismatch`` — attendance and prior positions
  are what their latest events say (:func:`presence_findings`, read a group of meetings
  at a time).
* ``placement_meeting_missing`` [proposal, meeting, event] — every meeting a placement
  event (submitted, advanced, returned, deferred) names (its meeting, payload ``meeting``
  and ``from_meeting``) exists.

Events written before a key entered a payload carry no value for that column: a column is
compared only when its event carries the key (``summary`` entered the ``submitted``
payload with issue 14; ``dissent`` the ``decided`` payload with issue 13), so databases
written before stay clean.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from regie.engine.audit import Event
from regie.engine.replay import (
    PRESENCE_ACTIONS,
    Presence,
    compare_presence,
    replay_presence,
    shown,
)
from regie.engine.storage import Tx, as_datetime

Finding = tuple[str, str, list[str]]  # (code, message, ids), as in replay.py


@dataclass(frozen=True)
class Ev:
    """A state event of a proposal, as far as the tables need it."""

    id: int
    at: datetime | None  # naive UTC
    actor: str
    action: str
    proposal_id: str
    meeting_id: str | None
    payload: dict[str, Any]


Given = dict[str, tuple[Any, Ev]]  # column -> (value the events give, the event giving it)

SUBMITTED = (  # proposal column, key of the `submitted` payload
    ("title", "title"),
    ("summary", "summary"),
    ("purpose", "purpose"),
    ("table_id", "table"),
    ("focus_point", "focus_point"),
    ("admin_lead", "admin_lead"),
    ("official_lead", "official_lead"),
    ("documents", "documents"),
    ("addressee", "addressee"),
    ("follow_up", "follow_up"),  # issue 18 (absent before)
)
PROPOSAL_COLUMNS = (
    "id",
    *(column for column, _ in SUBMITTED),
    "submitted_by",
    "submitted_at",
    "updated_at",
)
DECISION_COLUMNS = (
    "proposal_id",
    "version",
    "meeting_id",
    "outcome",
    "text",
    "override_reason",
    "dissent",
    "recorded_by",
    "recorded_at",
    "confirmed_by",
    "confirmed_at",
    "retracted_by",
    "retracted_at",
)
_TIMES = {"submitted_at", "updated_at", "recorded_at", "confirmed_at", "retracted_at"}
_JSON = {"documents", "dissent"}
_KEPT_BY_AMENDMENT = ("outcome", "override_reason", "dissent")
PLACING = ("submitted", "advanced", "returned", "deferred")


def event_of(row: tuple[Any, ...], payload: dict[str, Any]) -> Ev:
    """An Ev from (id, at, actor, action, proposal_id, meeting_id) and its parsed payload."""
    ev_id, at, actor, action, pid, meeting_id = row
    return Ev(int(ev_id), as_datetime(at), actor, action, pid or "", meeting_id, payload)


def _value(column: str, value: Any) -> Any:
    """A stored or given value in one form: times as naive UTC, JSON text parsed."""
    if column in _TIMES:
        return as_datetime(value)
    if column in _JSON and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # not JSON: differs from any value an event gives
    return value


def _differences(stored: dict[str, Any], given: Given) -> Iterator[tuple[str, Any, Any, Ev]]:
    for column, (value, ev) in given.items():
        if _value(column, stored[column]) != _value(column, value):
            yield column, stored[column], value, ev


def _says(ev: Ev, column: str, stored: Any, value: Any) -> str:
    return (
        f"stored {column} {shown(_value(column, stored))} but event {ev.id} ({ev.action}) "
        f"gives {shown(_value(column, value))}"
    )


# -- proposals ---------------------------------------------------------------------------------


def proposal_given(events: list[Ev]) -> Given:
    """The proposal columns its events give (empty without a ``submitted`` event)."""
    submitted = next((ev for ev in events if ev.action == "submitted"), None)
    if submitted is None:
        return {}  # reported by the replay (proposal_without_events)
    pl = submitted.payload
    given: Given = {column: (pl[key], submitted) for column, key in SUBMITTED if key in pl}
    given["submitted_by"] = (submitted.actor, submitted)
    given["submitted_at"] = (submitted.at, submitted)
    given["updated_at"] = (events[-1].at, events[-1])  # every state event writes the row
    return given


def proposal_findings(stored: dict[str, Any], events: list[Ev]) -> Iterator[Finding]:
    pid = str(stored["id"])
    for column, was, value, ev in _differences(stored, proposal_given(events)):
        yield (
            "proposal_mismatch",
            f"proposal {pid}: {_says(ev, column, was, value)}",
            [pid, f"event {ev.id}"],
        )


# -- decisions ---------------------------------------------------------------------------------


def _recorded(ev: Ev, values: dict[str, Any]) -> Given:
    given: Given = {column: (value, ev) for column, value in values.items()}
    given["meeting_id"] = (ev.meeting_id, ev)
    given["recorded_by"] = (ev.actor, ev)
    given["recorded_at"] = (ev.at, ev)
    for column in ("confirmed_by", "confirmed_at", "retracted_by", "retracted_at"):
        given[column] = (None, ev)
    return given


def decision_given(events: list[Ev]) -> dict[int, Given]:
    """Each decision version of one proposal as its events give it."""
    versions: dict[int, Given] = {}
    for ev in events:
        pl = ev.payload
        if ev.action == "decided" and "version" in pl:
            values = {"outcome": pl.get("outcome"), "text": pl.get("text")}
            values.update({c: pl[k] for c, k in (("override_reason", "override"),
                                                 ("dissent", "dissent")) if k in pl})  # fmt: skip
            versions[int(pl["version"])] = _recorded(ev, values)
        elif ev.action == "amended" and "version" in pl:
            amended = versions[max(versions)] if versions else {}
            kept = {c: amended[c] for c in _KEPT_BY_AMENDMENT if c in amended}
            versions[int(pl["version"])] = {**kept, **_recorded(ev, {"text": pl.get("text")})}
        elif ev.action == "confirmed" and int(pl.get("version", 0)) in versions:
            given = versions[int(pl["version"])]
            given["confirmed_by"], given["confirmed_at"] = (ev.actor, ev), (ev.at, ev)
        elif ev.action == "decision_retracted":
            for given in versions.values():
                if given["retracted_by"][0] is None:  # still standing: withdrawn now
                    given["retracted_by"], given["retracted_at"] = (ev.actor, ev), (ev.at, ev)
    return versions


def decision_findings(pid: str, rows: list[tuple[Any, ...]], events: list[Ev]) -> Iterator[Finding]:
    """The decision rows of one proposal (DECISION_COLUMNS, by version) against its events."""
    replayed: dict[int, Given] | None = None
    for row in rows:
        stored = dict(zip(DECISION_COLUMNS, row, strict=True))
        version = int(stored["version"])
        if replayed is None:
            replayed = decision_given(events)
        given = replayed.get(version)
        if given is None:
            continue  # a version without its event: reported by the replay
        for column, was, value, ev in _differences(stored, given):
            yield (
                "decision_mismatch",
                f"decision {pid} v{version}: {_says(ev, column, was, value)}",
                [pid, f"v{version}", f"event {ev.id}"],
            )


# -- workflow texts and placements -------------------------------------------------------------


def workflow_text_findings(tx: Tx) -> Iterator[Finding]:
    for digest, text in tx.all("SELECT digest, text FROM workflow_version ORDER BY digest"):
        actual = hashlib.sha256(str(text).encode("utf-8")).hexdigest()
        if actual != digest:
            yield (
                "workflow_text_mismatch",
                f"workflow_version {digest[:12]}: its text hashes to {actual[:12]}, not to its "
                "digest (the text was changed)",
                [str(digest)],
            )


def meeting_ids(tx: Tx) -> set[str]:
    return {str(r[0]) for r in tx.all("SELECT id FROM meeting")}


def placement_findings(pid: str, events: list[Ev], meetings: set[str]) -> Iterator[Finding]:
    """Every meeting the placement events of one proposal (or orphan id) name exists."""
    for ev in events:
        if ev.action not in PLACING:
            continue
        named = (ev.meeting_id, ev.payload.get("meeting"), ev.payload.get("from_meeting"))
        for meeting in dict.fromkeys(str(m) for m in named if m):
            if meeting not in meetings:
                yield (
                    "placement_meeting_missing",
                    f"event {ev.id} ({ev.action}) of {pid or '(none)'} names meeting "
                    f"{meeting}, which does not exist",
                    [pid, meeting, f"event {ev.id}"],
                )


# -- attendance and prior positions ----------------------------------------------------------

PRESENCE_BATCH = 20_000  # attendance and prior-position rows and events at a time


def presence_findings(tx: Tx) -> list[Finding]:
    """Attendance and prior positions follow from their audit events
    (:func:`regie.engine.replay.compare_presence`).

    Both are keyed by meeting first, so they are read a group of meetings at a time (up to
    PRESENCE_BATCH rows and events, groups in order of meeting id): memory does not grow
    with the trail, and the findings come in order of key, attendance first, as from one
    comparison of everything."""
    found: dict[bool, list[Finding]] = {True: [], False: []}  # attendance?
    for group in _meeting_groups(tx):
        ids = [m for m in group if m is not None]
        marks = ", ".join("?" for _ in ids) or "NULL"
        events = [
            Event(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), "", "")
            for r in tx.all(
                "SELECT id, at, actor, acting_for, action, proposal_id, meeting_id, payload "
                f"FROM audit_event WHERE action IN ({', '.join('?' for _ in PRESENCE_ACTIONS)}) "
                f"AND (meeting_id IN ({marks}){' OR meeting_id IS NULL' if None in group else ''}"
                ") ORDER BY id",
                (*PRESENCE_ACTIONS, *ids),
            )
        ]
        stored = Presence(
            {
                (str(r[0]), str(r[1])): (r[2], r[3], r[4], r[5], as_datetime(r[6]))
                for r in tx.all(
                    "SELECT meeting_id, person_id, party_id, status, substitute_for, "
                    f"recorded_by, recorded_at FROM attendance WHERE meeting_id IN ({marks})",
                    ids,
                )
            },
            {
                (str(r[0]), str(r[1]), str(r[2])): (r[3], r[4], r[5], as_datetime(r[6]))
                for r in tx.all(
                    "SELECT meeting_id, proposal_id, party_id, person_id, stance, position, "
                    f"recorded_at FROM prior_position WHERE meeting_id IN ({marks})",
                    ids,
                )
            },
        )
        for finding in compare_presence(stored, replay_presence(events)):
            found[finding[0].startswith("attendance")].append(finding)
    return [*found[True], *found[False]]


def _meeting_groups(tx: Tx) -> Iterator[list[str | None]]:
    """The meeting ids attendance, prior positions or their events name, in groups of
    consecutive ids (as the findings sort them: as text) of up to PRESENCE_BATCH rows and
    events, or 500 meetings."""
    sizes: dict[str, dict[str | None, int]] = defaultdict(dict)  # str(id) -> raw id -> rows
    for sql, params in (
        ("SELECT meeting_id, COUNT(*) FROM attendance GROUP BY meeting_id", ()),
        ("SELECT meeting_id, COUNT(*) FROM prior_position GROUP BY meeting_id", ()),
        (
            "SELECT meeting_id, COUNT(*) FROM audit_event WHERE action IN "
            f"({', '.join('?' for _ in PRESENCE_ACTIONS)}) GROUP BY meeting_id",
            PRESENCE_ACTIONS,
        ),
    ):
        for meeting, count in tx.all(sql, params):
            raw = None if meeting is None else str(meeting)
            mine = sizes[str(meeting)]
            mine[raw] = mine.get(raw, 0) + int(count)
    group: list[str | None] = []
    weight = 0
    for _text, raw_ids in sorted(sizes.items()):
        size = sum(raw_ids.values())
        if group and (weight + size > PRESENCE_BATCH or len(group) >= 500):
            yield group
            group, weight = [], 0
        group.extend(raw_ids)
        weight += size
    if group:
        yield group
