"""Benchmark: `regie check` and `regie audit verify` at 10,000 and 100,000 proposals
(issue 15, goal 5).

By default the databases are realistic (``bench/check_world.py``: ten years of meetings of
every body, a few hundred proposals driven through the engine services with attendance,
substitutes, prior positions, routes, approved agendas and decisions, then replicated with
every event appended through the real audit chain); ``--simple`` uses ``bench/scale.py``'s
generator instead (one ``submitted`` event per proposal). The bench stops unless ``regie
audit verify`` and ``regie check`` find each database whole. Each command runs as a
subprocess (``--json``, so no progress bar); the bench prints its wall time and its peak
resident memory (``ru_maxrss`` of the finished child, via ``os.wait4``). Not a test:

    python bench/check_scale.py [--sizes 10000 100000] [--simple] [--keep]
"""

from __future__ import annotations

import sys
from pathlib import Path

# keep bench/ off the import path (bench/transitions.py is named like a library)
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import closing  # noqa: E402
from typing import Any  # noqa: E402

REGIE = str(Path(sys.executable).with_name("regie"))


def _scale(name: str = "scale") -> Any:
    """bench/NAME.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"regie_bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(db: Path, *args: str) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds, peak RSS in MB and the JSON output of `regie --db DB ARGS`."""
    env = {**os.environ}
    env.pop("REGIE_LANG", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([REGIE, "--db", str(db), *args], env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
        took = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"regie {' '.join(args)}: {err.read().decode()}")
        return took, usage.ru_maxrss / 1024, json.loads(out.read())


def _counts(path: Path) -> tuple[int, int]:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = conn.execute(
            "SELECT (SELECT COUNT(*) FROM proposal), (SELECT COUNT(*) FROM audit_event)"
        ).fetchone()
    return int(row[0]), int(row[1])


def _simple() -> Callable[[Path, int], tuple[int, int]]:
    scale = _scale()

    def make(path: Path, n: int) -> tuple[int, int]:
        scale.generate(path, n)
        return _counts(path)

    return make


def _realistic(workdir: Path) -> Callable[[Path, int], tuple[int, int]]:
    """The template is driven through the engine once; each size replicates it."""
    world = _scale("check_world")
    config = world.ten_year_config(workdir / "ten-years.toml")
    started = time.perf_counter()
    made = world.template(workdir / "template.db", config, 1)
    print(
        f"template: {made['calls']} engine calls in {time.perf_counter() - started:.0f} s "
        f"({made['refused']} refused), meetings {world.local_years(workdir / 'template.db')}",
        flush=True,
    )

    def make(path: Path, n: int) -> tuple[int, int]:
        started = time.perf_counter()
        world.replicate(workdir / "template.db", made["after_init"], config, path, n)
        rows = _counts(path)
        print(f"{n:,} proposals: replicated in {time.perf_counter() - started:.0f} s", flush=True)
        return rows

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--keep", action="store_true", help="Keep the generated databases.")
    parser.add_argument(
        "--simple", action="store_true", help="bench/scale.py's databases (submitted only)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="regie-check-scale-"))
    try:
        make = _simple() if args.simple else _realistic(workdir)
        print("| proposals | events | command | s | peak RSS MB | result |")
        print("|---|---|---|---|---|---|")
        for n in args.sizes:
            path = workdir / f"scale-{n}.db"
            rows = make(path, n)
            for argv in (("check", "--json"), ("audit", "verify", "--json")):
                took, rss, found = measure(path, *argv)
                result = "ok" if found.get("ok") else json.dumps(found)[:200]
                print(
                    f"| {rows[0]:,} | {rows[1]:,} | `regie {' '.join(argv)}` "
                    f"| {took:.1f} | {rss:.0f} | {result} |",
                    flush=True,
                )
                if not found.get("ok"):
                    raise SystemExit(f"regie {' '.join(argv)} found problems: {result}")
    finally:
        if args.keep:
            print(f"\ndatabases kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
