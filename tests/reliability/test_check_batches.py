"""`regie check` reads attendance, prior positions and governance events in batches (issue
15, goal 5): the findings and their order do not depend on the batch size."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from regie.engine import check, check_governance, check_tables
from regie.engine.storage import Database, Tx


def _damage(db: Path) -> None:
    """Attendance and prior-position rows no event gives, on several meetings (inserted out
    of order), and a recorded attendance changed behind the trail's back."""
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        meetings = [r[0] for r in conn.execute("SELECT id FROM meeting ORDER BY starts_at DESC")]
        person, party, by, at = conn.execute(
            "SELECT person_id, party_id, recorded_by, recorded_at FROM attendance"
        ).fetchone()
        conn.execute("UPDATE attendance SET status = 'absent'")
        for meeting in meetings[:6]:
            conn.execute(
                "INSERT OR IGNORE INTO attendance (meeting_id, person_id, party_id, status, "
                "recorded_by, recorded_at) VALUES (?, ?, ?, 'present', ?, ?)",
                (meeting, person, party, by, at),
            )
            conn.execute(
                "INSERT INTO prior_position (meeting_id, proposal_id, party_id, person_id, "
                "stance, position, recorded_at) VALUES (?, 'P-2026-001', ?, ?, 'agree', '', ?)",
                (meeting, party, person, at),
            )


def _problems(db: Path) -> list[tuple[str, str, list[str]]]:
    database = Database(f"sqlite:///{db}")
    try:
        report = check.check_database(db=database)
    finally:
        database.dispose()
    return [(p.code, p.message, p.ids) for p in report.problems]


def test_findings_do_not_depend_on_the_batch_size(
    scenario_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _damage(scenario_db)
    whole = _problems(scenario_db)
    codes = [code for code, _message, _ids in whole]
    assert codes.count("attendance_mismatch") == 7  # the changed row and six without event
    assert codes.count("prior_position_mismatch") == 6
    last_attendance = max(i for i, c in enumerate(codes) if c == "attendance_mismatch")
    assert last_attendance < codes.index("prior_position_mismatch")
    keys = [ids for code, _m, ids in whole if code == "prior_position_mismatch"]
    assert keys == sorted(keys)  # in order of key, across groups of meetings
    monkeypatch.setattr(check_tables, "PRESENCE_BATCH", 1)  # one meeting per group
    monkeypatch.setattr(check_governance, "BATCH", 1)  # one event per read
    assert _problems(scenario_db) == whole


def test_events_are_read_in_batches_in_order_of_id(
    scenario_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check_governance, "BATCH", 2)
    database = Database(f"sqlite:///{scenario_db}")
    try:
        with database.session(write=False) as session:
            tx = Tx(session)
            everything = tx.all("SELECT id, action FROM audit_event ORDER BY id")
            batched = list(check_governance.events(tx, "action", "1 = 1"))
            after = list(check_governance.events(tx, "action", "1 = 1", after=3))
    finally:
        database.dispose()
    assert len(everything) > 5
    assert batched == everything
    assert after == [row for row in everything if row[0] > 3]
