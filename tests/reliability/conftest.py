"""Fixtures of the reliability suites: one populated database, made once, copied per test."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from reliability import driver as d


def _populate(db: Path) -> None:
    assert d.init(db).code == 0
    for title, purpose in [
        ("Decided", "adoption"),
        ("Amended", "advice"),
        ("Withdrawn", "adoption"),
        ("Returned", "adoption"),
        ("Routed", "information"),
    ]:
        assert d.submit(db, title, purpose).code == 0
    d.walk_to_decided(db, "P-2026-001")
    d.to_top(db, "P-2026-002", "advice")
    for move in ("decide", "amend"):
        assert d.do_move(db, "P-2026-002", move, "advice").code == 0
    assert d.do_move(db, "P-2026-003", "withdraw", "adoption").code == 0
    for move in ("advance", "advance", "return", "defer"):
        assert d.do_move(db, "P-2026-004", move, "adoption").code == 0
    assert d.do_move(db, "P-2026-005", "advance", "information").code == 0
    out = d.run(
        db, ["route", "P-2026-005", "table", "chairs", "oogo"], now=d.now_for(db, "P-2026-005")
    )
    assert out.code == 0, out
    meeting = d.show(db, "P-2026-005")["meeting"]
    present = d.run(db, ["attend", meeting, "coordinator", "--present"],
                    now=d.now_for(db, "P-2026-005"))  # present: on the meeting day  # fmt: skip
    assert present.code == 0, present


@pytest.fixture(scope="session")
def scenario_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five proposals: decided, amended (awaiting), withdrawn, returned+deferred, routed."""
    path = tmp_path_factory.mktemp("reliability") / "scenario.db"
    _populate(path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def scenario_db(scenario_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "regie.db"
    shutil.copyfile(scenario_template, target)
    shutil.copy2(f"{scenario_template}.key", f"{target}.key")  # the audit key, outside the db
    return target
