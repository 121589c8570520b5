"""Where the database is: ``--db`` values and URLs, and the file of a new SQLite database.

Part of :mod:`regie.engine.storage` (which re-exports :func:`database_url` and
:func:`sqlite_file`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from regie.engine.db_errors import redact
from regie.errors import StorageError, UsageError
from regie.private_files import create_file

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from regie.engine.storage import Database

DEFAULT_DB = "regie.db"


def database_url(db: str | None) -> str:
    """``--db`` value, else ``REGIE_DB``, else ``./regie.db``; a plain path means SQLite."""
    value = db or os.environ.get("REGIE_DB") or DEFAULT_DB
    if "://" in value:
        return value
    if "?" in value:  # in the URL it would start the query: another file would be opened
        raise UsageError(
            f"{value}: a '?' in the database's path is not supported (the file would be "
            "taken for another one); use a path without '?'"
        )
    try:
        return f"sqlite:///{Path(value).expanduser()}"
    except RuntimeError:  # "~someone" without such a user
        raise StorageError(
            f"{value}: no such home folder; give the database path in full"
        ) from None


def sqlite_file(url: str) -> str:
    """The file of an SQLite URL, also for ``sqlite:///file:PATH?mode=ro&uri=true``."""
    if "///" not in url:
        return ":memory:"
    path = url.split("///", 1)[1]
    if "uri=true" in path and path.startswith("file:"):
        path = path[len("file:") :].split("?", 1)[0]
    return path


def sqlite_target(url: str) -> tuple[str, bool]:
    """What :func:`sqlite3.connect` opens for an SQLite URL, and whether it is a URI, as
    SQLAlchemy's pysqlite dialect reads the URL: ``sqlite:///file:PATH?mode=ro&uri=true``
    opens ``file:PATH?mode=ro`` as a URI; without ``uri=true`` a query is not part of the
    file name."""
    if "///" not in url:
        return ":memory:", False
    path, _, query = url.split("///", 1)[1].partition("?")
    params = [p for p in query.split("&") if p]
    if "uri=true" not in params:
        return path or ":memory:", False
    rest = [p for p in params if p != "uri=true"]
    return (f"{path}?{'&'.join(rest)}" if rest else path), True


SUPPORTED = (
    "SQLite (a file path, or sqlite:///PATH) and PostgreSQL (postgresql+psycopg://USER@HOST/DB)"
)


def server_engine(url: str) -> Engine:
    """The engine of a database server; a URL regie cannot use is a usage error that says
    which ones it can."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    where = redact(url)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise UsageError(f"{where}: not a database URL; regie works with {SUPPORTED}") from None
    if backend != "postgresql":
        raise UsageError(
            f"{where}: regie does not work with {backend or 'this'} databases, only with "
            f"{SUPPORTED}; check --db / REGIE_DB"
        )
    try:
        # Times are stored as UTC; the server must read naive values as UTC too.
        return create_engine(url, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"})
    except NoSuchModuleError:
        raise UsageError(
            f"{where}: unknown PostgreSQL driver; use postgresql+psycopg://USER@HOST/DB"
        ) from None
    except ImportError as exc:
        raise UsageError(
            f"{where}: the PostgreSQL driver ({exc.name or 'psycopg'}) is not installed; "
            "pip install 'regie[postgres]'"
        ) from None


def create_database_file(db: Database) -> None:
    """Create the file of a new SQLite database, private (0600), before SQLite opens it:
    SQLite gives its WAL, SHM and journal files the mode of the database file."""
    if not db.is_sqlite or db.path in ("", ":memory:") or os.path.lexists(db.path):
        return
    try:
        os.close(create_file(db.path))
    except FileExistsError:
        return  # made meanwhile by a concurrent 'regie init'
    except OSError as exc:
        folder = os.path.dirname(os.path.abspath(db.path))
        raise StorageError(
            f"{db.path}: cannot create the database file ({exc.strerror or exc}); check that "
            f"the folder {folder} exists and that you may write in it, or use another --db"
        ) from None
