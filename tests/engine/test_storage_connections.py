"""The SQLite connections of :class:`regie.engine.storage.Database`: its own pool for the
services' transactions, the lazily made SQLAlchemy engine beside it, URLs, errors."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from regie.engine.db_url import sqlite_target
from regie.engine.storage import Database, Tx
from regie.errors import StorageError

PRAGMAS = ("foreign_keys", "journal_mode", "synchronous", "busy_timeout", "max_page_count")


@pytest.fixture
def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'c.db'}", busy_timeout_ms=300)
    yield database
    database.dispose()


def _pragmas(tx: Tx) -> dict[str, object]:
    return {p: tx.scalar(f"PRAGMA {p}") for p in PRAGMAS}


def test_own_connections_are_set_up_like_the_engines(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("REGIE_SQLITE_MAX_PAGES", "5000")
    db = Database(f"sqlite:///{tmp_path / 'p.db'}", busy_timeout_ms=1234)
    try:
        with db.transaction() as session:
            own = _pragmas(Tx(session))
        with db.session() as orm:
            engine = _pragmas(Tx(orm))
    finally:
        db.dispose()
    expected = {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "busy_timeout": 1234,
        "max_page_count": 5000,
    }
    assert own == expected
    assert engine == expected


def test_relaxed_transaction_then_full_again_on_the_same_connection(db: Database):
    with db.transaction(durable=False) as session:
        assert Tx(session).scalar("PRAGMA synchronous") == 1  # NORMAL
        first = session._conn
    with db.transaction() as session:
        assert session._conn is first  # reused from the pool
        assert Tx(session).scalar("PRAGMA synchronous") == 2


def test_pool_hands_each_thread_its_own_connection(db: Database):
    """Two transactions at once get two connections; both go back to the pool."""
    seen: list[sqlite3.Connection] = []
    inside = threading.Barrier(2)

    def read() -> None:
        with db.transaction(write=False) as session:
            seen.append(session._conn)
            Tx(session).scalar("SELECT 1")
            inside.wait(timeout=5)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 2
    assert sorted(map(id, db._idle)) == sorted(map(id, seen))


def test_dispose_closes_idle_and_returning_connections(db: Database):
    outer = db.transaction(write=False)
    busy = outer.__enter__()._conn
    with db.transaction(write=False) as session:
        idle = session._conn  # a second connection, idle after this block
    assert db._idle == [idle]
    db.dispose()
    with pytest.raises(sqlite3.ProgrammingError):
        idle.execute("SELECT 1")
    busy.execute("SELECT 1")  # still usable by its transaction
    outer.__exit__(None, None, None)
    with pytest.raises(sqlite3.ProgrammingError):
        busy.execute("SELECT 1")
    with db.transaction(write=False) as session:  # usable again, on a new connection
        assert session._conn not in (idle, busy)
        assert Tx(session).scalar("SELECT 1") == 1


def test_orm_session_and_own_transactions_see_each_others_commits(db: Database):
    assert db._engine is None
    with db.transaction() as session:
        Tx(session).execute("CREATE TABLE t (x INTEGER)")
        Tx(session).execute("INSERT INTO t VALUES (1)")
        session.commit()
    with db.session() as orm:
        assert db.engine is db.engine  # made once
        assert Tx(orm).scalar("SELECT sum(x) FROM t") == 1
        Tx(orm).execute("INSERT INTO t VALUES (2)")
        orm.commit()
    with db.transaction(write=False) as session:
        assert Tx(session).scalar("SELECT sum(x) FROM t") == 3


def test_uncommitted_work_is_rolled_back(db: Database):
    with db.transaction() as session:
        Tx(session).execute("CREATE TABLE t (x INTEGER)")
        session.commit()
    with db.transaction() as session:
        Tx(session).execute("INSERT INTO t VALUES (1)")
    with db.transaction(write=False) as session:
        assert Tx(session).scalar("SELECT count(*) FROM t") == 0


def test_in_memory_database_is_shared_with_the_engine():
    """An in-memory database exists once per connection: the services' transactions and the
    ORM sessions of one thread must share it."""
    db = Database("sqlite://")
    try:
        with db.session() as orm:
            Tx(orm).execute("CREATE TABLE t (x INTEGER)")
            orm.commit()
        with db.transaction() as session:
            Tx(session).execute("INSERT INTO t VALUES (7)")
            session.commit()
        with db.session(write=False) as orm:
            assert Tx(orm).scalar("SELECT x FROM t") == 7
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("sqlite:///regie.db", ("regie.db", False)),
        ("sqlite:////abs/r.db", ("/abs/r.db", False)),
        ("sqlite://", (":memory:", False)),
        ("sqlite:///:memory:", (":memory:", False)),
        ("sqlite:///file:/d/r.db?mode=ro&uri=true", ("file:/d/r.db?mode=ro", True)),
        ("sqlite:///file:/d/r.db?uri=true", ("file:/d/r.db", True)),
        ("sqlite:///r.db?timeout=3", ("r.db", False)),
    ],
)
def test_sqlite_target_reads_urls_as_sqlalchemy_does(url: str, target: tuple[str, bool]):
    assert sqlite_target(url) == target


def test_read_only_uri_reads_and_refuses_writes(db: Database, tmp_path: Path):
    with db.transaction() as session:
        Tx(session).execute("CREATE TABLE t (x INTEGER)")
        session.commit()
    ro = Database(f"sqlite:///file:{tmp_path / 'c.db'}?mode=ro&uri=true")
    try:
        assert ro.path == str(tmp_path / "c.db")
        with ro.transaction(write=False) as session:
            assert Tx(session).scalar("SELECT count(*) FROM t") == 0
        refused = pytest.raises(StorageError, match="read-only.*nothing was written")
        with refused, ro.transaction() as session:
            Tx(session).execute("INSERT INTO t VALUES (1)")
    finally:
        ro.dispose()


def test_busy_writer_is_a_storage_error_on_both_paths(db: Database, tmp_path: Path):
    with db.transaction() as session:
        Tx(session).execute("CREATE TABLE t (x INTEGER)")
        session.commit()
    with closing(sqlite3.connect(tmp_path / "c.db", isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        busy = r"busy: .* more than 0.3 s; .*nothing was written"
        with pytest.raises(StorageError, match=busy), db.transaction():
            pass
        # SQLAlchemy's OperationalError, translated alike
        with pytest.raises(StorageError, match=busy), db.session() as orm:
            Tx(orm).execute("INSERT INTO t VALUES (1)")
        holder.execute("ROLLBACK")
    with db.transaction() as session:  # the pool still works after the failures
        Tx(session).execute("INSERT INTO t VALUES (1)")
        session.commit()


def test_missing_file_is_not_created_by_the_schema_check(tmp_path: Path):
    from regie.engine.storage import require_schema

    path = tmp_path / "none.db"
    db = Database(f"sqlite:///{path}")
    try:
        with pytest.raises(StorageError, match="no regie database here yet"):
            require_schema(db)
    finally:
        db.dispose()
    assert not path.exists()
