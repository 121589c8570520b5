"""Files regie makes (issue #14): the database with its WAL and SHM files, backups and the
mail sink's .eml files are 0600 and the folders it makes 0700, whatever the umask; a
backup never writes through a file or link already at its temporary path, and a folder it
cannot write in is named in the error."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from regie.cli import cli
from regie.notifications.sink import MailSink

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "foodvalley.toml"


def run(db: Path, *args: str) -> Result:
    env = {"REGIE_DB": None, "REGIE_DEBUG": None, "REGIE_NOW": "2026-11-23T10:00",
           "REGIE_USER": "coordinator", "REGIE_KEY_FILE": None, "REGIE_SECRET": None}  # fmt: skip
    result = CliRunner().invoke(cli, ["--db", str(db), *args], env=env)
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077])
def test_database_wal_shm_backup_and_mail_are_private_whatever_the_umask(
    tmp_path: Path, mask: int
) -> None:
    db = tmp_path / "regie.db"
    with umask(mask):
        r = run(db, "init", "--config", str(CONFIG))
        assert r.exit_code == 0, r.output
        with closing(sqlite3.connect(db)) as held:  # keeps the WAL and SHM files there
            held.execute("SELECT COUNT(*) FROM audit_event").fetchone()
            r = run(db, "submit", "--title", "T", "--purpose", "adoption", "--table",
                    "tafel-model", "--party", "ede")  # fmt: skip
            assert r.exit_code == 0, r.output
            made = {p.name: mode(p) for p in tmp_path.iterdir()}
            assert {"regie.db", "regie.db-wal", "regie.db-shm"} <= set(made)
            assert set(made.values()) == {0o600}, made  # the key file too
        r = run(db, "db", "backup", str(tmp_path / "copy.db"))
        assert r.exit_code == 0, r.output
        assert mode(tmp_path / "copy.db") == 0o600
        sink = MailSink(tmp_path / "mail" / "out")
        stored = sink.store("a@x.org", ["b@x.org"], b"Subject: s\r\n\r\nbody\r\n")
    assert stored.path is not None and mode(stored.path) == 0o600
    assert mode(tmp_path / "mail") == mode(tmp_path / "mail" / "out") == 0o700


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir(mode=0o755)
    os.chmod(tmp_path / "shared", 0o755)
    MailSink(tmp_path / "shared" / "mine")
    assert mode(tmp_path / "shared") == 0o755 and mode(tmp_path / "shared" / "mine") == 0o700


def _error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("regie: error: "), result.stderr
    return lines[0]


def test_backup_refuses_a_link_at_its_temporary_path(db_file: Path, tmp_path: Path) -> None:
    """The copy used to follow a link planted at `.FILE.partial-PID` (and the clean-up
    removed it): someone who may write in the folder could have made regie write
    elsewhere."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "backups" / "b.db"
    target.parent.mkdir()
    planted = target.with_name(f".b.db.partial-{os.getpid()}")  # CliRunner: this process
    planted.symlink_to(victim)
    line = _error_line(run(db_file, "db", "backup", str(target)), 2)
    assert f"cannot write the backup {target}: {planted} exists already" in line
    assert planted.is_symlink() and victim.read_text() == "keep me"
    assert not target.exists()
    planted.unlink()
    Path(f"{planted}-journal").write_text("")  # SQLite would use it as the copy's journal
    line = _error_line(run(db_file, "db", "backup", str(target)), 2)
    assert f"{planted}-journal exists already" in line
    Path(f"{planted}-journal").unlink()
    assert run(db_file, "db", "backup", str(target)).exit_code == 0
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.db"]


def _unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
        return folder
    folder = Path("/sys")  # root may write everywhere, but not in sysfs
    try:
        os.close(os.open(folder / "regie-probe", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        return folder
    os.unlink(folder / "regie-probe")
    # a capability of the machine, not of regie: skipped where root may write in /sys,
    # but never in CI, where this check is required
    if os.environ.get("CI"):
        pytest.fail("CI machine without a folder root cannot write in (/sys is writable)")
    pytest.skip("no folder here that this user cannot write in")


def test_backup_into_a_folder_it_cannot_write_names_the_target(
    db_file: Path, tmp_path: Path
) -> None:
    """Used to blame the database: "<db>: cannot open the database file"."""
    folder = _unwritable_folder(tmp_path)
    target = folder / "regie-backup.db"
    line = _error_line(run(db_file, "db", "backup", str(target)), 2)
    assert f"cannot write the backup {target}" in line and f"in folder {folder}" in line
    assert str(db_file) not in line
    assert not target.exists()
