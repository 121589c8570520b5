"""Benchmark: proposals driven through the whole route on SQLite, with audit.

Prints committed transitions per second for regie's services and, in the same run, for a
raw ``sqlite3`` loop doing the physical minimum per transition (one UPDATE, one INSERT,
one committed transaction, same pragmas), the ratio, and peak memory after 1,000 and
after all proposals. Not a test: run ``make bench`` or ``python bench/transitions.py``.

    python bench/transitions.py [--proposals 10000] [--batch 1000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the `transitions` library: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

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


def run_regie(
    workdir: Path, config: Path, proposals: int, batch: int
) -> tuple[float, int, float, float, int]:
    """Each batch lives through the same months, so each gets a database of its own (the
    audit trail refuses an event dated before its last one); only the batches are timed."""
    region = load_region(config)
    elapsed, transitions, notices, rss_first = 0.0, 0, 0, 0.0
    for k in range(max(1, proposals // batch)):
        db = Database(f"sqlite:///{workdir / f'{config.stem}-{k}.db'}")
        init_database(db=db, clock=FixedClock(T0), region=region, workflows=builtin_workflows())
        driver = Driver(db, region)
        started = time.perf_counter()
        driver.batch(batch)
        elapsed += time.perf_counter() - started
        transitions += driver.transitions
        rss_first = rss_first or peak_rss_mb()
        with db.transaction(write=False) as session:
            notices += int(Tx(session).scalar("SELECT COUNT(*) FROM outbox") or 0)
        db.dispose()
    return elapsed, transitions, rss_first, peak_rss_mb(), notices


def run_raw(workdir: Path, transitions: int, outbox_rows: float = 0.0) -> float:
    """The physical limit: per transition one UPDATE, one INSERT (and, to compare with
    the outbox, one multi-row INSERT of as many outbox rows as regie wrote on average),
    one commit; same pragmas as regie."""
    conn = sqlite3.connect(workdir / f"raw-{outbox_rows:.1f}.db", isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("CREATE TABLE proposal (id TEXT PRIMARY KEY, state TEXT, version INTEGER)")
    conn.execute(
        "CREATE TABLE audit_event (id INTEGER PRIMARY KEY, at TEXT, actor TEXT, "
        "action TEXT, proposal_id TEXT, payload TEXT, prev_hash TEXT UNIQUE, hash TEXT)"
    )
    conn.execute(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY, event_id INTEGER, kind TEXT, "
        "person_id TEXT, email TEXT, context TEXT, status TEXT)"
    )
    ids = [f"P-{i}" for i in range(1000)]
    conn.executemany("INSERT INTO proposal VALUES (?, 'table', 1)", [(i,) for i in ids])
    owed = 0.0
    started = time.perf_counter()
    for n in range(transitions):
        pid = ids[n % len(ids)]
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE proposal SET state = ?, version = version + 1 WHERE id = ?", (f"s{n % 7}", pid)
        )
        conn.execute(
            "INSERT INTO audit_event (at, actor, action, proposal_id, payload, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                "2026-11-23T10:00:00",
                "coordinator",
                "advanced",
                pid,
                "{}",
                f"{n:064x}",
                f"{n + 1:064x}",
            ),
        )
        owed += outbox_rows
        k, owed = int(owed), owed - int(owed)
        if k:
            conn.execute(
                "INSERT INTO outbox (event_id, kind, person_id, email, context, status) "
                "VALUES " + ", ".join(["(?, 'placed', 'p', 'p@example.org', '{}', 'queued')"] * k),
                [n] * k,
            )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return transitions / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--raw-transitions", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        quiet = quiet_config(workdir)
        el, count, rss_first, rss_all, _ = run_regie(workdir, quiet, args.proposals, args.batch)
        engine_rate = count / el
        raw_rate = run_raw(workdir, args.raw_transitions)
        print(
            f"engine + audit: {args.proposals} proposals, {count} committed transitions in "
            f"{el:.1f} s = {engine_rate:,.0f}/s"
        )
        print(
            f"raw sqlite3 (1 UPDATE + 1 INSERT + COMMIT, WAL, synchronous=FULL): {raw_rate:,.0f}/s"
        )
        print(f"ratio engine/raw: {engine_rate / raw_rate:.2f} (target >= 0.5)")
        print(
            f"peak RSS after {args.batch} proposals: {rss_first:.1f} MB; after "
            f"{args.proposals}: {rss_all:.1f} MB (growth {rss_all / rss_first:.2f}x)"
        )
        full = run_regie(workdir, CONFIG, args.proposals // 5, args.batch)
        el, count, _, _, notices = full
        per = notices / count
        full_raw = run_raw(workdir, args.raw_transitions // 2, per)
        print(
            f"engine + audit + outbox: {count} transitions, {notices} notices "
            f"({per:.1f} per transition) = {count / el:,.0f}/s; raw with the same outbox "
            f"rows: {full_raw:,.0f}/s; ratio {count / el / full_raw:.2f}"
        )


if __name__ == "__main__":
    main()
