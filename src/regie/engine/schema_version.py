"""The schema version: which ones this regie knows, which one a database has, upgrading.

Daily commands only check the version (:func:`require_schema`): on SQLite with one query on
sqlite's own catalogue and one on ``alembic_version``, and with the known versions written
down here, so they import neither Alembic nor SQLAlchemy. ``regie init`` upgrades with
Alembic (:func:`upgrade`). Part of :mod:`regie.engine.storage`, which re-exports all of it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from regie.engine.db_errors import redact, storage_errors
from regie.engine.db_url import create_database_file
from regie.errors import StorageError

if TYPE_CHECKING:
    from regie.engine.storage import Database

# The revisions of engine/migrations/versions, oldest first. A new migration adds its
# revision here (tests/engine/test_schema_version.py compares this with Alembic's view).
REVISIONS: tuple[str, ...] = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
    "0015",
    "0016",
)

# sqlite_master: how many tables the database has (SQLite's own left out, as SQLAlchemy's
# inspector does) and whether alembic_version is one of them
_SQLITE_TABLES = (
    "SELECT count(*), coalesce(sum(name = 'alembic_version'), 0) FROM sqlite_master "
    "WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
)


def head_revision() -> str:
    """The newest schema version, the one this regie works on."""
    return REVISIONS[-1]


def known_revisions() -> frozenset[str]:
    return frozenset(REVISIONS)


def alembic_config(connection: Any = None, *, is_sqlite: bool = True) -> Any:
    """The Alembic configuration of regie's migrations (imports Alembic)."""
    from importlib.resources import files

    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("regie.engine") / "migrations"))
    cfg.attributes["connection"] = connection
    cfg.attributes["is_sqlite"] = is_sqlite
    return cfg


def _where(db: Database) -> str:
    return db.path or redact(db.url)


def _foreign(db: Database) -> StorageError:
    return StorageError(
        f"{_where(db)}: this database was not made by regie (it has tables but no regie "
        "schema version); use another --db"
    )


def current_revision(db: Database) -> str | None:
    """The schema version of the database; None for an empty one. A database with tables
    but no version is refused (not regie's)."""
    if not db.is_sqlite:
        return _server_revision(db)
    with db.transaction(write=False) as session:
        tables, versioned = session.cursor.execute(_SQLITE_TABLES).fetchone()
        if not versioned:
            if tables:
                raise _foreign(db)
            return None
        row = session.cursor.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row is not None and row[0] is not None else None


def _server_revision(db: Database) -> str | None:
    from sqlalchemy import inspect

    reading = db.engine.execution_options(regie_read=True)
    with storage_errors(db), reading.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            if inspect(conn).get_table_names():
                raise _foreign(db)
            return None
        rev = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        return str(rev) if rev is not None else None


def upgrade(db: Database) -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command

    create_database_file(db)
    check_not_newer(db, current_revision(db))
    with storage_errors(db), db.engine.begin() as conn:
        command.upgrade(alembic_config(conn, is_sqlite=db.is_sqlite), "head")


def check_not_newer(db: Database, rev: str | None) -> None:
    if rev is not None and rev not in known_revisions():
        raise StorageError(
            f"{_where(db)}: the database has schema version {rev}, made by a newer regie "
            "than this one; upgrade regie (pip install -U regie) to use it"
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
            f"{_where(db)}: no regie database here yet; run 'regie init --config FILE' first"
        )
    check_not_newer(db, rev)
    if rev != head_revision():
        raise StorageError(
            f"{_where(db)}: the database schema ({rev}) is older than this regie; run "
            "'regie init --config FILE' to upgrade it"
        )
