"""Benchmark: the scheduler's sweep at 100,000 proposals and 5,000 meetings (issue 18).

A database (SQLite, the FoodValley config) gets two proposals driven through the engine
services, an open one at its table and one decided at the top meeting that awaits
confirmation; their rows are the templates for the rest, inserted with SQL in the shape
the services write (proposal, concerned parties, decision; no audit events: no rule
reads them for these items). The meetings of every body are repeated every three weeks
until there are 5,000. Then, at a fixed "now" (a working day, 10:00 local time):

* due now (1,000): 500 decisions awaiting confirmation past their confirm-by day (one
  reminder each to the chair) and 500 open items on the two tables' next meetings whose
  document-deadline reminder is due (no documents recorded);
* not due (the rest): decided and confirmed items on past top meetings, withdrawn items on
  past table meetings, open items on table meetings more than four months ahead. The news
  of the past top meetings went out before the measurement (the after_meeting rule fired
  once at "now", as a running scheduler would have).

Measured in the same run (median of ``--runs``): ``due_items`` (every registered rule,
``all_rules()``), each rule's own ``due()``, the bare indexed SQL (sqlite3) that selects the
due candidates of the two rules with due items, and one full sweep that fires them all (on
a copy of the database each run). The ratio due_items / bare SQL is printed (target <= 3).
Then the same at each of ``--sizes`` not-due proposals (same 1,000 due): the selection
should stay flat. No timing is asserted. Not a test:

    python bench/scheduler.py [--sizes 10000 100000] [--runs 5] [--keep]
"""

from __future__ import annotations

import sys
from pathlib import Path

# keep bench/ off the import path (bench/transitions.py is named like a library)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time as clock  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import closing  # noqa: E402
from datetime import date, datetime, time, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from regie.clock import AMSTERDAM, FixedClock, to_local, to_utc_naive  # noqa: E402
from regie.engine import agenda_approval, attendance, decisions, moves  # noqa: E402
from regie.engine.calendar import working_days_before  # noqa: E402
from regie.engine.facts import region_facts  # noqa: E402
from regie.engine.machine import AWAITING, CLOSED_STATES, DECIDED, WITHDRAWN  # noqa: E402
from regie.engine.setup import init_database  # noqa: E402
from regie.engine.storage import Database, Tx, as_datetime  # noqa: E402
from regie.region import Region, load_region  # noqa: E402
from regie.scheduler import documents  # noqa: E402
from regie.scheduler.rules import all_rules  # noqa: E402
from regie.scheduler.sweep import due_items, sweep  # noqa: E402
from regie.workflows.definition import builtin_workflows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "foodvalley.toml"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)
NOW = datetime(2027, 6, 15, 10, 0, tzinfo=AMSTERDAM)  # a Tuesday: the bench's "now"
MEETINGS = 5_000
DUE_EACH = 500  # confirmation reminders; as many document reminders
FAR = timedelta(days=120)  # open items not due sit on meetings at least this far ahead

# The bare SQL: the candidates of the two rules with due items (the rules' own queries,
# without their Python: working days, payloads, the documents look-up).
BARE = (
    "SELECT d.proposal_id, d.version, d.recorded_at FROM decision d "
    "JOIN proposal p ON p.id = d.proposal_id WHERE p.state = ? AND d.confirmed_at IS NULL "
    "AND d.retracted_at IS NULL UNION ALL "
    "SELECT p.id, m.id, m.starts_at FROM meeting m JOIN proposal p ON p.meeting_id = m.id "
    "WHERE m.status = 'scheduled' AND m.starts_at > ? AND m.starts_at <= ? "
    f"AND p.state NOT IN ({', '.join('?' for _ in CLOSED_STATES)})"
)


def _call(db: Database, clock: FixedClock, fn: Any, **kwargs: Any) -> Any:
    with db.transaction() as session:
        return fn(session=session, clock=clock, **kwargs)


