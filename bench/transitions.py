"""Benchmark: proposals driven through the whole route on SQLite, with audit (and outbox).

Rounds alternate: regie drives a batch of proposals through their route on a fresh
database (engine round), then a raw ``sqlite3`` loop writes the same rows with the same
contents into a copy of that database as it was before the batch (raw round): per
transition one committed transaction (``BEGIN IMMEDIATE`` … ``COMMIT``, same pragmas)
with the proposal's INSERT or UPDATE, the audit event exactly as regie stored it and, with
the outbox, the event's notices exactly as regie stored them (context JSON included) in
one multi-row INSERT, on the real schema (indexes, triggers, foreign keys). It prints
transitions per second, CPU µs per transition for both, their ratio, the median
fdatasync of the disk below (the ratio means little when that exceeds 1 ms) and peak
memory. Not a test: run ``make bench`` or ``python bench/transitions.py``.

    python bench/transitions.py [--proposals 10000] [--batch 1000] [--outbox both|on|off]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the `transitions` library: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from regie.clock import AMSTERDAM, FixedClock  # noqa: E402
from regie.engine import agenda_approval, attendance, decisions, moves  # noqa: E402
from regie.engine.setup import init_database  # noqa: E402
from regie.engine.storage import Database, Tx  # noqa: E402
from regie.region import Region, load_region  # noqa: E402
from regie.workflows.definition import builtin_workflows  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config" / "foodvalley.toml"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Driver:
    def __init__(self, db: Database, region: Region) -> None:
        self.db = db
        self.region = region
        self.clock = FixedClock(T0)
        self.transitions = 0
        self.coordinator = region.coordinator
        self.table = region.bodies_of_kind("table")[0]
        self.oogo = region.body_of_kind("oogo")
        self.parties = ["ede", "swv-vo"]

    def call(self, fn, **kwargs):  # type: ignore[no-untyped-def]
        with self.db.transaction() as session:
            result = fn(session=session, clock=self.clock, **kwargs)
        self.transitions += 1
        return result

    def at(self, starts_utc: datetime | None) -> None:
        assert starts_utc is not None
        self.clock.set(starts_utc.replace(tzinfo=UTC) + timedelta(minutes=30))

    def batch(self, n: int) -> None:
        """n adoption proposals through table -> chairs -> ao -> oogo -> decided."""
        self.clock.set(T0)
        ids, where = [], None
        for i in range(n):
            r = self.call(
                moves.submit,
                actor=self.coordinator,
                title=f"Voorstel {i}",
                purpose="adoption",
                table=self.table.id,
                parties=self.parties,
            )
            ids.append(r.proposal_id)
            where = r.meeting_starts_at
        for _stage in range(3):
            self.at(where)
            for pid in ids:
                r = self.call(moves.advance, actor=self.coordinator, proposal_id=pid)
                where = r.meeting_starts_at
        meeting = r.meeting_id
        # the chairs' meeting sets the OOGO agenda (one transaction) before the OOGO meets
        self.call(agenda_approval.approve, actor=self.coordinator, meeting_id=meeting)
        self.at(where)
        self.attend(meeting)
        for pid in ids:
            self.call(
                decisions.decide,
                actor=self.coordinator,
                proposal_id=pid,
                outcome="adopted",
                text="Vastgesteld zoals voorgesteld.",
            )
        for pid in ids:
            self.call(decisions.confirm, actor=self.oogo.chair, proposal_id=pid, version=1)

    def attend(self, meeting: str | None) -> None:
        assert meeting is not None
        done = set()
        for md in self.region.mandates:
            if md.body == self.oogo.id and md.party in self.parties and md.person not in done:
                done.add(md.person)
                with self.db.transaction() as session:
                    attendance.record_attendance(
                        session=session,
                        clock=self.clock,
                        actor=self.coordinator,
                        meeting_id=meeting,
                        person=md.person,
                        status="present",
                    )
                self.transitions += 1


def quiet_config(workdir: Path) -> Path:
    """The example region with every notice kind switched off: the engine and its audit
    trail alone (a supported setting: a kind set to [] is not sent)."""
    from regie.notifications.config import NOTICE_KINDS

    text = CONFIG.read_text(encoding="utf-8")
    off = "\n".join(f"{kind} = []" for kind in NOTICE_KINDS)
    if "[notifications]" in text:
        raise SystemExit("bench: the example config has its own [notifications]; adapt the bench")
    path = workdir / "quiet.toml"
    path.write_text(f"{text}\n[notifications]\n{off}\n", encoding="utf-8")
    return path


@dataclass
class Round:
    engine_s: float = 0.0
    engine_cpu: float = 0.0
    transactions: int = 0  # regie's committed write transactions
    raw_s: float = 0.0
    raw_cpu: float = 0.0
    events: int = 0  # audit events = raw transactions (one approval writes two events)
    notices: int = 0

    def add(self, other: Round) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def ratio(self) -> float:
        return (self.transactions / self.engine_s) / (self.events / self.raw_s)


def engine_round(db: Database, region: Region, batch: int) -> tuple[float, float, int]:
    driver = Driver(db, region)
    wall, cpu = time.perf_counter(), time.process_time()
    driver.batch(batch)
    return time.perf_counter() - wall, time.process_time() - cpu, driver.transitions


def copy_database(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()


Step = list[tuple[str, tuple[Any, ...]]]  # the statements of one raw transaction

# the state a proposal is in after an event without a "to" in its payload
_STATE_AFTER = {"decided": "awaiting_confirmation", "confirmed": "decided", "noted": "noted",
                "withdrawn": "withdrawn"}  # fmt: skip


def _insert(table: str, columns: list[str], rows: int = 1) -> str:
    marks = "(" + ", ".join("?" * len(columns)) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([marks] * rows)


def replay_plan(path: Path, first_event: int) -> tuple[list[Step], int]:
    """What regie wrote from ``first_event`` on, as one raw transaction per audit event:
    the proposal's INSERT (submitted) or UPDATE, the event row and its outbox rows, with
    the values exactly as stored; and how many outbox rows that is."""
    conn = sqlite3.connect(path)
    cols = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]
            for t in ("proposal", "proposal_party", "audit_event", "outbox")}  # fmt: skip
    proposals = {r[0]: list(r) for r in conn.execute("SELECT * FROM proposal")}
    parties: dict[str, list[tuple[Any, ...]]] = {}
    for r in conn.execute("SELECT * FROM proposal_party"):
        parties.setdefault(r[cols["proposal_party"].index("proposal_id")], []).append(r)
    outbox: dict[int, list[tuple[Any, ...]]] = {}
    for r in conn.execute("SELECT * FROM outbox WHERE event_id >= ? ORDER BY id", (first_event,)):
        outbox.setdefault(r[1], []).append(r)
    events = conn.execute(
        "SELECT * FROM audit_event WHERE id >= ? ORDER BY id", (first_event,)
    ).fetchall()
    conn.close()
    ev_cols, p_cols = cols["audit_event"], cols["proposal"]
    at, pid_at, action_at, payload_at, meeting_at = (
        ev_cols.index(c) for c in ("at", "proposal_id", "action", "payload", "meeting_id")
    )
    state: dict[str, str] = {}
    plan: list[Step] = []
    for ev in events:
        step: Step = []
        pid, payload = ev[pid_at], json.loads(ev[payload_at])
        if pid is not None and ev[action_at] == "submitted":
            row = proposals[pid]
            start = state[pid] = json.loads(row[p_cols.index("route")])[0]
            values = dict(zip(p_cols, row, strict=True))
            values.update(state=start, stage=start, meeting_id=ev[meeting_at], version=1,
                          updated_at=ev[at])  # fmt: skip
            step.append((_insert("proposal", p_cols), tuple(values[c] for c in p_cols)))
            for party in parties.get(pid, []):
                step.append((_insert("proposal_party", cols["proposal_party"]), party))
        elif pid is not None:
            now = state[pid] = payload.get("to") or _STATE_AFTER.get(ev[action_at], state[pid])
            step.append((
                "UPDATE proposal SET state = ?, stage = ?, meeting_id = ?, version = version + 1, "
                "updated_at = ? WHERE id = ?",
                (now, now, ev[meeting_at], ev[at], pid),
            ))  # fmt: skip
        step.append((_insert("audit_event", ev_cols), tuple(ev)))
        rows = outbox.get(ev[0], [])
        if rows:
            flat = tuple(v for r in rows for v in r)
            step.append((_insert("outbox", cols["outbox"], len(rows)), flat))
        plan.append(step)
    return plan, sum(len(rows) for rows in outbox.values())


def raw_round(path: Path, plan: list[Step]) -> tuple[float, float]:
    """The physical minimum: the plan's statements, one committed transaction per event,
    with regie's pragmas (WAL, synchronous=FULL, foreign keys)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
        conn.execute(f"PRAGMA {pragma}")
    wall, cpu = time.perf_counter(), time.process_time()
    for step in plan:
        conn.execute("BEGIN IMMEDIATE")
        for sql, params in step:
            conn.execute(sql, params)
        conn.execute("COMMIT")
    result = time.perf_counter() - wall, time.process_time() - cpu
    conn.close()
    return result


