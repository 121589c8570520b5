"""Storage: the only module that knows which database is underneath.

It opens the database (SQLite with WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` for
writers; PostgreSQL as it comes), runs the Alembic migrations, checks the schema
version, and offers :class:`Tx`, a thin cursor inside the session's transaction for the
hot write path (no ORM there: see LIBNOTES §4). Driver errors that mean "this database
cannot be used" become :class:`~regie.errors.StorageError` with a message to act on.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from regie.engine.db_errors import BUSY_TIMEOUT_MS, redact, storage_errors
from regie.engine.db_url import create_database_file, database_url, server_engine, sqlite_file
from regie.errors import StorageError

# re-exported: callers import them from here
__all__ = ["Database", "DbSession", "Tx", "database_url", "sqlite_file", "storage_errors"]

AUDIT_CHAIN_LOCK = 0x7265676965  # "regie": the advisory lock key of the audit chain


def busy_timeout_from_env() -> int:
    """``REGIE_BUSY_TIMEOUT_MS`` (how long a writer waits for another one), else 5 s."""
    value = os.environ.get("REGIE_BUSY_TIMEOUT_MS", "")
    return int(value) if value.isdigit() and int(value) > 0 else BUSY_TIMEOUT_MS


class Database:
    """An opened database: engine plus the knowledge of its dialect."""

    def __init__(self, url: str, *, busy_timeout_ms: int | None = None) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.busy_timeout_ms = busy_timeout_ms or busy_timeout_from_env()
        # REGIE_TRACE_LOCK=FILE: append how long each write transaction held the lock
        self.trace_lock = os.environ.get("REGIE_TRACE_LOCK", "")
        if self.is_sqlite:
            self.path = sqlite_file(url)
            # Sessions end their own transactions (commit, or rollback on close), so the pool
            # need not roll back once more on every check-in.
            self.engine = create_engine(
                url,
                connect_args={"timeout": self.busy_timeout_ms / 1000},
                pool_reset_on_return=None,
            )
            _sqlite_setup(self.engine, self.busy_timeout_ms)
        else:
            self.path = ""
            self.engine = server_engine(url)

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session whose transaction is committed by the caller; rolled back on error.

        Write sessions on SQLite start with ``BEGIN IMMEDIATE`` so concurrent writers
        queue on the busy timeout instead of failing when they upgrade their lock.
        """
        bind: Any = self.engine if write else self.engine.execution_options(regie_read=True)
        with storage_errors(self), Session(bind, expire_on_commit=False) as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def transaction(self, *, write: bool = True, durable: bool = True) -> Iterator[DbSession]:
        """The lean session the services run on: one pooled DBAPI connection, one
        transaction (``BEGIN IMMEDIATE`` for SQLite writers), no ORM. The service commits;
        anything not committed is rolled back when the block ends.

        ``durable=False`` is for bookkeeping whose loss costs at most a repeated attempt
        (the sender's claims and DATA marks): its commit survives a killed process (WAL)
        but skips the fsync (SQLite ``synchronous=NORMAL``, PostgreSQL
        ``synchronous_commit=off``), so a power cut may undo the last few of them. Changes
        of state, audit events and their outbox rows always use the default."""
        with storage_errors(self):
            session = DbSession(self, write=write, durable=durable)
            try:
                yield session
            finally:
                session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_setup(engine: Engine, busy_timeout_ms: int) -> None:
    pages = os.environ.get("REGIE_SQLITE_MAX_PAGES", "")
    max_pages = int(pages) if pages.isdigit() else 0

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        if max_pages:  # fault injection for the tests: a "full disk" at this size
            cur.execute(f"PRAGMA max_page_count={max_pages}")
        # a read-only file or folder: reads still work, writes report it
        with suppress(sqlite3.OperationalError):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read = conn.get_execution_options().get("regie_read", False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


class Tx:
    """A DBAPI cursor inside the session's current transaction (the lean write path).

    SQL is written with ``?`` placeholders; for PostgreSQL they become ``%s``.
    """

    def __init__(self, session: Session | DbSession) -> None:
        self.session = session
        if isinstance(session, DbSession):
            self.dialect = session.dialect
            self._sqlite = self.dialect == "sqlite"
            self._cur = session.cursor
            return
        conn = session.connection()
        self.dialect = conn.dialect.name
        self._sqlite = self.dialect == "sqlite"
        driver = conn.connection.driver_connection
        assert driver is not None
        self._cur = driver.cursor()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self._sqlite:
            self._cur.execute(sql, params)  # dates: see the adapters registered below
        else:
            self._cur.execute(_pg_sql(sql), list(params))
        return self._cur

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.execute(sql, params).fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return row[0] if row else None

    def lock_chain(self) -> None:
        """Serialise appends to the audit chain until this transaction ends. SQLite
        writers hold the database lock already (BEGIN IMMEDIATE); PostgreSQL takes a
        transaction-scoped advisory lock."""
        if not self._sqlite:
            self._cur.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)


def _sqlite_datetime(value: datetime) -> str:
    return value.isoformat(" ", "microseconds")  # SQLAlchemy's SQLite format, but faster


def _sqlite_date(value: date) -> str:
    return value.isoformat()