def _templates(db: Database, region: Region) -> tuple[str, str]:
    """(an open proposal at its table, one decided at the top meeting awaiting confirmation),
    both through the engine services."""
    clock, me = FixedClock(T0), region.coordinator
    kw = {"actor": me, "purpose": "adoption", "table": "tafel-model", "parties": ["ede"]}
    r = _call(db, clock, moves.submit, title="Besloten voorstel", **kw)
    for _ in range(3):
        clock.set(datetime.fromisoformat(r.as_dict()["meeting_starts_at"]) + timedelta(minutes=5))
        r = _call(db, clock, moves.advance, actor=me, proposal_id=r.proposal_id)
    _call(db, clock, agenda_approval.approve, actor=me, meeting_id=r.meeting_id)
    clock.set(datetime.fromisoformat(r.as_dict()["meeting_starts_at"]) + timedelta(minutes=30))
    oogo = region.body_of_kind("oogo")
    rep = next(m.person for m in region.mandates if m.party == "ede" and m.body == oogo.id)
    _call(db, clock, attendance.record_attendance, actor=me, meeting_id=r.meeting_id,
          person=rep, status="present")  # fmt: skip
    _call(db, clock, decisions.decide, actor=me, proposal_id=r.proposal_id, outcome="adopted",
          text="Vastgesteld.")  # fmt: skip
    fresh = _call(db, clock, moves.submit, title="Open voorstel", **kw)
    return str(fresh.proposal_id), str(r.proposal_id)


def _add_meetings(conn: sqlite3.Connection) -> None:
    """Every body's meetings repeated every three weeks, back and forth, to MEETINGS."""
    rows = conn.execute("SELECT id, body_id, starts_at, ends_at, location FROM meeting").fetchall()
    have = {r[0] for r in rows}
    first: dict[str, tuple[datetime | None, datetime | None, str]] = {}
    for _mid, body, starts, ends, loc in sorted(rows, key=lambda r: r[2]):
        first.setdefault(body, (as_datetime(starts), as_datetime(ends), loc))
    k = 1
    while len(have) < MEETINGS:
        for body, (starts, ends, loc) in sorted(first.items()):
            assert starts is not None and ends is not None
            for sign in (-1, 1):
                shift = timedelta(weeks=3 * k * sign + (60 * sign if sign > 0 else 0))
                mid = f"{body}-{(starts + shift).date().isoformat()}"
                if mid in have or len(have) >= MEETINGS:
                    continue
                have.add(mid)
                conn.execute(
                    "INSERT INTO meeting (id, body_id, starts_at, ends_at, location, status, "
                    "sequence) VALUES (?, ?, ?, ?, ?, 'scheduled', 0)",
                    (mid, body, _sql_time(starts + shift), _sql_time(ends + shift), loc),
                )  # fmt: skip
        k += 1


def _sql_time(at: datetime) -> str:
    return at.isoformat(" ", "microseconds")


def _meeting_on(conn: sqlite3.Connection, body: str, day: date) -> str:
    """The body's meeting on ``day`` (local), added when there is none."""
    like = conn.execute("SELECT starts_at, ends_at, location FROM meeting WHERE body_id = ? "
                        "LIMIT 1", (body,)).fetchone()  # fmt: skip
    mid = f"{body}-{day.isoformat()}"
    starts, ends = as_datetime(like[0]), as_datetime(like[1])
    assert starts is not None and ends is not None
    local = datetime.combine(day, to_local(starts).time(), tzinfo=AMSTERDAM)
    at = to_utc_naive(local)
    conn.execute(
        "INSERT OR IGNORE INTO meeting (id, body_id, starts_at, ends_at, location, status, "
        "sequence) VALUES (?, ?, ?, ?, ?, 'scheduled', 0)",
        (mid, body, _sql_time(at), _sql_time(at + (ends - starts)), like[2]),
    )  # fmt: skip
    return mid


