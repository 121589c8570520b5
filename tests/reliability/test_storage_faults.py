"""Storage faults: one clear message, a non-zero exit code, and the database as before.

Tests run as root in CI, where file permissions do not stop writes: the read-only case
opens the file through a read-only SQLite URI (and, where the file system allows it,
with the immutable attribute, which stops root too).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from regie.text_input import SUMMARY_MAX
from reliability import driver as d

REGIE = Path(sys.executable).with_name("regie")
WRITE = [
    "submit",
    "--title",
    "Written?",
    "--purpose",
    "adoption",
    "--table",
    "tafel-model",
    "--party",
    "ede",
]


def snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table: 'exactly as before' means this is equal."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_error(out: d.Outcome, *needles: str, code: int = 3) -> None:
    assert out.code == code, out
    assert not out.bad, out.bad
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("regie: error: "), out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def assert_unchanged(db: Path, before: dict[str, list[tuple[object, ...]]]) -> None:
    assert snapshot(db) == before
    assert d.run(db, ["check"]).code == 0


def test_disk_full(scenario_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(scenario_db)
    with closing(sqlite3.connect(scenario_db)) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    monkeypatch.setenv("REGIE_SQLITE_MAX_PAGES", str(pages))
    # enough new pages to need more than the file has: the longest summary there may be
    out = d.run(scenario_db, [*WRITE, "--summary", "x" * SUMMARY_MAX])
    assert_one_error(out, "is full", "nothing was written")
    monkeypatch.delenv("REGIE_SQLITE_MAX_PAGES")
    assert_unchanged(scenario_db, before)


def test_read_only_uri(scenario_db: Path) -> None:
    before = snapshot(scenario_db)
    url = f"sqlite:///file:{scenario_db}?mode=ro&uri=true"
    out = d.run(url, WRITE)
    assert_one_error(out, str(scenario_db), "read-only", "nothing was written")
    assert d.run(url, ["show", "P-2026-001"]).code == 0  # reading still works
    assert d.run(url, ["check"]).code == 0
    assert_unchanged(scenario_db, before)


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    if shutil.which("chattr") is None:
        pytest.skip("no chattr")
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i not possible here: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_read_only_file(scenario_db: Path) -> None:
    before = snapshot(scenario_db)
    if os.geteuid() != 0:
        scenario_db.chmod(0o444)
        out = d.run(scenario_db, WRITE)
        scenario_db.chmod(0o644)
    else:
        with immutable(scenario_db):
            out = d.run(scenario_db, WRITE)
    assert_one_error(out, "read-only", "nothing was written")
    assert_unchanged(scenario_db, before)


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@contextmanager
def locked(db: Path) -> Iterator[None]:
    with subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "locked"
            yield
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)


def test_locked_past_busy_timeout(scenario_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(scenario_db)
    monkeypatch.setenv("REGIE_BUSY_TIMEOUT_MS", "300")
    with locked(scenario_db):
        out = d.run(scenario_db, WRITE)
        assert_one_error(
            out,
            "another process has held its write lock for more than 0.3 s",
            "nothing was written",
        )
        assert d.run(scenario_db, ["show", "P-2026-001"]).code == 0  # readers go on
    assert_unchanged(scenario_db, before)


def _regie(db: Path | str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "REGIE_NOW": d.START, "REGIE_USER": d.COORDINATOR, **env}
    full_env.pop("REGIE_DEBUG", None)
    return subprocess.run(
        [str(REGIE), "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def as_outcome(done: subprocess.CompletedProcess[str]) -> d.Outcome:
    return d.Outcome(done.returncode, done.stdout, done.stderr)


def test_locked_real_process(scenario_db: Path) -> None:
    before = snapshot(scenario_db)
    with locked(scenario_db):
        done = _regie(scenario_db, *WRITE, REGIE_BUSY_TIMEOUT_MS="200")
    assert_one_error(as_outcome(done), "held its write lock")
    assert_unchanged(scenario_db, before)


def test_random_bytes(tmp_path: Path) -> None:
    db = tmp_path / "noise.db"
    db.write_bytes(random.Random(1).randbytes(64 * 1024))
    before = digest(db)
    for args in (WRITE, ["list"], ["check"]):
        assert_one_error(d.run(db, args), "not a regie database or it is damaged")
    assert digest(db) == before


def test_other_sqlite_database(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
        conn.execute("INSERT INTO invoices (amount) VALUES (12.5)")
        conn.commit()
    before = snapshot(db)
    for args in (WRITE, ["check"], ["init", "--config", str(d.CONFIG)]):
        assert_one_error(d.run(db, args), "not made by regie")
    assert snapshot(db) == before


def test_truncated_database(scenario_db: Path) -> None:
    data = scenario_db.read_bytes()
    scenario_db.write_bytes(data[: len(data) // 2])
    before = digest(scenario_db)
    for args in (["list"], ["check"], ["audit", "verify"]):
        out = d.run(scenario_db, args)
        assert out.code != 0 and not out.bad, (args, out)
        assert "damaged" in out.stderr or "problem" in out.stderr, out.stderr
    assert digest(scenario_db) == before


def test_corrupted_pages(scenario_db: Path) -> None:
    data = bytearray(scenario_db.read_bytes())
    page = 4096
    noise = random.Random(2).randbytes(page)
    for n in range(2, len(data) // page):  # all but the first page (the schema stays)
        data[n * page : (n + 1) * page] = noise
    scenario_db.write_bytes(bytes(data))
    before = digest(scenario_db)
    for args in (["list"], ["check"], WRITE):
        out = d.run(scenario_db, args)
        assert out.code != 0 and not out.bad, (args, out)
        assert "damaged" in out.stderr or "problems found" in out.stderr, out.stderr
    assert digest(scenario_db) == before


def test_newer_schema(scenario_db: Path) -> None:
    with closing(sqlite3.connect(scenario_db)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        conn.commit()
    before = snapshot(scenario_db)
    for args in (WRITE, ["list"], ["check"], ["init", "--config", str(d.CONFIG)]):
        assert_one_error(
            d.run(scenario_db, args), "schema version 9999_from_the_future", "newer regie"
        )
    done = _regie(scenario_db, "list")
    assert_one_error(as_outcome(done), "newer regie")
    assert snapshot(scenario_db) == before
