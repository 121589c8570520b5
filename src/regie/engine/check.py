"""`regie check`: is this database whole and consistent? (like ``git fsck``)

Checks, in order:

1. storage (SQLite): ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``;
   on PostgreSQL the server keeps pages and foreign keys itself (noted, not checked);
2. the audit hash chain (:func:`regie.engine.audit.verify`);
3. every proposal follows a stored workflow version and its state and stage are
   states of that version;
4. replay: each proposal's state, stage, meeting, route and version follow from its
   audit events (one event per change, no change without its event, no event without its
   proposal), every event is a move its workflow allows, and the decision versions match
   the decided/amended/confirmed events (a decided proposal's latest version is confirmed);
   attendance (party, status, substitute, recorded_by/at) and prior positions (person,
   stance, text, recorded_at) are what their latest ``attendance``/``prior_position``
   events say;
5. tables (:mod:`regie.engine.check_tables`): every column of a proposal (title, summary,
   purpose, table, focus point, leads, documents, addressee, submitted/updated by and at)
   and of a decision version (meeting, outcome, text, override, dissent, recorded,
   confirmed and retracted by and at) is what its events give; each workflow text hashes
   to its digest; the meetings placement events name exist. A column is compared only
   when its event carries the key, so databases written before a key existed stay clean;
6. references: no audit event (so no agenda placement), attendance, prior position,
   decision or proposal points to a missing meeting or proposal;
7. outbox (when the table exists): every row belongs to an audit event;
8. governance (:mod:`regie.engine.check_governance`): routes set by the routing body at
   its meeting, top-meeting decisions on the agenda it approved, concerned parties as
   their events give them.

Each finding names its table (in the code), the row and, where an event gives the value,
that event (``event N``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect

from regie.engine import audit
from regie.engine.check_governance import PARTY_ACTIONS, governance_findings, parties_findings
from regie.engine.check_tables import (
    DECISION_COLUMNS,
    PROPOSAL_COLUMNS,
    Ev,
    decision_findings,
    event_of,
    meeting_ids,
    placement_findings,
    presence_findings,
    proposal_findings,
    workflow_text_findings,
)
from regie.engine.machine import CompiledWorkflow
from regie.engine.replay import STATE_ACTIONS, Finding, Stored, compare, replay
from regie.engine.repository import workflow_for
from regie.engine.storage import Database, Tx, storage_errors
from regie.errors import RegieError


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    ids: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "ids": self.ids}

    def __str__(self) -> str:
        ids = f" [{', '.join(self.ids)}]" if self.ids else ""
        return f"{self.code}: {self.message}{ids}"


@dataclass
class CheckReport:
    database: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    proposals: int = 0
    events: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, code: str, message: str, ids: list[str] | None = None) -> None:
        self.problems.append(Problem(code, message, ids or []))

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "ok": self.ok,
            "proposals": self.proposals,
            "events": self.events,
            "problems": [p.as_dict() for p in self.problems],
            "notes": self.notes,
        }


CHUNK = 1000  # proposals read at a time, with their events, decisions and parties


def work_units(db: Database) -> int:
    """The steps :func:`check_database` reports to ``progress``: events, then proposals."""
    with db.session(write=False) as session:
        tx = Tx(session)
        return int(tx.scalar("SELECT COUNT(*) FROM audit_event") or 0) + int(
            tx.scalar("SELECT COUNT(*) FROM proposal") or 0
        )


def check_database(*, db: Database, progress: Callable[[int], None] | None = None) -> CheckReport:
    """Run every check; the database is only read.

    Memory does not grow with the number of proposals: they are read ``CHUNK`` at a time
    with their events, decisions and parties. ``progress(n)`` is called as events of the
    chain and then proposals are done (:func:`work_units` in all)."""
    report = CheckReport(database=db.path or "(server)")
    with db.session(write=False) as session:
        tx = Tx(session)
        _storage(tx, db, report)
        chain = audit.verify(session, progress)
        report.events = chain.events
        if not chain.ok:
            report.add(
                "audit_chain",
                f"the hash chain is broken: {chain.problem}",
                [f"event {chain.bad_event}"],
            )
        later = _Later()
        _proposals(tx, report, later, progress)
        _presence(tx, report)
        _add(report, later.proposal_rows)
        _add(report, _by_id(later.decisions))
        _add(report, workflow_text_findings(tx))
        _add(report, _by_id(later.placements))
        _references(tx, report)
        _outbox(tx, db, report)
        _add(report, governance_findings(tx, _by_id(later.parties)))
    return report


@dataclass
class _Later:
    """Findings of the proposal pass that are reported after other checks (in their order)."""

    proposal_rows: list[Finding] = field(default_factory=list)
    decisions: list[tuple[str, Finding]] = field(default_factory=list)  # (proposal id, …)
    placements: list[tuple[str, Finding]] = field(default_factory=list)
    parties: list[tuple[str, Finding]] = field(default_factory=list)


def _by_id(found: list[tuple[str, Finding]]) -> list[Finding]:
    return [finding for _pid, finding in sorted(found, key=lambda f: f[0])]


def _storage(tx: Tx, db: Database, report: CheckReport) -> None:
    if not db.is_sqlite:
        report.notes.append(
            "PostgreSQL: page integrity and foreign keys are enforced by the "
            "server; not checked here"
        )
        return
    with storage_errors(db):
        rows = [str(r[0]) for r in tx.all("PRAGMA integrity_check")]
    if rows != ["ok"]:
        for line in rows[:20]:
            report.add("integrity", line)
    for table, rowid, parent, _fk in tx.all("PRAGMA foreign_key_check"):
        report.add(
            "foreign_key",
            f"a row of {table} points to a missing {parent} row",
            [f"{table} rowid {rowid}"],
        )


_EVENT = "id, at, actor, acting_for, action, proposal_id, meeting_id, payload, prev_hash, hash"
_ACTIONS = (*STATE_ACTIONS, *(a for a in PARTY_ACTIONS if a not in STATE_ACTIONS))
_PROPOSAL = ("workflow_digest", "route", "stage", "state", "meeting_id", "version")


@dataclass
class _Events:
    """The state and party events of one proposal id, in order of id."""

    state: list[audit.Event] = field(default_factory=list)
    tables: list[Ev] = field(default_factory=list)
    parties: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, row: tuple[Any, ...]) -> None:
        payload = json.loads(row[7])
        action = row[4]
        if action in STATE_ACTIONS:
            self.state.append(
                audit.Event(
                    int(row[0]),
                    row[1],
                    row[2],
                    row[3],
                    action,
                    row[5],
                    row[6],
                    payload,
                    row[8],
                    row[9],
                )
            )
            self.tables.append(event_of((row[0], row[1], row[2], action, row[5], row[6]), payload))
        if action in PARTY_ACTIONS:
            self.parties.append((int(row[0]), action, payload))


def _grouped(rows: list[tuple[Any, ...]]) -> dict[str, _Events]:
    found: dict[str, _Events] = defaultdict(_Events)
    for row in rows:
        found[row[5] or ""].add(row)
    return found


def _in_range(tx: Tx, sql: str, lo: str, hi: str) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of ``sql`` (its first column the proposal id) for ids from lo to hi."""
    found: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in tx.all(sql, (lo, hi)):
        found[row[0]].append(row)
    return found