class Generator:
    """One database: the templates, MEETINGS meetings, 1,000 items due at NOW and ``n``
    not due; ``n`` can grow (:meth:`grow`) with the due items unchanged."""

    def __init__(self, path: Path) -> None:
        self.path = path
        region = load_region(CONFIG)
        db = Database(f"sqlite:///{path}")
        init_database(db=db, clock=FixedClock(T0), region=region, workflows=builtin_workflows())
        self.open_id, self.decided_id = _templates(db, region)
        with db.transaction(write=False) as session:
            self.calendar = region_facts(Tx(session)).calendar
        db.dispose()
        self.conn = sqlite3.connect(path)
        self.cols = [r[1] for r in self.conn.execute("PRAGMA table_info(proposal)")]
        self.dcols = [r[1] for r in self.conn.execute("PRAGMA table_info(decision)")]
        self.row = {pid: list(self.conn.execute("SELECT * FROM proposal WHERE id = ?", (pid,))
                              .fetchone()) for pid in (self.open_id, self.decided_id)}  # fmt: skip
        self.decision = list(self.conn.execute("SELECT * FROM decision WHERE proposal_id = ?",
                                               (self.decided_id,)).fetchone())  # fmt: skip
        self.parties = [r[0] for r in self.conn.execute("SELECT id FROM party ORDER BY id")]
        with self.conn:  # the template itself: confirmed long ago (its reminders not due)
            self.conn.execute("UPDATE decision SET confirmed_by = recorded_by, confirmed_at = "
                              "recorded_at WHERE proposal_id = ?", (self.decided_id,))  # fmt: skip
            self.conn.execute("UPDATE proposal SET state = ? WHERE id = ?",
                              (DECIDED, self.decided_id))  # fmt: skip
        self.number = 2
        self.not_due = 0
        with self.conn:
            _add_meetings(self.conn)
            self._due()
        self.meetings = {kind: self._meetings(kind) for kind in ("table", "oogo")}

    def _meetings(self, kind: str) -> dict[str, list[str]]:
        now = _sql_time(to_utc_naive(NOW))
        far = _sql_time(to_utc_naive(NOW + FAR))
        q = ("SELECT m.id FROM meeting m JOIN body b ON b.id = m.body_id WHERE b.kind = ? "
             "AND m.starts_at {} ? ORDER BY m.starts_at")  # fmt: skip
        return {
            "past": [r[0] for r in self.conn.execute(q.format("<"), (kind, now))],
            "far": [r[0] for r in self.conn.execute(q.format(">"), (kind, far))],
        }

    def _proposal(self, template: str, state: str, meeting: str, at: datetime) -> str:
        self.number += 1
        pid = f"P-2026-{self.number:03d}"
        row = dict(zip(self.cols, self.row[template], strict=True))
        row.update(id=pid, title=f"Voorstel {self.number}", state=state, meeting_id=meeting,
                   submitted_at=_sql_time(at), updated_at=_sql_time(at))  # fmt: skip
        if state == WITHDRAWN:
            row["stage"] = "table"
        self.conn.execute(
            f"INSERT INTO proposal ({', '.join(self.cols)}) VALUES "
            f"({', '.join('?' for _ in self.cols)})", [row[c] for c in self.cols],
        )  # fmt: skip
        i = self.number
        for party in sorted({self.parties[i % len(self.parties)],
                             self.parties[(i * 7 + 3) % len(self.parties)]}):  # fmt: skip
            self.conn.execute("INSERT INTO proposal_party (proposal_id, party_id) VALUES (?, ?)",
                              (pid, party))  # fmt: skip
        return pid

    def _decision(self, pid: str, meeting: str, recorded: datetime, confirmed: bool) -> None:
        row = dict(zip(self.dcols, self.decision, strict=True))
        row.update(proposal_id=pid, meeting_id=meeting, recorded_at=_sql_time(recorded))
        if confirmed:
            chair = self.conn.execute(
                "SELECT b.chair_id FROM meeting m JOIN body b ON b.id = m.body_id "
                "WHERE m.id = ?", (meeting,)).fetchone()[0]  # fmt: skip
            row.update(confirmed_by=chair, confirmed_at=_sql_time(recorded + timedelta(days=1)))
        self.conn.execute(
            f"INSERT INTO decision ({', '.join(self.dcols)}) VALUES "
            f"({', '.join('?' for _ in self.dcols)})", [row[c] for c in self.dcols],
        )  # fmt: skip

    def _due(self) -> None:
        """500 decisions whose first daily reminder is due at NOW, 500 items whose document
        reminder is."""
        today = NOW.date()
        recorded_on = working_days_before(self.calendar, today, 3)
        recorded = to_utc_naive(datetime.combine(recorded_on, time(14), tzinfo=AMSTERDAM))
        top = _meeting_on(self.conn, "oogo", recorded_on)
        for _ in range(DUE_EACH):
            pid = self._proposal(self.decided_id, AWAITING, top, recorded - timedelta(days=30))
            self._decision(pid, top, recorded, confirmed=False)
        now = to_utc_naive(NOW)
        for i, body in enumerate(("tafel-model", "tafel-monitor")):
            day = self._documents_day(today, now)
            meeting = _meeting_on(self.conn, body, day)
            for _ in range(DUE_EACH // 2 + i * (DUE_EACH % 2)):
                self._proposal(self.open_id, "table", meeting, now - timedelta(days=10))

    def _documents_day(self, today: date, now: datetime) -> date:
        """The latest meeting day whose document reminder (deadline 3 working days) is due
        at ``now`` and whose deferral is not."""
        found = None
        for k in range(1, 31):
            day = today + timedelta(days=k)
            at = to_utc_naive(datetime.combine(day, time(10), tzinfo=AMSTERDAM))
            t = documents.times(self.calendar, at, 3)
            if self.calendar.is_working_day(day) and t.remind_at <= now < t.defer_at:
                found = day
        assert found is not None
        return found

    def grow(self, not_due: int) -> None:
        """Not-due proposals up to ``not_due``: 3/5 decided and confirmed on past top
        meetings, 1/5 withdrawn at past tables, 1/5 open on tables more than FAR ahead."""
        past_top, past_table = self.meetings["oogo"]["past"], self.meetings["table"]["past"]
        far = self.meetings["table"]["far"]
        with self.conn:
            while self.not_due < not_due:
                k = self.not_due
                kind = k % 5
                if kind < 3:
                    mid = past_top[k % len(past_top)]
                    at = as_datetime(self.conn.execute("SELECT starts_at FROM meeting WHERE id = ?",
                                                       (mid,)).fetchone()[0])  # fmt: skip
                    assert at is not None
                    pid = self._proposal(self.decided_id, DECIDED, mid, at - timedelta(days=60))
                    self._decision(pid, mid, at + timedelta(minutes=30), confirmed=True)
                elif kind == 3:
                    mid = past_table[k % len(past_table)]
                    self._proposal(self.open_id, WITHDRAWN, mid, to_utc_naive(NOW) - FAR)
                else:
                    mid = far[k % len(far)]
                    self._proposal(self.open_id, "table", mid, to_utc_naive(NOW))
                self.not_due += 1
            self.conn.execute("UPDATE counter SET value = ? WHERE name = 'proposal-2026'",
                              (self.number,))  # fmt: skip
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def counts(self) -> tuple[int, int]:
        row = self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM proposal), (SELECT COUNT(*) FROM meeting)"
        ).fetchone()
        return int(row[0]), int(row[1])


