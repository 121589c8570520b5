"""`regie check` compares every table the audit events describe, column by column (#14).

Each case edits one column of a real database directly (triggers dropped, foreign keys
off: see ``tamper``) and expects the finding that names the table (code), the row and the
event that gives the value (ids), with the column in its message.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from regie.engine import check_tables as tables
from reliability import driver as d
from reliability.test_check import tamper

P1, P2, P4, P5 = "P-2026-001", "P-2026-002", "P-2026-004", "P-2026-005"
P6 = "P-2027-001"  # submitted after the decisions of January 2027


@dataclass(frozen=True)
class E:
    """The id of a proposal's event with this action (``nth``: 0 first, -1 last)."""

    action: str
    proposal: str
    nth: int = -1


@dataclass(frozen=True)
class Q:
    """The one value this query gives (a meeting, a digest: the scenario's dates follow
    the clock rules, so the tests read them from the database)."""

    sql: str


RETURNED_TO = "(SELECT meeting_id FROM audit_event WHERE action = 'returned')"  # P-2026-004


def _full(db: Path) -> None:
    """The reliability scenario plus: a retracted decision decided anew (P-2026-002 v3),
    a proposal with every submission field (P6), its parties corrected, and a prior
    position on it."""
    out = d.run(db, ["decide", P2, "--retract", "--reason", "attendance was wrong"],
                now=d.now_for(db, P2))  # fmt: skip
    assert out.code == 0, out
    assert d.do_move(db, P2, "decide", "advice").code == 0
    out = d.run(db, ["submit", "--title", "Complete", "--purpose", "adoption", "--table",
                     "tafel-model", "--party", "ede", "--party", "barneveld", "--summary",
                     "Everything filled in.", "--focus", "sp1", "--admin-lead",
                     "marloes-kamphuis", "--official-lead", "esther-mulder", "--doc",
                     "https://example.org/a.pdf"])  # fmt: skip
    assert out.code == 0, out
    out = d.run(db, ["parties", P6, "--add", "rhenen", "--reason", "Rhenen too"])
    assert out.code == 0, out
    out = d.run(db, ["attend", d.show(db, P6)["meeting"], "marloes-kamphuis", "--prior-position",
                     P6, "--stance", "disagree", "--position", "Te duur"])  # fmt: skip
    assert out.code == 0, out


def _copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    key = Path(f"{source}.key")  # the audit key, kept outside the database
    if key.exists():
        shutil.copy2(key, f"{target}.key")
    return target


