"""The schema version check of daily commands: constants that match the migrations, one
cheap query on SQLite, and no Alembic or SQLAlchemy imported for it (issue 15, goal 1)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from regie.engine import schema_version, storage
from regie.engine.storage import Database
from regie.errors import StorageError


def test_known_revisions_are_those_of_the_migrations():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(schema_version.alembic_config())
    chain = tuple(reversed([s.revision for s in script.walk_revisions()]))  # oldest first
    assert chain == schema_version.REVISIONS, (
        f"engine/migrations has the revisions {chain}; set REVISIONS in "
        f"src/regie/engine/schema_version.py to exactly that (oldest first)"
    )
    assert storage.head_revision() == script.get_current_head() == chain[-1]
    assert storage.known_revisions() == frozenset(chain)


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    path = tmp_path / "m.db"
    db = Database(f"sqlite:///{path}")
    try:
        storage.upgrade(db)
    finally:
        db.dispose()
    return path


def _set_version(path: Path, rev: str) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (rev,))


def _require(path: Path) -> None:
    db = Database(f"sqlite:///{path}")
    try:
        storage.require_schema(db)
    finally:
        db.dispose()


def test_older_and_newer_versions_are_refused(migrated: Path):
    _require(migrated)
    _set_version(migrated, schema_version.REVISIONS[-2])
    older = schema_version.REVISIONS[-2]
    with pytest.raises(StorageError, match=rf"schema \({older}\) is older than this regie; run"):
        _require(migrated)
    _set_version(migrated, "9999")
    with pytest.raises(StorageError, match="schema version 9999, made by a newer regie"):
        _require(migrated)


def test_version_table_without_a_row_means_no_database_yet(migrated: Path):
    with closing(sqlite3.connect(migrated)) as conn, conn:
        conn.execute("DELETE FROM alembic_version")
    with pytest.raises(StorageError, match="no regie database here yet"):
        _require(migrated)


def test_sqlite_own_tables_do_not_make_a_database_foreign(tmp_path: Path):
    """sqlite_sequence and sqlite_stat1 are SQLite's, not a foreign application's."""
    path = tmp_path / "x.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)")
        conn.execute("INSERT INTO t DEFAULT VALUES")
        conn.execute("ANALYZE")
        conn.execute("DROP TABLE t")
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "sqlite_sequence" in names
    db = Database(f"sqlite:///{path}")
    try:
        assert storage.current_revision(db) is None
        conn2 = sqlite3.connect(path)
        conn2.execute("CREATE TABLE stuff (x)")
        conn2.close()
        with pytest.raises(StorageError, match="not made by regie"):
            storage.current_revision(db)
    finally:
        db.dispose()


def test_daily_path_imports_no_sqlalchemy_sqlmodel_or_alembic(migrated: Path):
    """Checking the version and running a read and a write transaction on SQLite load none
    of them (they cost a command ~250 ms); the engine is made only when asked for."""
    code = f"""
import sys
from regie.engine.storage import Database, Tx, require_schema
db = Database({f"sqlite:///{migrated}"!r})
require_schema(db)
with db.transaction(write=False) as s:
    assert Tx(s).scalar("SELECT count(*) FROM proposal") == 0
with db.transaction() as s:
    Tx(s).execute("CREATE TABLE scratch (x)")
    s.commit()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "sqlmodel", "alembic"))
assert not heavy, heavy
assert db._engine is None
db.engine  # made on first use
assert "sqlalchemy" in sys.modules
db.dispose()
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
