"""`regie db backup FILE`: an online, consistent copy of an SQLite database.

The copy is made with SQLite's backup API in one step, inside one read transaction: in
WAL mode that is a snapshot of the last committed state, and writers go on meanwhile
(they are not blocked and do not restart the copy). The copy is written next to the
target under a temporary name, synced, checked with ``PRAGMA integrity_check`` and then
renamed into place, so FILE is either the complete backup or not there at all. The
temporary file is created 0600 with ``O_EXCL`` (a file or link already there is refused,
never written through), so the backup is private to its owner whatever the umask.
PostgreSQL has its own tool for this: ``pg_dump``.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regie import private_files
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
    dest = _target(db, target, force)
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    fd = _create_partial(partial, dest)
    try:
        ours = os.fstat(fd)
        try:
            pages = _copy(db, partial, ours, dest)
            os.fsync(fd)
            os.replace(partial, dest)
        except BaseException:
            _remove_if_ours(partial, ours)
            raise
    finally:
        os.close(fd)
    _fsync_dir(dest.parent)
    return BackupReport(db.path, str(dest), dest.stat().st_size, pages)


def _target(db: Database, target: str | os.PathLike[str], force: bool) -> Path:
    text = os.fspath(target)
    if not text.strip() or "\x00" in text:
        raise UsageError(f"{text!r} is not a usable file name for the backup; give a path")
    if "?" in text:  # a database URL would read the rest as options: the check opened another
        raise UsageError(
            f"{text!r}: a backup's file name cannot contain '?'; choose a name without it"
        )
    try:
        dest = Path(text).expanduser()
    except RuntimeError:
        raise UsageError(f"{text!r}: cannot expand '~'; give a full path") from None
    try:
        folder = dest.is_dir()
    except OSError as exc:  # a name too long for the file system, say
        raise UsageError(
            f"{text[:80]!r}{'…' if len(text) > 80 else ''} is not a usable file name for the "
            f"backup ({exc.strerror or exc}); give a shorter path"
        ) from None
    if folder:
        raise UsageError(f"{dest} is a folder; give a file name, e.g. {dest / 'regie-backup.db'}")
    if os.path.lexists(dest) and not force:
        raise UsageError(
            f"{dest} exists already; choose another file or pass --force to replace it"
        )
    if not dest.parent.is_dir():
        raise UsageError(f"folder {dest.parent} does not exist; create it first")
    if db.path != ":memory:" and Path(db.path).resolve() == dest.resolve():
        raise UsageError(f"{dest} is the database itself; back up to another file")
    return dest


def _create_partial(partial: Path, dest: Path) -> int:
    """The temporary file the copy is written to, created 0600 with ``O_EXCL``: a file or
    link already there (or SQLite's files beside it) is refused, never written through."""
    for path in (partial, *(Path(f"{partial}{end}") for end in _SIDE_FILES)):
        if os.path.lexists(path):
            raise UsageError(
                f"cannot write the backup {dest}: {path} exists already (left by an interrupted "
                "backup, or put there by someone else); look at it, remove it and try again"
            )
    try:
        return private_files.create_file(partial)
    except FileExistsError:
        raise UsageError(
            f"cannot write the backup {dest}: {partial} appeared while it was being created; "
            "look at it, remove it and try again"
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot write the backup {dest}: {exc.strerror or exc} in folder {dest.parent}; "
            "choose a folder you may write in"
        ) from None


_SIDE_FILES = ("-journal", "-wal", "-shm")


def _copy(db: Database, partial: Path, ours: os.stat_result, dest: Path) -> int:
    with (
        storage_errors(db),
        closing(db.connect()) as src,
        closing(sqlite3.connect(partial, isolation_level=None)) as dst,
    ):
        if not _is_ours(partial, ours):
            raise UsageError(
                f"cannot write the backup {dest}: {partial} was replaced while the copy "
                "began (by another program?); nothing was written; try again"
            )
        result, pages = _fill(src, dst, dest)
    if result is None or result[0] != "ok":
        raise StorageError(
            f"{dest}: the copy does not pass the integrity check "
            f"({result[0] if result else 'no answer'}); nothing was written"
        )
    return pages


def _fill(src: sqlite3.Connection, dst: sqlite3.Connection, dest: Path) -> tuple[Any, int]:
    """Copy, check, and make the copy one self-contained file. No rollback journal during
    the copy (the rename makes it atomic); a write error names the backup, not the
    database."""
    try:
        dst.execute("PRAGMA journal_mode=OFF")
        src.backup(dst)  # pages=-1: all in one step, one consistent snapshot
        result = dst.execute("PRAGMA integrity_check").fetchone()
        pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no WAL
    except sqlite3.Error as exc:
        raise StorageError(
            f"cannot write the backup {dest}: {exc}; check the free space and permissions of "
            f"folder {dest.parent}; nothing was written"
        ) from None
    return result, pages


def _is_ours(path: Path, ours: os.stat_result) -> bool:
    try:
        now = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(now.st_mode) and (now.st_dev, now.st_ino) == (ours.st_dev, ours.st_ino)


def _remove_if_ours(partial: Path, ours: os.stat_result) -> None:
    """Remove the temporary copy after a failure, unless something else is there now."""
    if _is_ours(partial, ours):
        partial.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
