"""`regie db backup FILE`: an online, consistent copy of an SQLite database.

The copy is made with SQLite's backup API in one step, inside one read transaction: in
WAL mode that is a snapshot of the last committed state, and writers go on meanwhile
(they are not blocked and do not restart the copy). The copy is written next to the
target under a temporary name, synced, checked with ``PRAGMA integrity_check`` and then
renamed into place, so FILE is either the complete backup or not there at all.
PostgreSQL has its own tool for this: ``pg_dump``.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regie.engine.storage import Database, storage_errors
from regie.errors import StorageError, UsageError


@dataclass(frozen=True)
class BackupReport:
    source: str
    target: str
    bytes: int
    pages: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def backup_database(
    *, db: Database, target: str | os.PathLike[str], force: bool = False
) -> BackupReport:
    """Copy ``db`` to ``target``; refuses to overwrite an existing file unless ``force``."""
    if not db.is_sqlite:
        raise UsageError(
            "backups of a PostgreSQL database are made with the server's own tool: "
            "pg_dump --format=custom --file FILE DBNAME (restore with pg_restore)"
        )
    if not str(target).strip() or "\x00" in str(target):
        raise UsageError(f"{target!r} is not a usable file name for the backup; give a path")
    if "\x00" in os.fspath(target) or not os.fspath(target).strip():
        raise UsageError(f"{os.fspath(target)!r} is not a usable file name")
    try:
        dest = Path(target).expanduser()
    except RuntimeError:
        raise UsageError(f"{target!r}: cannot expand '~'; give a full path") from None
    if dest.exists() and not force:
        raise UsageError(
            f"{dest} exists already; choose another file or pass --force to replace it"
        )
    if dest.is_dir():
        raise UsageError(f"{dest} is a folder; give a file name, e.g. {dest / 'regie-backup.db'}")
    if not dest.parent.is_dir():
        raise UsageError(f"folder {dest.parent} does not exist; create it first")
    if db.path != ":memory:" and Path(db.path).resolve() == dest.resolve():
        raise UsageError(f"{dest} is the database itself; back up to another file")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        pages = _copy(db, partial)
        _fsync(partial)
        os.replace(partial, dest)
        _fsync_dir(dest.parent)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(db.path, str(dest), dest.stat().st_size, pages)


def _copy(db: Database, partial: Path) -> int:
    with storage_errors(db):
        raw = db.engine.raw_connection()
        try:
            src = raw.driver_connection
            assert isinstance(src, sqlite3.Connection)
            with closing(sqlite3.connect(partial, isolation_level=None)) as dst:
                src.backup(dst)  # pages=-1: all in one step, one consistent snapshot
                result = dst.execute("PRAGMA integrity_check").fetchone()
                pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            raw.close()
    if result is None or result[0] != "ok":
        raise StorageError(
            f"{partial}: the copy does not pass the integrity check "
            f"({result[0] if result else 'no answer'}); nothing was written"
        )
    return pages


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