def settle_news(db: Database) -> int:
    """The steady state: the news of the past top meetings whose decisions are all
    confirmed went out (the scheduler's after_meeting rule, fired once at NOW before the
    measurement: otherwise their news would be due at every size). Returns how many."""
    return sweep(db, FixedClock(NOW), rules={"after_meeting": all_rules()["after_meeting"]}).count


def median_of(runs: int, fn: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = clock.perf_counter()
        result = fn()
        times.append(clock.perf_counter() - started)
    return statistics.median(times), result


def bare(path: Path) -> Callable[[], object]:
    now = to_utc_naive(NOW)
    latest = now + documents._lookahead(10)  # as the documents rule reads (its widest body)

    def run() -> object:
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute(BARE, (AWAITING, now, latest, *CLOSED_STATES)).fetchall()

    return run


def selection(db: Database, now: datetime) -> Callable[[], object]:
    return lambda: due_items(db, now, now, unfired=True)


def plan(path: Path) -> str:
    """How SQLite runs the documents rule's meeting-window query (coverage, feasibility and
    after_meeting read meetings by time and their proposals alike; ordered, as they are)."""
    window = BARE.split(" UNION ALL ")[1] + " ORDER BY m.starts_at, p.id"
    now = to_utc_naive(NOW)
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + window, (now, now, *CLOSED_STATES))
        return "; ".join(str(r[-1]) for r in rows)