def _chunks(tx: Tx) -> Iterator[list[tuple[Any, ...]]]:
    """The proposals (id, _PROPOSAL, PROPOSAL_COLUMNS without id) in order of id."""
    columns = ", ".join(("id", *_PROPOSAL, *PROPOSAL_COLUMNS[1:]))
    last: str | None = None
    while True:
        where, params = ("WHERE id > ? ", (last,)) if last is not None else ("", ())
        rows = tx.all(f"SELECT {columns} FROM proposal {where}ORDER BY id LIMIT {CHUNK}", params)
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _proposals(
    tx: Tx, report: CheckReport, later: _Later, progress: Callable[[int], None] | None
) -> None:
    actions = ", ".join(f"'{a}'" for a in _ACTIONS)
    meetings = meeting_ids(tx)
    for rows in _chunks(tx):
        lo, hi = rows[0][0], rows[-1][0]
        events = _grouped(
            tx.all(
                f"SELECT {_EVENT} FROM audit_event WHERE proposal_id >= ? AND proposal_id <= ? "
                f"AND action IN ({actions}) ORDER BY id",
                (lo, hi),
            )
        )
        decisions = _in_range(
            tx,
            f"SELECT {', '.join(DECISION_COLUMNS)} FROM decision "
            "WHERE proposal_id >= ? AND proposal_id <= ? ORDER BY proposal_id, version",
            lo,
            hi,
        )
        parties = _in_range(
            tx,
            "SELECT proposal_id, party_id FROM proposal_party "
            "WHERE proposal_id >= ? AND proposal_id <= ?",
            lo,
            hi,
        )
        for row in rows:
            _proposal(tx, report, later, meetings, row, events, decisions, parties)
        if progress is not None:
            progress(len(rows))
    _orphans(tx, report, later, meetings, actions)


def _proposal(
    tx: Tx,
    report: CheckReport,
    later: _Later,
    meetings: set[str],
    row: tuple[Any, ...],
    events: dict[str, _Events],
    decisions: dict[str, list[tuple[Any, ...]]],
    parties: dict[str, list[tuple[Any, ...]]],
) -> None:
    pid = row[0]
    mine = events.get(pid) or _Events()
    versions = decisions.get(pid, [])
    p = Stored(
        pid,
        row[1],
        json.loads(row[2]),
        row[3],
        row[4],
        row[5],
        int(row[6]),
        [(int(d[1]), d[3], d[4], d[9]) for d in versions],  # version, outcome, text, by
        frozenset(int(d[1]) for d in versions if d[12] is not None),  # retracted_at
    )
    report.proposals += 1
    cw = _workflow(tx, p, report)
    replayed, findings = replay(mine.state, cw)
    _add(report, findings)
    _add(report, compare(p, replayed))
    stored = dict(zip(PROPOSAL_COLUMNS, (pid, *row[1 + len(_PROPOSAL) :]), strict=True))
    later.proposal_rows.extend(proposal_findings(stored, mine.tables))
    later.decisions.extend((pid, f) for f in decision_findings(pid, versions, mine.tables))
    later.placements.extend((pid, f) for f in placement_findings(pid, mine.tables, meetings))
    held = {str(r[1]) for r in parties.get(pid, [])}
    later.parties.extend((pid, f) for f in parties_findings(pid, mine.parties, held))