RSS_FIRST_ROUND = 0.0


def run(workdir: Path, config: Path, proposals: int, batch: int) -> tuple[Round, list[float]]:
    """Alternating rounds. Each batch lives through the same months, so each gets a
    database of its own (the audit trail refuses an event dated before its last one)."""
    region = load_region(config)
    total, ratios = Round(), []
    global RSS_FIRST_ROUND
    for k in range(max(1, proposals // batch)):
        path = workdir / f"{config.stem}-{k}.db"
        db = Database(f"sqlite:///{path}")
        init_database(db=db, clock=FixedClock(T0), region=region, workflows=builtin_workflows())
        with db.transaction(write=False) as session:
            first = int(Tx(session).scalar("SELECT MAX(id) FROM audit_event") or 0) + 1
        db.dispose()
        raw_path = workdir / f"{config.stem}-{k}-raw.db"
        copy_database(path, raw_path)
        db = Database(f"sqlite:///{path}")
        engine_s, engine_cpu, transactions = engine_round(db, region, batch)
        db.dispose()
        RSS_FIRST_ROUND = RSS_FIRST_ROUND or peak_rss_mb()
        plan, notices = replay_plan(path, first)
        raw_s, raw_cpu = raw_round(raw_path, plan)
        this = Round(engine_s, engine_cpu, transactions, raw_s, raw_cpu, len(plan), notices)
        total.add(this)
        ratios.append(this.ratio)
        path.unlink()
        raw_path.unlink()
    return total, ratios


def fdatasync_median(workdir: Path, samples: int = 50) -> float:
    """Seconds one small write + fdatasync takes on the disk under the databases."""
    times = []
    fd = os.open(workdir / "fsync.probe", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for i in range(samples):
            os.pwrite(fd, f"{i:08d}".encode(), 0)
            started = time.perf_counter()
            os.fdatasync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
    return statistics.median(times)


def report(label: str, r: Round, ratios: list[float]) -> None:
    engine, raw = r.transactions / r.engine_s, r.events / r.raw_s
    per = f", {r.notices / r.events:.1f} notices per transition" if r.notices else ""
    print(f"{label}: {r.transactions} transitions{per}")
    print(f"  regie: {engine:,.0f}/s, CPU {r.engine_cpu / r.transactions * 1e6:,.0f} µs each")
    print(f"  raw sqlite3, same rows: {raw:,.0f}/s, CPU {r.raw_cpu / r.events * 1e6:,.0f} µs each")
    rounds = ", ".join(f"{x:.2f}" for x in ratios)
    print(f"  ratio regie/raw: {engine / raw:.2f} (target >= 0.5; per round: {rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument(
        "--outbox", choices=("both", "on", "off"), default="both",
        help="off: every notice kind switched off (engine + audit); on: the example config",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("REGIE_BENCH_DIR")) as tmp:
        workdir = Path(tmp)
        sync = fdatasync_median(workdir)
        print(f"fdatasync median: {sync * 1000:.3f} ms ({workdir})")
        if sync > 0.001:
            print("  WARNING: fdatasync takes over 1 ms here: both sides wait on the disk, so "
                  "the ratio says little about regie's own cost (see the CPU µs)")  # fmt: skip
        if args.outbox in ("both", "off"):
            r, ratios = run(workdir, quiet_config(workdir), args.proposals, args.batch)
            report("engine + audit", r, ratios)
            print(f"  peak RSS after the first engine round: {RSS_FIRST_ROUND:.1f} MB")
        if args.outbox in ("both", "on"):
            r, ratios = run(workdir, CONFIG, args.proposals, args.batch)
            report("engine + audit + outbox", r, ratios)
        print(f"peak RSS: {peak_rss_mb():.1f} MB (with the raw rounds' rows in memory)")


if __name__ == "__main__":
    main()
