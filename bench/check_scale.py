"""Benchmark: `regie check` and `regie audit verify` at 10,000 and 100,000 proposals
(issue 15, goal 5).

The databases are made by ``bench/scale.py``'s generator (one proposal through the engine,
the rest inserted with SQL, one ``submitted`` audit event each). Each command runs as a
subprocess (``--json``, so no progress bar); the bench prints its wall time and its peak
resident memory (``ru_maxrss`` of the finished child, via ``os.wait4``). Not a test:

    python bench/check_scale.py [--sizes 10000 100000] [--keep]
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
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

REGIE = str(Path(sys.executable).with_name("regie"))


def _scale() -> Any:
    """bench/scale.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("regie_bench_scale", HERE / "scale.py")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--keep", action="store_true", help="Keep the generated databases.")
    args = parser.parse_args()
    scale = _scale()
    workdir = Path(tempfile.mkdtemp(prefix="regie-check-scale-"))
    try:
        print("| proposals | events | command | s | peak RSS MB | result |")
        print("|---|---|---|---|---|---|")
        for n in args.sizes:
            path = workdir / f"scale-{n}.db"
            made = scale.generate(path, n)
            for argv in (("check", "--json"), ("audit", "verify", "--json")):
                took, rss, found = measure(path, *argv)
                result = "ok" if found.get("ok") else json.dumps(found)[:200]
                print(
                    f"| {made['rows'][0]:,} | {made['rows'][1]:,} | `regie {' '.join(argv)}` "
                    f"| {took:.1f} | {rss:.0f} | {result} |",
                    flush=True,
                )
    finally:
        if args.keep:
            print(f"\ndatabases kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
