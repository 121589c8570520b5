"""`regie check` finds each kind of damage and names the ids involved."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from reliability import driver as d


def codes(db: Path) -> set[str]:
    out = d.run(db, ["check", "--json"])
    report = json.loads(out.stdout)
    assert out.code == (0 if report["ok"] else 1), out
    return {p["code"] for p in report["problems"]}


def tamper(db: Path, *sql: str) -> None:
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        for statement in sql:
            conn.execute(statement)


def test_clean_database_passes(scenario_db: Path) -> None:
    out = d.run(scenario_db, ["check"])
    assert out.code == 0, out
    assert "ok (5 proposals" in out.stdout
    report = json.loads(d.run(scenario_db, ["check", "--json"]).stdout)
    assert report["ok"] and report["problems"] == [] and report["proposals"] == 5


CASES: list[tuple[str, tuple[str, ...], str, str]] = [
    (
        "state changed without event",
        ("UPDATE proposal SET state='ao', stage='ao' WHERE id='P-2026-004'",),
        "replay_mismatch",
        "P-2026-004",
    ),
    (
        "state not in workflow",
        ("UPDATE proposal SET state='limbo' WHERE id='P-2026-003'",),
        "state_unknown",
        "P-2026-003",
    ),
    (
        "version bumped (lost or extra change)",
        ("UPDATE proposal SET version=version+1 WHERE id='P-2026-001'",),
        "replay_mismatch",
        "P-2026-001",
    ),
    (
        "event removed",
        (
            "DELETE FROM audit_event WHERE id=(SELECT max(id) FROM audit_event "
            "WHERE proposal_id='P-2026-003')",
        ),
        "audit_chain",
        "event",
    ),
    (
        "event payload edited",
        ("UPDATE audit_event SET payload='{}' WHERE action='withdrawn'",),
        "audit_chain",
        "event",
    ),
    (
        "decision row lost",
        ("DELETE FROM decision WHERE proposal_id='P-2026-001'",),
        "decision_missing",
        "P-2026-001",
    ),
    (
        "confirmation lost",
        ("UPDATE decision SET confirmed_by=NULL WHERE proposal_id='P-2026-001'",),
        "decision_unconfirmed",
        "P-2026-001",
    ),
    (
        "amended version lost",
        ("DELETE FROM decision WHERE proposal_id='P-2026-002' AND version=2",),
        "decision_mismatch",
        "P-2026-002",
    ),
    (
        "decision versions with a gap",
        ("UPDATE decision SET version=3 WHERE proposal_id='P-2026-002' AND version=2",),
        "decision_versions",
        "P-2026-002",
    ),
    (
        "proposal on a missing meeting",
        ("UPDATE proposal SET meeting_id='nowhere-2027' WHERE id='P-2026-001'",),
        "dangling_reference",
        "nowhere-2027",
    ),
    (
        "attendance at missing meeting",
        ("UPDATE attendance SET meeting_id='gone-1'",),
        "dangling_reference",
        "gone-1",
    ),
    (
        "prior position on missing proposal",
        (
            "INSERT INTO prior_position (meeting_id, proposal_id, party_id, person_id, "
            "position, recorded_at) SELECT meeting_id, 'P-1999-001', 'ede', person_id, "
            "'agrees', recorded_at FROM attendance LIMIT 1",
        ),
        "dangling_reference",
        "P-1999-001",
    ),
    (
        "attendance changed without its event",
        ("UPDATE attendance SET status='absent'",),
        "attendance_mismatch",
        "coordinator",
    ),
    (
        "prior position stance without its event",
        (
            "INSERT INTO prior_position (meeting_id, proposal_id, party_id, person_id, "
            "position, stance, recorded_at) SELECT meeting_id, 'P-2026-005', 'ede', person_id, "
            "'', 'disagree', recorded_at FROM attendance LIMIT 1",
        ),
        "prior_position_mismatch",
        "P-2026-005",
    ),
    (
        "event for a missing proposal",
        ("UPDATE audit_event SET proposal_id='P-2030-999' WHERE action='withdrawn'",),
        "event_without_proposal",
        "P-2030-999",
    ),
]


@pytest.mark.parametrize(("name", "sql", "code", "ident"), CASES, ids=[c[0] for c in CASES])
def test_damage_is_named(
    scenario_db: Path, name: str, sql: tuple[str, ...], code: str, ident: str
) -> None:
    tamper(scenario_db, *sql)
    out = d.run(scenario_db, ["check"])
    assert out.code == 1, out
    assert not out.bad, out.bad
    assert "problems found" in out.stderr or "problem found" in out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(f"problem: {code}:")]
    assert lines, out.stdout
    assert any(ident in ln for ln in lines), lines
    assert code in codes(scenario_db)


def _outbox_row(conn: sqlite3.Connection, event_id: int) -> None:
    cols = conn.execute("PRAGMA table_info(outbox)").fetchall()
    names, values = [], []
    fill: dict[str, Callable[[], object]] = {"INTEGER": lambda: 0, "DATETIME": lambda: "2027-01-01"}
    for _cid, name, type_, notnull, _default, pk in cols:
        if pk or not notnull:
            continue
        names.append(name)
        values.append(event_id if name == "event_id" else fill.get(type_, lambda: "x")())
    marks = ", ".join("?" * len(values))
    conn.execute(f"INSERT INTO outbox ({', '.join(names)}) VALUES ({marks})", values)


def test_outbox_row_without_event(scenario_db: Path) -> None:
    with closing(sqlite3.connect(scenario_db, isolation_level=None)) as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name='outbox'").fetchone()
        conn.execute("PRAGMA foreign_keys=OFF")
        _outbox_row(conn, 987654)
    out = d.run(scenario_db, ["check"])
    assert out.code == 1
    assert any("outbox_orphan" in ln and "event 987654" in ln for ln in out.stdout.splitlines())


def test_check_works_without_outbox_table(scenario_db: Path) -> None:
    tamper(scenario_db, "DROP TABLE IF EXISTS outbox")
    report = json.loads(d.run(scenario_db, ["check", "--json"]).stdout)
    assert report["ok"], report
    assert any("outbox" in note for note in report["notes"])


def test_foreign_key_check(scenario_db: Path) -> None:
    tamper(scenario_db, "UPDATE proposal_party SET party_id='atlantis' WHERE rowid=1")
    assert "foreign_key" in codes(scenario_db)
