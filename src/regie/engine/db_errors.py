"""Driver errors translated: what "this database cannot be used" looks like to a person.

Part of :mod:`regie.engine.storage` (which re-exports :func:`storage_errors`); no other
module reads driver error texts.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from regie.errors import StorageError

if TYPE_CHECKING:
    from regie.engine.storage import Database

BUSY_TIMEOUT_MS = 5000

_MESSAGES = (
    (
        "database is locked",
        "the database is busy: another process has held its write lock for more than "
        "{timeout}; wait for it to finish (a running 'regie' command?) and try again; nothing "
        "was written",
    ),
    (
        "database or disk is full",
        "the disk (or the database's size limit) is full; free space "
        "and try again; nothing was written",
    ),
    (
        "attempt to write a readonly database",
        "the database file is read-only; check its "
        "permissions (and those of its folder) or use another --db; nothing was written",
    ),
    (
        "readonly database",
        "the database file is read-only; check its permissions (and those "
        "of its folder) or use another --db; nothing was written",
    ),
    (
        "file is not a database",
        "the file is not a regie database or it is damaged; check "
        "--db / REGIE_DB, or restore a backup",
    ),
    (
        "database disk image is malformed",
        "the database file is damaged; restore a backup (see README, 'Backup and restore')",
    ),
    (
        "unable to open database file",
        "cannot open the database file; check that its folder exists and is writable",
    ),
)


def storage_message(
    exc: BaseException, where: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> str | None:
    text = str(getattr(exc, "orig", exc)).lower()
    timeout = f"{busy_timeout_ms / 1000:g} s"
    for needle, message in _MESSAGES:
        if needle in text:
            return f"{where}: {message.replace('{timeout}', timeout)}"
    if "connection" in text and ("refused" in text or "failed" in text):
        return f"{where}: cannot connect to the database server; is it running?"
    return None


@contextmanager
def storage_errors(db: Database) -> Iterator[None]:
    """Turn driver errors that mean 'unusable database' into StorageError."""
    where = db.path or redact(db.url)
    try:
        yield
    except Exception as exc:
        if not is_driver_error(exc):
            raise
        message = storage_message(exc, where, db.busy_timeout_ms)
        if message is None:
            raise
        raise StorageError(message) from exc


def is_driver_error(exc: BaseException) -> bool:
    """An error of the database driver: sqlite3's own, or one SQLAlchemy wrapped (checked
    only when SQLAlchemy is loaded already: the SQLite path of daily commands never loads
    it)."""
    if isinstance(exc, sqlite3.DatabaseError):
        return True
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.DBAPIError)


def redact(url: str) -> str:
    """A database URL with its password replaced by ``***``, for messages."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
