"""Drives `regie` through its CLI (click's CliRunner, in-process) for the reliability tests.

Used as a module by the tests and as a script by the concurrency test:

    python tests/reliability/driver.py DB SEED OPS PROPOSAL...

runs OPS random moves, valid and invalid, on the given proposals and prints one JSON
line: the acknowledged moves per proposal and every output that is not a clean result
or a clean refusal (a traceback, "database is locked", an internal error).

The clock follows the proposal: each move happens just after the start of the meeting
the proposal is on (``REGIE_NOW``), so moves that wait for a meeting can happen — but never
before the last audit event, because regie refuses an event dated before it (the clock
never runs backwards): :func:`run` moves an earlier ``now`` up to the last event's time.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from regie.cli import cli
from regie.clock import to_local

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "foodvalley.toml"
COORDINATOR = "coordinator"
OOGO_CHAIR = "sandra-kooiman"
START = "2026-11-23T10:00"
OUTCOMES = {"information": "noted", "adoption": "adopted", "advice": "positive"}
STATE_MOVES = ("advance", "return", "defer", "withdraw", "decide", "confirm", "amend", "route")
BAD_SIGNS = ("Traceback", "database is locked", "internal error")


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    crashed: str = ""  # repr of an exception that escaped the CLI

    @property
    def bad(self) -> str:
        """Why this output breaks the promise; empty when it is fine."""
        if self.crashed:
            return f"exception escaped: {self.crashed}"
        if self.code not in (0, 1, 2, 3):
            return f"exit code {self.code}"
        text = self.stdout + self.stderr
        for sign in BAD_SIGNS:
            if sign in text:
                return f"output contains {sign!r}"
        if self.code != 0:
            lines = [ln for ln in self.stderr.splitlines() if ln.strip()]
            if len(lines) != 1 or not lines[0].startswith(("regie: error: ", "Error: ")):
                return f"not one error line: {self.stderr!r}"
        return ""


def last_event_at(db: str | Path) -> datetime | None:
    """The time of the last audit event in Europe/Amsterdam (naive), None for no events."""
    if not Path(db).exists():
        return None
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
            row = conn.execute("SELECT at FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.DatabaseError:  # no regie database (yet), or a damaged one
        return None
    if row is None:
        return None
    return to_local(datetime.fromisoformat(str(row[0]))).replace(tzinfo=None)


def not_before_last_event(db: str | Path, now: str) -> str:
    """``now``, or the last event's time when that is later (a ``now`` that is no time at
    all goes through unchanged: the fuzz tests feed such values on purpose)."""
    try:
        wanted = datetime.fromisoformat(now)
    except ValueError:
        return now
    last = last_event_at(db)
    if last is None or wanted.tzinfo is not None or last <= wanted:
        return now
    return last.isoformat()


def run(
    db: str | Path,
    args: list[str],
    *,
    now: str = START,
    user: str = COORDINATOR,
    stdin: str | None = None,
    monotonic: bool = True,
) -> Outcome:
    """One CLI call; ``monotonic``: an earlier ``now`` becomes the last event's time."""
    if monotonic:
        now = not_before_last_event(db, now)
    env = {"REGIE_NOW": now, "REGIE_USER": user, "REGIE_DB": None, "REGIE_DEBUG": None,
           "REGIE_LANG": None, "REGIE_SECRET": None, "REGIE_KEY_FILE": None}  # fmt: skip
    result = CliRunner().invoke(
        cli, ["--db", str(db), *args], env=env, input=stdin, catch_exceptions=True
    )
    crashed = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crashed = repr(result.exception)
    return Outcome(result.exit_code, result.stdout, result.stderr, crashed)


def init(db: str | Path, *, years: int = 0) -> Outcome:
    """``regie init`` with FoodValley; ``years`` > 0 adds that many years of the same
    meetings (52 weeks apart, so on the same weekday) and open-ended mandates: a long run
    whose clock only moves forward does not run out of meetings."""
    config = CONFIG if years == 0 else longer_calendar(Path(db).parent, years)
    return run(db, ["init", "--config", str(config)])


def longer_calendar(folder: Path, years: int) -> Path:
    import tomllib
    from datetime import date

    import tomli_w

    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    for body in data["bodies"]:
        base = [m for m in body.get("meetings", []) if "id" not in m]
        meetings, days = list(body.get("meetings", [])), {m["date"] for m in base}
        for k in range(1, years + 1):
            for m in base:
                day = m["date"] + timedelta(weeks=52 * k)
                if all(abs((day - d).days) > 6 for d in days):  # no clash with one kept
                    meetings.append({**m, "date": day})
                    days.add(day)
        body["meetings"] = meetings
    for mandate in data.get("mandates", []):
        mandate.pop("until", None)
    closed = data.get("calendar", {}).get("extra_closed_days", [])
    data.setdefault("calendar", {})["extra_closed_days"] = [
        d for d in closed if isinstance(d, date)
    ]
    target = folder / "foodvalley-long.toml"
    target.write_text(tomli_w.dumps(data), encoding="utf-8")
    return target