@pytest.fixture(scope="module")
def full_template(scenario_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = _copy(scenario_template, tmp_path_factory.mktemp("check-tables") / "full.db")
    _full(path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def full_db(full_template: Path, tmp_path: Path) -> Path:
    return _copy(full_template, tmp_path / "full.db")


def _resolve(db: Path, ident: object) -> str:
    with closing(sqlite3.connect(db)) as conn:
        if isinstance(ident, E):
            rows = conn.execute(
                "SELECT id FROM audit_event WHERE action = ? AND proposal_id = ? ORDER BY id",
                (ident.action, ident.proposal),
            ).fetchall()
            assert rows, ident
            return f"event {rows[ident.nth][0]}"
        if isinstance(ident, Q):
            (row,) = conn.execute(ident.sql).fetchall()
            return str(row[0])
    return str(ident)


def report(db: Path) -> dict[str, Any]:
    out = d.run(db, ["check", "--json"])
    assert not out.bad, out.bad
    found = json.loads(out.stdout)
    assert out.code == (0 if found["ok"] else 1), out
    return dict(found)


def test_the_full_scenario_is_clean(full_db: Path) -> None:
    found = report(full_db)
    assert found["ok"] and found["problems"] == [], found["problems"]
    with closing(sqlite3.connect(full_db)) as conn:  # the scenario holds what the cases edit
        retracted = conn.execute("SELECT count(*) FROM decision WHERE retracted_by IS NOT NULL")
        assert retracted.fetchone() == (2,)  # P-2026-002 v1 and v2
        assert conn.execute("SELECT count(*) FROM prior_position").fetchone() == (1,)
        summary = conn.execute(
            "SELECT payload FROM audit_event WHERE action = 'submitted' "
            "AND proposal_id = ?", (P6,)
        ).fetchone()[0]
    assert json.loads(summary)["summary"] == "Everything filled in."


PRIOR = [Q("SELECT meeting_id FROM prior_position"), P6, "barneveld"]
ATTENDED = [Q("SELECT meeting_id FROM attendance"), "coordinator"]


def _proposal(column: str, value: str, pid: str = P6) -> tuple[str, str, str, list[object], str]:
    return (
        f"UPDATE proposal SET {column} = {value} WHERE id = '{pid}'",
        f"{column}={value}",
        "proposal_mismatch",
        [pid, E("submitted", pid)],
        f"stored {column} ",
    )


def _decision(
    column: str, value: str, pid: str, version: int, event: E
) -> tuple[str, str, str, list[object], str]:
    return (
        f"UPDATE decision SET {column} = {value} WHERE proposal_id = '{pid}' "
        f"AND version = {version}",
        f"{column} v{version}",
        "decision_mismatch",
        [pid, f"v{version}", event],
        f"stored {column} ",
    )


LATE = "'2030-01-01 00:00:00.000000'"
CASES: list[tuple[str, str, str, list[object], str]] = [
    # proposal columns from the `submitted` event
    _proposal("title", "'Forged'"),
    _proposal("summary", "'Forged summary.'"),
    _proposal("purpose", "'advice'"),
    _proposal("table_id", "'voorzitters'"),
    _proposal("focus_point", "'sp2'"),
    _proposal("focus_point", "NULL"),
    _proposal("admin_lead", "'esther-mulder'"),
    _proposal("official_lead", "NULL"),
    _proposal("documents", """'["https://example.org/forged.pdf"]'"""),
    _proposal("documents", "'not json'"),
    _proposal("addressee", "'body:ao'", P2),
    _proposal("submitted_by", "'sandra-kooiman'"),
    _proposal("submitted_at", "'2026-11-22 09:00:00.000000'"),
    (
        f"UPDATE proposal SET updated_at = {LATE} WHERE id = '{P1}'",
        "updated_at",
        "proposal_mismatch",
        [P1, E("confirmed", P1)],
        "stored updated_at ",
    ),
    # proposal state replayed (replay.py): route and meeting, named with their event
    (
        f"""UPDATE proposal SET route = '["table", "oogo"]' WHERE id = '{P1}'""",
        "route from submission",
        "replay_mismatch",
        [P1, E("submitted", P1)],
        "stored route ",
    ),
    (
        f"""UPDATE proposal SET route = '["table", "chairs", "ao", "oogo"]' WHERE id = '{P5}'""",
        "route",
        "replay_mismatch",
        [P5, E("route_set", P5)],
        "stored route ",
    ),
    (
        f"UPDATE proposal SET meeting_id = {RETURNED_TO} WHERE id = '{P4}'",
        "meeting",
        "replay_mismatch",
        [P4, E("deferred", P4)],
        "stored meeting ",
    ),
    # concerned parties (check_governance.py)
    (
        f"DELETE FROM proposal_party WHERE proposal_id = '{P1}' AND party_id = 'ede'",
        "party removed",
        "parties_mismatch",
        [P1, E("submitted", P1)],
        "proposal_party",
    ),
    (
        f"INSERT INTO proposal_party (proposal_id, party_id) VALUES ('{P6}', 'renswoude')",
        "party added",
        "parties_mismatch",
        [P6, E("parties_changed", P6)],
        "proposal_party",
    ),
    # decision versions: decided, amended, confirmed, retracted
    _decision("outcome", "'negative'", P2, 3, E("decided", P2)),
    _decision("text", "'Forged.'", P2, 2, E("amended", P2)),
    _decision("text", "'Forged.'", P1, 1, E("decided", P1)),
    _decision("override_reason", "NULL", P1, 1, E("decided", P1)),
    _decision("override_reason", "'forged'", P2, 2, E("decided", P2, 0)),  # kept by amend
    _decision("dissent", """'{"parties": ["ede"], "text": "forged"}'""", P2, 3, E("decided", P2)),
    _decision("meeting_id", "(SELECT min(id) FROM meeting)", P1, 1, E("decided", P1)),
    _decision("recorded_by", "'sandra-kooiman'", P1, 1, E("decided", P1)),
    _decision("recorded_by", "'coordinator'", P2, 2, E("amended", P2)),
    _decision("recorded_at", LATE, P2, 3, E("decided", P2)),
    _decision("confirmed_by", "'coordinator'", P1, 1, E("confirmed", P1)),
    _decision("confirmed_at", LATE, P1, 1, E("confirmed", P1)),
    _decision("confirmed_by", "'sandra-kooiman'", P2, 3, E("decided", P2)),
    _decision("retracted_by", "'sandra-kooiman'", P2, 1, E("decision_retracted", P2)),
    _decision("retracted_at", LATE, P2, 2, E("decision_retracted", P2)),
    _decision("retracted_by", "NULL", P2, 2, E("decision_retracted", P2)),
    _decision("retracted_by", "'coordinator'", P2, 3, E("decided", P2)),
    # attendance and prior positions (replay.py), the row named by its key
    (
        "UPDATE attendance SET recorded_by = 'sandra-kooiman'",
        "attendance recorded_by",
        "attendance_mismatch",
        ATTENDED,
        "stored recorded_by 'sandra-kooiman' but event",
    ),
    (
        f"UPDATE attendance SET recorded_at = {LATE}",
        "attendance recorded_at",
        "attendance_mismatch",
        ATTENDED,
        "stored recorded_at 2030-01-01 00:00:00 but event",
    ),
    (
        "UPDATE attendance SET party_id = 'ede'",
        "attendance party_id",
        "attendance_mismatch",
        ATTENDED,
        "stored party_id 'ede' but event",
    ),
    (
        "UPDATE prior_position SET person_id = 'esther-mulder'",
        "prior position person_id",
        "prior_position_mismatch",
        PRIOR,
        "stored person_id 'esther-mulder' but event",
    ),
    (
        "UPDATE prior_position SET position = 'Goedkoop'",
        "prior position text",
        "prior_position_mismatch",
        PRIOR,
        "stored position 'Goedkoop' but event",
    ),
    (
        f"UPDATE prior_position SET recorded_at = {LATE}",
        "prior position recorded_at",
        "prior_position_mismatch",
        PRIOR,
        "stored recorded_at 2030-01-01 00:00:00 but event",
    ),
    # workflow texts and the meetings placements name
    (
        "UPDATE workflow_version SET text = text || char(10) || '# edited' "
        "WHERE purpose = 'advice'",
        "workflow text",
        "workflow_text_mismatch",
        [Q("SELECT digest FROM workflow_version WHERE purpose = 'advice'")],
        "workflow_version ",
    ),
    (
        f"DELETE FROM meeting WHERE id = {RETURNED_TO}",
        "placement meeting",
        "placement_meeting_missing",
        [P4, Q(f"SELECT {RETURNED_TO}"), E("returned", P4)],
        "(returned)",
    ),
]


@pytest.mark.parametrize(
    ("sql", "name", "code", "ids", "says"), CASES, ids=[f"{c[2]}-{c[1]}" for c in CASES]
)
def test_each_column_is_compared(
    full_db: Path, sql: str, name: str, code: str, ids: list[object], says: str
) -> None:
    expected = [_resolve(full_db, i) for i in ids]
    tamper(full_db, sql)
    problems = report(full_db)["problems"]
    named = [p for p in problems if p["code"] == code and p["ids"] == expected]
    assert named, (name, expected, problems)
    assert any(says in p["message"] for p in named), (says, named)
    event = next((i for i in expected if i.startswith("event ")), None)
    assert event is None or any(event in p["message"] for p in named), named


def test_a_column_from_before_its_key_existed_is_not_compared() -> None:
    """Events written before a key entered the payload (summary: #14, dissent: #13)."""
    at = datetime(2026, 11, 23, 9)
    old = tables.Ev(2, at, "coordinator", "submitted", P1, "m", {"title": "T", "purpose": "x"})
    stored = {
        "id": P1, "title": "T", "summary": "edited", "purpose": "x", "table_id": "other",
        "focus_point": "sp1", "admin_lead": None, "official_lead": None, "documents": "[]",
        "addressee": None, "submitted_by": "coordinator", "submitted_at": at, "updated_at": at,
    }  # fmt: skip
    assert list(tables.proposal_findings(stored, [old])) == []
    new = tables.Ev(2, at, "coordinator", "submitted", P1, "m", {**old.payload, "summary": ""})
    assert [f[0] for f in tables.proposal_findings(stored, [new])] == ["proposal_mismatch"]
    decided = tables.Ev(3, at, "c", "decided", P1, "m", {"outcome": "o", "text": "t",
                                                         "version": 1})  # fmt: skip
    amended = tables.Ev(4, at, "s", "amended", P1, "m", {"text": "u", "version": 2})
    given = tables.decision_given([decided, amended])
    assert "dissent" not in given[1] and "override_reason" not in given[2]
    assert given[2]["outcome"] == ("o", decided) and given[2]["recorded_by"] == ("s", amended)
