"""Storage: the only module that knows which database is underneath.

It opens the database (SQLite with WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` for
writers; PostgreSQL as it comes), runs the Alembic migrations, checks the schema
version (:mod:`regie.engine.schema_version`), and offers :class:`Tx`, a thin cursor inside
the session's transaction for the hot write path (no ORM there: see LIBNOTES §4). Driver
errors that mean "this database cannot be used" become :class:`~regie.errors.StorageError`
with a message to act on.

On SQLite the services' transactions (:meth:`Database.transaction`) run on sqlite3
connections of this module's own small pool, so daily commands import neither SQLAlchemy
nor SQLModel; the SQLAlchemy engine (ORM sessions, migrations, PostgreSQL) is made on
first use of :attr:`Database.engine`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeAlias

from regie.engine.db_errors import BUSY_TIMEOUT_MS, storage_errors
from regie.engine.db_url import database_url, server_engine, sqlite_file, sqlite_target
from regie.engine.schema_version import (
    check_not_newer,
    current_revision,
    head_revision,
    known_revisions,
    require_schema,
    upgrade,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

# re-exported: callers import them from here
__all__ = [
    "AnySession",
    "Database",
    "DbSession",
    "Tx",
    "check_not_newer",
    "current_revision",
    "database_url",
    "head_revision",
    "known_revisions",
    "require_schema",
    "sqlite_file",
    "storage_errors",
    "upgrade",
]

AUDIT_CHAIN_LOCK = 0x7265676965  # "regie": the advisory lock key of the audit chain


def busy_timeout_from_env() -> int:
    """``REGIE_BUSY_TIMEOUT_MS`` (how long a writer waits for another one), else 5 s."""
    value = os.environ.get("REGIE_BUSY_TIMEOUT_MS", "")
    return int(value) if value.isdigit() and int(value) > 0 else BUSY_TIMEOUT_MS


POOL_IDLE = 5  # idle SQLite connections kept for reuse (as SQLAlchemy's QueuePool)


class Database:
    """An opened database: the knowledge of its dialect, its SQLite connections (a small
    pool of idle ones) and, made on first use, its SQLAlchemy engine."""

    def __init__(self, url: str, *, busy_timeout_ms: int | None = None) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.busy_timeout_ms = busy_timeout_ms or busy_timeout_from_env()
        # REGIE_TRACE_LOCK=FILE: append how long each write transaction held the lock
        self.trace_lock = os.environ.get("REGIE_TRACE_LOCK", "")
        pages = os.environ.get("REGIE_SQLITE_MAX_PAGES", "")
        self.max_pages = int(pages) if pages.isdigit() else 0
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._generation = 0  # dispose() closes connections handed out before it
        if self.is_sqlite:
            self.path = sqlite_file(url)
            # An in-memory database exists once per connection: its transactions share the
            # engine's (SQLAlchemy keeps one connection per thread for it).
            self.own_connections = self.path != ":memory:"
        else:
            self.path = ""
            self.own_connections = False
            self._engine = server_engine(url)  # an unusable URL is refused here

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (ORM sessions, migrations, PostgreSQL), made on first use."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = _sqlite_engine(self)
        return self._engine

    def connect(self) -> sqlite3.Connection:
        """A new SQLite connection set up as every regie connection is (see
        :func:`_sqlite_pragmas`); the caller closes it."""
        target, uri = sqlite_target(self.url)
        conn = sqlite3.connect(
            target,
            timeout=self.busy_timeout_ms / 1000,
            isolation_level=None,  # we issue BEGIN ourselves
            check_same_thread=False,  # pooled: used by one thread at a time, any thread
            uri=uri,
        )
        try:
            _sqlite_pragmas(conn, self.busy_timeout_ms, self.max_pages)
        except BaseException:
            conn.close()
            raise
        return conn

    def _checkout(self) -> tuple[sqlite3.Connection, int]:
        with self._lock:
            generation = self._generation
            if self._idle:
                return self._idle.pop(), generation
        return self.connect(), generation

    def _checkin(self, conn: sqlite3.Connection, generation: int) -> None:
        if not conn.in_transaction:
            with self._lock:
                if generation == self._generation and len(self._idle) < POOL_IDLE:
                    self._idle.append(conn)
                    return
        conn.close()

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session whose transaction is committed by the caller; rolled back on error.

        Write sessions on SQLite start with ``BEGIN IMMEDIATE`` so concurrent writers
        queue on the busy timeout instead of failing when they upgrade their lock.
        """
        from sqlmodel import Session

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
        """Close the idle connections and the engine's pool (both are made anew when
        needed); connections in use are closed when they come back."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for conn in idle:
            conn.close()
        if self._engine is not None:
            self._engine.dispose()


def _sqlite_pragmas(conn: sqlite3.Connection, busy_timeout_ms: int, max_pages: int) -> None:
    cur = conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cur.execute("PRAGMA foreign_keys=ON")
    if max_pages:  # fault injection for the tests: a "full disk" at this size
        cur.execute(f"PRAGMA max_page_count={max_pages}")
    # a read-only file or folder: reads still work, writes report it
    with suppress(sqlite3.OperationalError):
        cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def _sqlite_engine(db: Database) -> Engine:
    from sqlalchemy import create_engine, event

    # Sessions end their own transactions (commit, or rollback on close), so the pool
    # need not roll back once more on every check-in.
    engine = create_engine(
        db.url, connect_args={"timeout": db.busy_timeout_ms / 1000}, pool_reset_on_return=None
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        _sqlite_pragmas(dbapi_conn, db.busy_timeout_ms, db.max_pages)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read = conn.get_execution_options().get("regie_read", False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine


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

    def all_in(
        self, sql: str, ids: Sequence[Any], params: Sequence[Any] = (), *, size: int = 400
    ) -> list[tuple[Any, ...]]:
        """:meth:`all` of ``sql``, whose ``{marks}`` is an IN list, for ``ids`` a chunk at a
        time (SQLite takes at most 32,766 parameters); ``params`` follow each chunk's."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(ids), size):
            chunk = list(ids[start : start + size])
            marks = ", ".join("?" for _ in chunk)
            rows += self.all(sql.format(marks=marks), (*chunk, *params))
        return rows

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