def per_rule(db: Database) -> dict[str, Callable[[], object]]:
    now = to_utc_naive(NOW)

    def one(rule: Any) -> Callable[[], object]:
        def run() -> object:
            with db.transaction(write=False) as session:
                tx = Tx(session)
                return list(rule.due(tx, region_facts(tx), now, now))

        return run

    return {name: one(rule) for name, rule in all_rules().items()}


def full_sweep(path: Path, workdir: Path) -> tuple[float, int]:
    """One sweep firing everything due, on a fresh copy (the copy is not timed)."""
    copy = workdir / "sweep.db"
    shutil.copyfile(path, copy)
    shutil.copy2(path.with_name(path.name + ".key"), copy.with_name(copy.name + ".key"))
    db = Database(f"sqlite:///{copy}")
    try:
        started = clock.perf_counter()
        report = sweep(db, FixedClock(NOW))
        return clock.perf_counter() - started, report.count
    finally:
        db.dispose()
        copy.unlink()
        copy.with_name(copy.name + ".key").unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000],
                        help="Proposals in all (due and not due).")  # fmt: skip
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="Keep the generated database.")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="regie-scheduler-"))
    path = workdir / "scheduler.db"
    now = to_utc_naive(NOW)
    try:
        started = clock.perf_counter()
        gen = Generator(path)
        print(f"now: {NOW.isoformat()}; rules: {', '.join(all_rules())}")
        print(f"templates and meetings: {clock.perf_counter() - started:.1f} s", flush=True)
        print("\n| proposals | meetings | due | due_items s | bare SQL s | ratio | sweep s "
              "(fired) |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        rule_rows: list[str] = []
        for n in sorted(args.sizes):
            made = clock.perf_counter()
            gen.grow(n - 2 - 2 * DUE_EACH)
            grown = clock.perf_counter() - made
            proposals, meetings = gen.counts()
            db = Database(f"sqlite:///{path}")
            news = settle_news(db)
            gen.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the sweep's copy sees it
            t_due, found = median_of(args.runs, selection(db, now))
            t_bare, rows = median_of(args.runs, bare(path))
            t_sweep, fired = full_sweep(path, workdir)
            by_rule = Counter(d.rule for _r, d in found)  # type: ignore[attr-defined]
            print(
                f"| {proposals:,} | {meetings:,} | {sum(by_rule.values()):,} "
                f"({', '.join(f'{k} {v}' for k, v in sorted(by_rule.items()))}) "
                f"| {t_due:.4f} | {t_bare:.4f} ({len(rows):,} rows) "  # type: ignore[arg-type]
                f"| {t_due / t_bare:.1f} | {t_sweep:.2f} ({fired:,}) |  (generated in "
                f"{grown:.0f} s; news of {news} past top meetings sent first)",
                flush=True,
            )
            for name, fn in per_rule(db).items():
                t_rule, got = median_of(args.runs, fn)
                rule_rows.append(f"| {proposals:,} | {name} | {t_rule:.4f} | "
                                 f"{len(got):,} |")  # type: ignore[arg-type]  # fmt: skip
            db.dispose()
        print(f"\nplan of the documents rule's query: {plan(path)}")
        print("\nper rule (its due() at now, in its own read transaction):\n")
        print("| proposals | rule | due() s | due |")
        print("|---|---|---|---|")
        print("\n".join(rule_rows))
    finally:
        gen_conn = locals().get("gen")
        if gen_conn is not None:
            gen_conn.conn.close()
        if args.keep:
            print(f"\ndatabase kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
