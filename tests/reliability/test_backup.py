"""`regie db backup`: an online copy that passes `regie check`, also while writers run."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from regie.engine.backup import backup_database
from regie.engine.storage import Database
from regie.errors import UsageError
from reliability import driver as d

HERE = Path(__file__).resolve().parent


def count(db: Path, table: str) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_backup_passes_check_and_restores(scenario_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup.db"
    out = d.run(scenario_db, ["db", "backup", str(target)])
    assert out.code == 0, out
    assert "backup written" in out.stdout and "check ok" in out.stdout
    assert d.run(target, ["check"]).code == 0
    assert not Path(f"{target}-wal").exists()
    # restore: copy over the database, it works again
    restored = tmp_path / "restored.db"
    shutil.copyfile(target, restored)
    assert d.run(restored, ["show", "P-2026-001"]).code == 0
    assert count(restored, "audit_event") == count(scenario_db, "audit_event")


def test_refuses_to_overwrite_without_force(scenario_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup.db"
    target.write_bytes(b"precious")
    out = d.run(scenario_db, ["db", "backup", str(target)])
    assert out.code == 2 and not out.bad, out
    assert "exists already" in out.stderr and "--force" in out.stderr
    assert target.read_bytes() == b"precious"
    out = d.run(scenario_db, ["db", "backup", str(target), "--force", "--json"])
    assert out.code == 0, out
    assert json.loads(out.stdout)["check"]["ok"]
    assert not list(tmp_path.glob(".backup.db.partial-*"))


def test_backup_of_the_database_itself_is_refused(scenario_db: Path) -> None:
    out = d.run(scenario_db, ["db", "backup", str(scenario_db), "--force"])
    assert out.code == 2 and "the database itself" in out.stderr


def test_missing_folder(scenario_db: Path, tmp_path: Path) -> None:
    out = d.run(scenario_db, ["db", "backup", str(tmp_path / "nope" / "b.db")])
    assert out.code == 2 and "does not exist" in out.stderr and not out.bad


def test_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    db = Database("postgresql+psycopg://regie:secret@127.0.0.1:1/regie")
    with pytest.raises(UsageError, match="pg_dump"):
        backup_database(db=db, target=tmp_path / "x.db")


@pytest.mark.slow
def test_backup_while_writers_run(scenario_db: Path, tmp_path: Path) -> None:
    """Backups taken while another process keeps moving proposals are all consistent."""
    proposals = []
    for i in range(3):
        out = d.submit(scenario_db, f"Busy {i}")
        assert out.code == 0, out
        proposals.append(out.stdout.split()[0])  # the clock is past the scenario: P-2027-…
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    writer = subprocess.Popen(
        [sys.executable, str(HERE / "driver.py"), str(scenario_db), "7", "60", *proposals],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    copies = []
    try:
        while writer.poll() is None and len(copies) < 8:
            target = tmp_path / f"b{len(copies)}.db"
            out = d.run(scenario_db, ["db", "backup", str(target)])
            assert out.code == 0, out
            copies.append(target)
    finally:
        stdout, stderr = writer.communicate(timeout=120)
    assert writer.returncode == 0, stderr
    assert json.loads(stdout)["bad"] == []
    assert len(copies) >= 2
    events = [count(c, "audit_event") for c in copies]
    assert events == sorted(events)
    for c in copies:
        assert d.run(c, ["check"]).code == 0