def _orphans(tx: Tx, report: CheckReport, later: _Later, meetings: set[str], actions: str) -> None:
    """Events (and decision rows) that name no existing proposal."""
    events = _grouped(
        tx.all(
            f"SELECT {', '.join('e.' + c for c in _EVENT.split(', '))} FROM audit_event e "
            f"LEFT JOIN proposal p ON p.id = e.proposal_id WHERE p.id IS NULL "
            f"AND e.action IN ({actions}) ORDER BY e.id"
        )
    )
    decisions: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in tx.all(
        f"SELECT {', '.join('d.' + c for c in DECISION_COLUMNS)} FROM decision d "
        "LEFT JOIN proposal p ON p.id = d.proposal_id WHERE p.id IS NULL "
        "ORDER BY d.proposal_id, d.version"
    ):
        decisions[str(row[0])].append(row)
    for pid, rows in decisions.items():
        mine = events.get(pid) or _Events()
        later.decisions.extend((pid, f) for f in decision_findings(pid, rows, mine.tables))
    for pid, orphans in sorted(events.items()):
        later.placements.extend((pid, f) for f in placement_findings(pid, orphans.tables, meetings))
        if orphans.state:
            report.add(
                "event_without_proposal",
                f"{len(orphans.state)} state-change event(s) name a proposal that does not exist",
                [pid or "(none)", *_event_ids(orphans.state)],
            )


def _workflow(tx: Tx, p: Stored, report: CheckReport) -> CompiledWorkflow | None:
    try:
        cw = workflow_for(tx, p.workflow_digest)
    except RegieError as exc:
        report.add(
            "workflow_missing", f"follows a workflow version that is not stored ({exc})", [p.id]
        )
        return None
    if p.state not in cw.states:
        report.add(
            "state_unknown",
            f"state '{p.state}' is not a state of its workflow "
            f"({cw.workflow.purpose} {p.workflow_digest[:12]})",
            [p.id],
        )
    if p.stage not in [s.id for s in cw.workflow.stages]:
        report.add("stage_unknown", f"stage '{p.stage}' is not a stage of its workflow", [p.id])
    return cw


def _event_ids(events: list[audit.Event]) -> list[str]:
    return [f"event {ev.id}" for ev in events[:10]]


def _add(report: CheckReport, findings: Any) -> None:
    for code, message, ids in findings:
        report.add(code, message, ids)


def _presence(tx: Tx, report: CheckReport) -> None:
    """Attendance and prior positions follow from their audit events."""
    _add(report, presence_findings(tx))


_REFERENCES = (
    ("audit_event", "id", "meeting_id", "meeting"),
    ("attendance", "person_id", "meeting_id", "meeting"),
    ("prior_position", "party_id", "meeting_id", "meeting"),
    ("prior_position", "party_id", "proposal_id", "proposal"),
    ("decision", "version", "meeting_id", "meeting"),
    ("decision", "version", "proposal_id", "proposal"),
    ("proposal", "id", "meeting_id", "meeting"),
    ("proposal_party", "party_id", "proposal_id", "proposal"),
)


def _references(tx: Tx, report: CheckReport) -> None:
    """Dangling references, checked with joins (works where foreign keys were off)."""
    for table, key, column, target in _REFERENCES:
        rows = tx.all(
            f"SELECT t.{key}, t.{column} FROM {table} t LEFT JOIN {target} x "
            f"ON x.id = t.{column} WHERE t.{column} IS NOT NULL AND x.id IS NULL"
        )
        for ident, missing in rows:
            report.add(
                "dangling_reference",
                f"{table} row ({key} {ident}) points to missing {target} {missing}",
                [str(missing)],
            )


def _outbox(tx: Tx, db: Database, report: CheckReport) -> None:
    if not inspect(db.engine.execution_options(regie_read=True)).has_table("outbox"):
        report.notes.append("no outbox table in this database: outbox not checked")
        return
    rows = tx.all(
        "SELECT o.id, o.event_id FROM outbox o LEFT JOIN audit_event e ON e.id = o.event_id "
        "WHERE e.id IS NULL ORDER BY o.id"
    )
    for oid, event_id in rows:
        report.add(
            "outbox_orphan",
            f"outbox row {oid} belongs to event {event_id}, which does not exist",
            [f"outbox {oid}", f"event {event_id}"],
        )