# Explicit adapters (Python 3.12 deprecates the implicit ones); same text as SQLAlchemy's.
sqlite3.register_adapter(datetime, _sqlite_datetime)
sqlite3.register_adapter(date, _sqlite_date)


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def as_datetime(value: Any) -> datetime | None:
    """A stored time as a naive UTC datetime (SQLite hands back text)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    if value.tzinfo is not None:  # PostgreSQL's timestamptz: back to naive UTC
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# -- schema ---------------------------------------------------------------------------


def _alembic_config(db: Database, connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("regie.engine") / "migrations"))
    cfg.attributes["connection"] = connection
    cfg.attributes["is_sqlite"] = db.is_sqlite
    return cfg


@lru_cache(maxsize=1)  # the migrations are files of the installed package
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(Database("sqlite://"), None)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


@lru_cache(maxsize=1)  # the migrations are files of the installed package
def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(Database("sqlite://"), None)
    return frozenset(s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions())


def current_revision(db: Database) -> str | None:
    reading = db.engine.execution_options(regie_read=True)
    with storage_errors(db), reading.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            if inspect(conn).get_table_names():
                raise StorageError(
                    f"{db.path or redact(db.url)}: this database was not made by regie (it has "
                    "tables but no regie schema version); use another --db"
                )
            return None
        rev = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        return str(rev) if rev is not None else None


def upgrade(db: Database) -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command

    create_database_file(db)
    check_not_newer(db, current_revision(db))
    with storage_errors(db), db.engine.begin() as conn:
        command.upgrade(_alembic_config(db, conn), "head")


def check_not_newer(db: Database, rev: str | None) -> None:
    if rev is not None and rev not in known_revisions():
        raise StorageError(
            f"{db.path or redact(db.url)}: the database has schema version {rev}, made by a "
            "newer regie than this one; upgrade regie (pip install -U regie) to use it"
        )


def require_schema(db: Database) -> None:
    """Refuse to work on a database that is missing, foreign, outdated or newer. A missing
    SQLite file is not created (SQLite would make an empty one on connecting)."""
    if db.is_sqlite and db.path not in ("", ":memory:") and not os.path.exists(db.path):
        raise StorageError(
            f"{db.path}: no regie database here yet; run 'regie init --config FILE' first "
            "(or give the database with --db / REGIE_DB)"
        )
    rev = current_revision(db)
    if rev is None:
        raise StorageError(
            f"{db.path or redact(db.url)}: no regie database here yet; run "
            "'regie init --config FILE' first"
        )
    check_not_newer(db, rev)
    if rev != head_revision():
        raise StorageError(
            f"{db.path or redact(db.url)}: the database schema ({rev}) is older than this "
            "regie; run 'regie init --config FILE' to upgrade it"
        )


class DbSession:
    """A unit of work on one pooled DBAPI connection (see :meth:`Database.transaction`).

    It has what the services use of a session: ``commit``, ``rollback`` and ``info``;
    :class:`Tx` reads and writes through its cursor.
    """

    def __init__(self, db: Database, *, write: bool = True, durable: bool = True) -> None:
        self.db = db
        self._relaxed = not durable
        self.info: dict[str, Any] = {}
        self.dialect = "sqlite" if db.is_sqlite else db.engine.dialect.name
        self._fairy = db.engine.raw_connection()
        conn: Any = self._fairy.driver_connection  # never None for a live connection
        self._conn = conn
        self.cursor: Any = conn.cursor()
        self._open = False
        self._write = write
        self._locked_at = 0.0  # perf_counter() when BEGIN IMMEDIATE got the lock (traced)
        try:
            self._begin()
        except BaseException:  # e.g. busy past the timeout: give the connection back
            self.cursor.close()
            self._fairy.close()
            raise

    def _begin(self) -> None:
        if self.dialect == "sqlite":
            if self._relaxed:
                self._conn.execute("PRAGMA synchronous=NORMAL")  # back to FULL in close()
            self._conn.execute("BEGIN IMMEDIATE" if self._write else "BEGIN")
            if self._write and self.db.trace_lock:
                self._locked_at = time.perf_counter()
        elif self._relaxed:
            self.cursor.execute("SET LOCAL synchronous_commit TO OFF")
        self._open = True

    def commit(self) -> None:
        self._conn.commit()
        self._open = False
        self._trace("commit")

    def rollback(self) -> None:
        if self._open:
            self._conn.rollback()
            self._open = False
            self._trace("rollback")

    def _trace(self, end: str) -> None:
        """One line per traced write transaction: milliseconds from BEGIN IMMEDIATE (lock
        taken) to COMMIT or ROLLBACK (lock released), then how it ended."""
        if self._locked_at:
            held = (time.perf_counter() - self._locked_at) * 1000
            self._locked_at = 0.0
            with open(self.db.trace_lock, "a", encoding="ascii") as out:
                out.write(f"{held:.3f} {end}\n")

    def close(self) -> None:
        try:
            self.rollback()
            if self._relaxed and self.dialect == "sqlite":
                self._conn.execute("PRAGMA synchronous=FULL")  # the pool's default again
        finally:
            self.cursor.close()
            self._fairy.close()


AnySession = Session | DbSession