class DbSession:
    """A unit of work on one pooled DBAPI connection (see :meth:`Database.transaction`):
    on SQLite one of the database's own sqlite3 connections, else one of the engine's.

    It has what the services use of a session: ``commit``, ``rollback`` and ``info``;
    :class:`Tx` reads and writes through its cursor.
    """

    def __init__(self, db: Database, *, write: bool = True, durable: bool = True) -> None:
        self.db = db
        self._relaxed = not durable
        self.info: dict[str, Any] = {}
        self._fairy: Any = None  # the engine's pooled connection, when it is one of those
        self._generation = 0
        conn: Any
        if db.own_connections:
            self.dialect = "sqlite"
            conn, self._generation = db._checkout()
        else:
            self.dialect = "sqlite" if db.is_sqlite else db.engine.dialect.name
            self._fairy = db.engine.raw_connection()
            conn = self._fairy.driver_connection  # never None for a live connection
        self._conn = conn
        self.cursor: Any = conn.cursor()
        self._open = False
        self._write = write
        self._locked_at = 0.0  # perf_counter() when BEGIN IMMEDIATE got the lock (traced)
        try:
            self._begin()
        except BaseException:  # e.g. busy past the timeout: give the connection back
            self._release()
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
        clean = False
        try:
            self.rollback()
            if self._relaxed and self.dialect == "sqlite":
                self._conn.execute("PRAGMA synchronous=FULL")  # the pool's default again
            clean = True
        finally:
            self._release(reuse=clean)

    def _release(self, *, reuse: bool = False) -> None:
        """Give the connection back; one whose transaction or settings could not be reset
        is closed instead of kept for reuse."""
        self.cursor.close()
        if self._fairy is not None:
            self._fairy.close()
        elif reuse:
            self.db._checkin(self._conn, self._generation)
        else:
            self._conn.close()


if TYPE_CHECKING:
    AnySession: TypeAlias = Session | DbSession
else:
    # Annotations are not evaluated at run time, and importing sqlmodel for this name alone
    # would cost every command ~170 ms; services take an ORM Session too (see Tx).
    AnySession = DbSession