def show(db: str | Path, proposal: str) -> dict[str, Any]:
    out = run(db, ["show", proposal, "--json"])
    assert out.code == 0, out
    return dict(json.loads(out.stdout))


def now_for(db: str | Path, proposal: str, floor: str = START) -> str:
    """Just after the start of the proposal's meeting (or ``floor`` if later)."""
    starts = show(db, proposal).get("meeting_starts_at")
    at = datetime.fromisoformat(floor)
    if starts:
        meeting = datetime.fromisoformat(starts).replace(tzinfo=None) + timedelta(minutes=1)
        at = max(at, meeting)
    return at.isoformat(timespec="minutes")


def submit(
    db: str | Path, title: str, purpose: str = "adoption", *, now: str = START, summary: str = ""
) -> Outcome:
    return run(
        db,
        [
            "submit",
            "--title",
            title,
            "--purpose",
            purpose,
            "--table",
            "tafel-model",
            "--party",
            "ede",
            "--party",
            "barneveld",
            "--summary",
            summary,
            *(["--addressee", "body:oogo"] if purpose == "advice" else []),
        ],
        now=now,
    )


def latest_version(shown: dict[str, Any]) -> int | None:
    """The decision text version a chair reads before confirming (None: no decision)."""
    versions = [int(d["version"]) for d in shown.get("decisions", [])]
    return max(versions) if versions else None


def move_args(
    move: str, proposal: str, purpose: str, version: int | None = None
) -> tuple[list[str], str]:
    """CLI arguments and acting person for one move (``version``: the decision version a
    confirmation or amendment names)."""
    named = ["--version", str(version)] if version is not None else []
    if move == "return":
        return ["return", proposal, "--to", "table", "--reason", "more work"], COORDINATOR
    if move == "defer":
        return ["defer", proposal, "--reason", "no time"], COORDINATOR
    if move == "withdraw":
        return ["withdraw", proposal, "--reason", "superseded"], COORDINATOR
    if move == "decide":
        return [
            "decide",
            proposal,
            "--outcome",
            OUTCOMES[purpose],
            "--text",
            "Agreed.",
            "--override",
            "agreed by mail",
        ], COORDINATOR
    if move == "confirm":
        return ["confirm", proposal, *named], OOGO_CHAIR
    if move == "amend":
        return ["confirm", proposal, *named, "--amend", "Agreed, amended."], OOGO_CHAIR
    if move == "route":
        return ["route", proposal, "table", "chairs", "ao", "oogo"], COORDINATOR
    return [move, proposal], COORDINATOR


def do_move(db: str | Path, proposal: str, move: str, purpose: str) -> Outcome:
    version = latest_version(show(db, proposal)) if move in ("confirm", "amend") else None
    args, user = move_args(move, proposal, purpose, version)
    return run(db, args, now=now_for(db, proposal), user=user)


def to_top(db: str | Path, proposal: str, purpose: str = "adoption") -> None:
    """advance to the OOGO; the chairs' meeting approves the OOGO agenda before it meets."""
    for _ in range(3):
        at = now_for(db, proposal)
        out = do_move(db, proposal, "advance", purpose)
        assert out.code == 0, ("advance", out)
    out = run(db, ["agenda", "approve", str(show(db, proposal)["meeting"])], now=at)
    assert out.code == 0, ("approve", out)


def walk_to_decided(db: str | Path, proposal: str, purpose: str = "adoption") -> None:
    """advance to the OOGO (agenda approved), decide and confirm."""
    to_top(db, proposal, purpose)
    for move in ("decide", "confirm"):
        out = do_move(db, proposal, move, purpose)
        assert out.code == 0, (move, out)


@dataclass
class Tally:
    acknowledged: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    lost_races: int = 0  # ConcurrentChange: the compare-and-set lost cleanly
    bad: list[str] = field(default_factory=list)


def random_run(db: str, seed: int, ops: int, proposals: list[str]) -> Tally:
    rng = random.Random(seed)
    tally = Tally({p: 0 for p in proposals})
    weights = [6, 1, 2, 0.2, 3, 3, 1, 1]  # favour moves that make progress
    for _ in range(ops):
        proposal = rng.choice(proposals)
        move = rng.choices(STATE_MOVES, weights)[0]
        out = do_move(db, proposal, move, "adoption")
        if out.bad:
            tally.bad.append(f"{move} {proposal}: {out.bad}: {out.stderr[-300:]}")
        elif out.code == 0:
            tally.acknowledged[proposal] += 1
        else:
            tally.refused += 1
            tally.lost_races += "changed by someone else" in out.stderr
    return tally


def main(argv: list[str]) -> int:
    db, seed, ops, *proposals = argv
    tally = random_run(db, int(seed), int(ops), proposals)
    print(json.dumps(tally.__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
