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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect

from regie.engine import audit
from regie.engine.check_governance import governance_findings
from regie.engine.check_tables import table_findings
from regie.engine.machine import CompiledWorkflow
from regie.engine.replay import (
    PRESENCE_ACTIONS,
    STATE_ACTIONS,
    Presence,
    Stored,
    compare,
    compare_presence,
    replay,
    replay_presence,
)
from regie.engine.repository import workflow_for
from regie.engine.storage import Database, Tx, as_datetime, storage_errors
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


def check_database(*, db: Database) -> CheckReport:
    """Run every check; the database is only read."""
    report = CheckReport(database=db.path or "(server)")
    with db.session(write=False) as session:
        tx = Tx(session)
        _storage(tx, db, report)
        chain = audit.verify(session)
        report.events = chain.events
        if not chain.ok:
            report.add(
                "audit_chain",
                f"the hash chain is broken: {chain.problem}",
                [f"event {chain.bad_event}"],
            )
        _proposals(tx, report)
        _presence(tx, report)
        _add(report, table_findings(tx))
        _references(tx, report)
        _outbox(tx, db, report)
        _add(report, governance_findings(tx))
    return report


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


def _events_by_proposal(tx: Tx) -> dict[str, list[audit.Event]]:
    found: dict[str, list[audit.Event]] = defaultdict(list)
    actions = ", ".join(f"'{a}'" for a in STATE_ACTIONS)
    rows = tx.all(
        "SELECT id, at, actor, acting_for, action, proposal_id, meeting_id, payload, prev_hash, "
        f"hash FROM audit_event WHERE action IN ({actions}) ORDER BY id"
    )
    for row in rows:
        ev = audit.Event(
            int(row[0]),
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            json.loads(row[7]),
            row[8],
            row[9],
        )
        found[ev.proposal_id or ""].append(ev)
    return found


def _stored(tx: Tx) -> Iterator[Stored]:
    decisions: dict[str, list[tuple[int, str, str, str | None]]] = defaultdict(list)
    retracted: dict[str, set[int]] = defaultdict(set)
    for pid, version, outcome, text, by, gone in tx.all(
        "SELECT proposal_id, version, outcome, text, confirmed_by, retracted_at FROM decision "
        "ORDER BY proposal_id, version"
    ):
        decisions[pid].append((int(version), outcome, text, by))
        if gone is not None:
            retracted[pid].add(int(version))
    for row in tx.all(
        "SELECT id, workflow_digest, route, stage, state, meeting_id, version FROM proposal "
        "ORDER BY id"
    ):
        yield Stored(
            row[0],
            row[1],
            json.loads(row[2]),
            row[3],
            row[4],
            row[5],
            int(row[6]),
            decisions.get(row[0], []),
            frozenset(retracted.get(row[0], ())),
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


def _proposals(tx: Tx, report: CheckReport) -> None:
    events = _events_by_proposal(tx)
    for p in _stored(tx):
        report.proposals += 1
        cw = _workflow(tx, p, report)
        replayed, findings = replay(events.pop(p.id, []), cw)
        _add(report, findings)
        _add(report, compare(p, replayed))
    for pid, orphans in sorted(events.items()):
        report.add(
            "event_without_proposal",
            f"{len(orphans)} state-change event(s) name a proposal that does not exist",
            [pid or "(none)", *_event_ids(orphans)],
        )


def _event_ids(events: list[audit.Event]) -> list[str]:
    return [f"event {ev.id}" for ev in events[:10]]


def _add(report: CheckReport, findings: Any) -> None:
    for code, message, ids in findings:
        report.add(code, message, ids)


def _presence(tx: Tx, report: CheckReport) -> None:
    """Attendance and prior positions follow from their audit events."""
    events = [
        audit.Event(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), "", "")
        for r in tx.all(
            "SELECT id, at, actor, acting_for, action, proposal_id, meeting_id, payload "
            f"FROM audit_event WHERE action IN ({', '.join('?' for _ in PRESENCE_ACTIONS)}) "
            "ORDER BY id",
            PRESENCE_ACTIONS,
        )
    ]
    stored = Presence(
        {
            (str(r[0]), str(r[1])): (r[2], r[3], r[4], r[5], as_datetime(r[6]))
            for r in tx.all(
                "SELECT meeting_id, person_id, party_id, status, substitute_for, recorded_by, "
                "recorded_at FROM attendance"
            )
        },
        {
            (str(r[0]), str(r[1]), str(r[2])): (r[3], r[4], r[5], as_datetime(r[6]))
            for r in tx.all(
                "SELECT meeting_id, proposal_id, party_id, person_id, stance, position, "
                "recorded_at FROM prior_position"
            )
        },
    )
    _add(report, compare_presence(stored, replay_presence(events)))


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
