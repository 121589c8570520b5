"""Files and folders regie creates are private to their owner, whatever the umask.

Database files (SQLite copies their mode to the WAL, SHM and journal files), backups and
the mail sink's ``.eml`` files are created 0600; folders regie creates are 0700. A file is
created with ``O_EXCL``: an existing file, or a symbolic link someone left in its place, is
never written through.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def create_file(path: str | os.PathLike[str]) -> int:
    """Create ``path`` with mode 0600 and return it opened for writing (a file descriptor).
    Raises ``FileExistsError`` when anything, a link too, is there already."""
    fd = os.open(path, _CREATE | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # the umask may have taken bits away; never added any
    except BaseException:
        os.close(fd)
        raise
    return fd


def make_dirs(path: str | os.PathLike[str]) -> None:
    """Create the folder ``path`` and its missing parents, each 0700; folders that exist
    already are left as they are."""
    missing: list[Path] = []
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        try:
            new.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to change
        os.chmod(new, DIR_MODE)
