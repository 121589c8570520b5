"""Start-up and write-lock hold of the `regie` command (issue 15, goals 1 and 2).

Every figure is the median wall time of real subprocesses, against
``python -c "import click"`` measured in the same run:

- ``regie --help`` and ``regie advance --help`` (goal: <= 2x import click);
- ``regie show`` (a read) and ``regie advance`` (a write) (goal: <= 5x import click);
- the write lock held by ``regie advance``: from ``BEGIN IMMEDIATE`` to ``COMMIT``, as
  ``REGIE_TRACE_LOCK`` records it (goal: median <= 5 ms). Each advance runs on its own copy
  of a database prepared once (FoodValley config, one proposal submitted), with the clock
  at the start of its meeting.

Run: ``.venv/bin/python bench/startup.py [--runs 20]``; prints a Markdown section for
bench/RESULTS.md ("Start-up and lock hold (issue 15, goals 1-2)").
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "foodvalley.toml"
REGIE = str(Path(sys.executable).with_name("regie"))
SUBMIT_AT = "2026-11-23T10:00"
MEETING_AT = "2026-12-08T09:31"  # just after the start of the proposal's table meeting
PROPOSAL = "P-2026-001"


def _env(db: Path, now: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    return {**env, "REGIE_DB": str(db), "REGIE_NOW": now, "REGIE_USER": "coordinator", **extra}


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Wall milliseconds of one subprocess; it must succeed."""
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def _median(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    _timed(cmd, env)  # warm: bytecode and page cache
    return statistics.median(_timed(cmd, env) for _ in range(runs))


def prepared(folder: Path) -> Path:
    """A database with the FoodValley region and one proposal on its table meeting."""
    db = folder / "template.db"
    env = _env(db, SUBMIT_AT)
    _timed([REGIE, "init", "--config", str(CONFIG)], env)
    submit = ["submit", "--title", "Bench", "--purpose", "adoption", "--table", "tafel-model"]
    _timed([REGIE, *submit, "--party", "ede"], env)
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def _copy(template: Path, target: Path) -> Path:
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    shutil.copy2(f"{template}.key", f"{target}.key")  # keeps its mode (0600)
    return target


def advances(template: Path, folder: Path, runs: int) -> tuple[list[float], list[float]]:
    """``regie advance`` on a fresh copy each time: (wall ms, lock held ms) per run."""
    trace = folder / "lock.trace"
    walls: list[float] = []
    for _ in range(runs + 1):  # the first one warms the caches and is not counted
        db = _copy(template, folder / "run.db")
        walls.append(_timed([REGIE, "advance", PROPOSAL], _env(db, MEETING_AT)))
    trace.unlink(missing_ok=True)
    walls = walls[1:]
    for _ in range(runs):
        db = _copy(template, folder / "run.db")
        _timed([REGIE, "advance", PROPOSAL], _env(db, MEETING_AT, REGIE_TRACE_LOCK=str(trace)))
    held = [float(line.split()[0]) for line in trace.read_text().splitlines()]
    return walls, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        template = prepared(folder)
        click_ms = _median([sys.executable, "-c", "import click"], runs)
        help_ms = _median([REGIE, "--help"], runs)
        cmd_help_ms = _median([REGIE, "advance", "--help"], runs)
        show_ms = _median([REGIE, "show", PROPOSAL], runs, _env(template, MEETING_AT))
        walls, held = advances(template, folder, runs)
    advance_ms = statistics.median(walls)
    rows = [
        ('`python -c "import click"`', click_ms, "1.0", "-"),
        ("`regie --help`", help_ms, f"{help_ms / click_ms:.1f}", "<= 2"),
        ("`regie advance --help`", cmd_help_ms, f"{cmd_help_ms / click_ms:.1f}", "<= 2"),
        ("`regie show P-2026-001`", show_ms, f"{show_ms / click_ms:.1f}", "<= 5"),
        ("`regie advance P-2026-001`", advance_ms, f"{advance_ms / click_ms:.1f}", "<= 5"),
    ]
    print(f"`.venv/bin/python bench/startup.py --runs {runs}` ({time.strftime('%Y-%m-%d')}, "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs; medians of {runs} runs)")  # fmt: skip
    print()
    print("| command | median ms | x import click | goal |")
    print("|---|---|---|---|")
    for name, ms, ratio, goal in rows:
        print(f"| {name} | {ms:.0f} | {ratio} | {goal} |")
    print()
    print(
        f"Write lock held by `regie advance` (BEGIN IMMEDIATE to COMMIT, REGIE_TRACE_LOCK, "
        f"{len(held)} transactions): median **{statistics.median(held):.2f} ms**, "
        f"min {min(held):.2f}, max {max(held):.2f} (goal: median <= 5 ms)."
    )


if __name__ == "__main__":
    main()
