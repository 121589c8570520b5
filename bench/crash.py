# ruff: noqa: E402
"""Crash benchmark (issue 9): 1,000 regie operations, 100 SIGKILLs at random moments.

A worker process does submit, advance, return, defer, decide, confirm, attend and
`regie send` (to an aiosmtpd sink in this process); it is killed with SIGKILL after a
random number of operations plus a random short delay, restarted, and goes on. At the
end a clean `regie send` drains the outbox and everything is accounted for (see
``tests/reliability/crash_driver.py``): lost and doubled operations, orphaned outbox
rows, duplicate mails (and whether each was in flight at a kill), the audit chain and
`regie check`.

Prints the figures, exits 1 if any promise was broken, and records them in
bench/RESULTS.md (section "Crash suite (issue 9)"). Run:
``.venv/bin/python bench/crash.py [--operations 1000] [--kills 100] [--seed 1]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/transitions.py would shadow the `transitions` package: drop this folder from the path
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "tests"))

import argparse
import platform
import sqlite3
import tempfile
import time

from reliability.crash_driver import CrashReport, run_crash

RESULTS = _HERE / "RESULTS.md"
HEADING = "## Crash suite (issue 9)"


def record(lines: list[str]) -> None:
    """Replace this benchmark's own section of RESULTS.md, or append it."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = "\n".join([HEADING, "", *lines, ""])
    if HEADING in text:
        head, _, rest = text.partition(HEADING)
        nxt = rest.find("\n## ")
        text = head + section + (rest[nxt:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def lines_for(report: CrashReport, args: argparse.Namespace) -> list[str]:
    command = "`.venv/bin/python bench/crash.py"
    if (args.operations, args.kills, args.seed) != (1000, 100, 1):
        command += f" --operations {args.operations} --kills {args.kills} --seed {args.seed}"
    command += "`"
    out = [
        f"{command} ({time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.machine()}; WAL, synchronous=FULL; "
        "sink: aiosmtpd in the driver's process on 127.0.0.1; seed "
        f"{report.seed})",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in report.figures()),
        "",
        f"Result: **{'all promises kept' if report.ok else 'PROMISE BROKEN'}**. A worker ran "
        "the operations through the CLI code and printed an acknowledgement after each "
        "committed one; it was killed (SIGKILL) after a random number of operations plus "
        "0-30 ms, then restarted. Every audit event of the run was matched to exactly one "
        "operation (acknowledged, or in flight at a kill); every outbox row's Message-ID "
        "was counted at the sink after a final clean `regie send`. `regie check` ran after "
        "every kill and at the end.",
        "",
        f"Stuck twice: {report.stuck_twice} outbox rows were `sending` at two kills in a row "
        "(claimed, killed; reclaimed after the lease, killed again). By design such a row is "
        "marked failed rather than sent a third time; the driver did what its note tells an "
        f"operator: it looked for the Message-ID at the sink and retried the "
        f"{report.operator_retries} that had not arrived "
        f"({report.stuck_twice - report.operator_retries} had). Without that step those "
        "messages wait in `regie outbox --status failed`.",
    ]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--operations", type=int, default=1000)
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-record", action="store_true", help="Do not write bench/RESULTS.md.")
    args = ap.parse_args()

    def progress(r: CrashReport) -> None:
        if r.kills % 10 == 0:
            print(f"  {r.kills} kills, {r.operations} operations", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        report = run_crash(Path(tmp), operations=args.operations, kills=args.kills,
                           seed=args.seed, on_kill=progress)  # fmt: skip
    for name, value in report.figures():
        print(f"{name:16} {value}")
    problems = [*report.bad_outputs, *report.lost, *report.doubled, *report.check_problems,
                *report.unclean_after_kill, *report.mail.undelivered,
                *report.mail.bad_duplicates, *report.mail.unknown]  # fmt: skip
    for problem in problems[:30]:
        print(f"problem: {problem}")
    if not args.no_record:
        record(lines_for(report, args))
        print(f"recorded in {RESULTS}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
