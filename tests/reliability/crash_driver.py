"""The crash suite (issue 9): run `regie` operations in a subprocess and SIGKILL it at
random moments, restart, go on; then check that nothing was lost or doubled.

Two sides:

* the **worker** (``python crash_driver.py worker JSON``) performs operations through the
  real CLI code (click's CliRunner, in one process so a restart is the only start-up
  cost): submit, advance, return, defer, decide, confirm, attend, and ``regie send
  --limit K`` draining the outbox to the sink. It prints one JSON line per operation
  *before* it starts (``begin``: what it is and where its audit event will land) and one
  *after the CLI call returned* (``done``: exit code; code 0 is the acknowledgement).
  Each line is one ``write`` of less than ``PIPE_BUF`` bytes, flushed, so a kill never
  leaves half a line the parent could misread.
* the **parent** (:func:`run_crash`) runs the mail sink (aiosmtpd, in its own thread),
  starts the worker, waits for a random number of finished operations (seeded RNG), then
  a random short delay, and kills the worker with SIGKILL; after each kill it notes the
  operation that was in flight and the outbox rows that were ``sending``, runs
  ``regie check``, and starts the next worker. At the end it drains the outbox with a
  clean ``regie send`` (the console script next to ``sys.executable``), runs
  :func:`regie.engine.check.check_database` and accounts for every operation and every
  message.

Operation identity. The worker is the only writer, so before each operation it reads
where that operation's audit event must land: a *slot* ``(key, position)``:

* submit: key ``title:<title>`` (each title carries a unique token), position 0;
* advance, return, defer, decide, confirm: key ``proposal:<id>``, position = number of
  state events of the proposal so far (so the event is the proposal's next one);
* attend: key ``attend:<meeting>:<person>``, position = attendance events so far;
* approve (the chairs' meeting approves an OOGO agenda): key ``approve:<meeting>``,
  position = approvals of that meeting so far.

Accounting (:func:`account`): every audit event of the run must be claimed by exactly one
operation whose slot and action match (an unclaimed event is *doubled*: written twice or
by an operation that was refused); every acknowledged operation must own its event (if
not, it is *lost*); the one operation in flight at a kill may own its event or not.
Timing only decides where kills land; no assertion depends on it.

Mail: the sink counts every Message-ID it receives. Each outbox row (except digest
parts, which travel inside their digest) must reach the sink at least once and at most
twice, twice only if the row was ``sending`` at a kill. A row whose sender was killed
twice while sending it is marked failed by design ("check with the recipient, then
retry"); the driver does what the note says: a row not found at the sink is retried
before the final drain.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from regie.engine.replay import STATE_ACTIONS

if TYPE_CHECKING:
    from regie.engine.check import CheckReport

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
REGIE = Path(sys.executable).parent / "regie"

EVENT_OF = {
    "advance": "advanced",
    "return": "returned",
    "defer": "deferred",
    "decide": "decided",
    "confirm": "confirmed",
}
MOVE_WEIGHTS = {"advance": 4, "decide": 3, "confirm": 3, "return": 1, "defer": 1}
KIND_WEIGHTS = {"submit": 12, "move": 55, "attend": 13, "send": 20}
PURPOSES = ("adoption", "adoption", "advice", "information")
SEND_BASE = datetime(2035, 1, 1, 12, 0)  # after every meeting: every notice is due
SEND_STEP = timedelta(minutes=20)  # > the sender's lease (10 min): a kill's lease expires
LEASE_SLACK = 4  # generations between the last worker's clock and the final drain


# -- the worker -------------------------------------------------------------------------


@dataclass
class Op:
    n: int  # number of the operation in the whole run
    kind: str  # submit | advance | return | defer | decide | confirm | attend | send
    args: list[str]
    user: str
    now: str
    key: str = ""  # where its audit event lands (empty for send)
    pos: int = 0
    action: str = ""


def _emit(record: dict[str, Any]) -> None:
    line = json.dumps(record) + "\n"
    assert len(line.encode()) < 4096  # PIPE_BUF: one atomic write
    sys.stdout.write(line)
    sys.stdout.flush()


class Worker:
    def __init__(self, cfg: dict[str, Any]) -> None:
        from reliability import driver

        self.d = driver
        self.db = str(cfg["db"])
        self.gen = int(cfg["generation"])
        self.first = int(cfg["first"])
        self.budget = int(cfg["budget"])
        self.rng = random.Random(int(cfg["seed"]))
        self.send_now = (SEND_BASE + SEND_STEP * self.gen).isoformat(timespec="minutes")
        self.conn = sqlite3.connect(self.db, isolation_level=None, timeout=30)

    def count(self, sql: str, params: Iterable[Any]) -> int:
        return int(self.conn.execute(sql, tuple(params)).fetchone()[0])

    def open_proposals(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM proposal WHERE state NOT IN ('decided', 'withdrawn') ORDER BY id"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def choose(self, n: int) -> Op:
        kind = self.rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]
        open_ = self.open_proposals()
        if kind == "send":
            limit = str(self.rng.randint(1, 30))
            return Op(n, "send", ["send", "--limit", limit], self.d.COORDINATOR, self.send_now)
        if kind == "submit" or not open_:
            return self.submit(n)
        proposal = self.rng.choice(open_)
        shown = self.d.show(self.db, proposal)
        if kind == "attend":
            return self.attend(n, shown)
        if shown.get("state") == "oogo" and self.rng.random() < 0.4:
            return self.approve(n, shown)
        return self.move(n, proposal, shown)

    def approve(self, n: int, shown: dict[str, Any]) -> Op:
        """The chairs' meeting approves the OOGO agenda the proposal waits on (issue #13):
        as early as the clock allows, so before that meeting when it is still to come."""
        meeting = str(shown["meeting"])
        pos = self.count(
            "SELECT COUNT(*) FROM audit_event WHERE action = 'agenda_approved' "
            "AND meeting_id = ?",
            (meeting,),
        )
        return Op(n, "approve", ["agenda", "approve", meeting], self.d.COORDINATOR,
                  self.d.START, f"approve:{meeting}", pos, "agenda_approved")  # fmt: skip

    def submit(self, n: int) -> Op:
        title = f"Crash g{self.gen} op{n}"
        purpose = self.rng.choice(PURPOSES)
        args = ["submit", "--title", title, "--purpose", purpose, "--table", "tafel-model",
                "--party", "ede", "--party", "barneveld"]  # fmt: skip
        if purpose == "advice":
            args += ["--addressee", "body:oogo"]
        return Op(n, "submit", args, self.d.COORDINATOR, self.d.START, f"title:{title}", 0,
                  "submitted")  # fmt: skip

    def move(self, n: int, proposal: str, shown: dict[str, Any]) -> Op:
        allowed = {m.split()[0] for m in shown.get("moves_allowed", [])}
        candidates = [m for m in MOVE_WEIGHTS if m in allowed]
        if not candidates or self.rng.random() < 0.1:  # now and then a move that is refused
            candidates = list(MOVE_WEIGHTS)
        move = self.rng.choices(candidates, [MOVE_WEIGHTS[m] for m in candidates])[0]
        version = self.d.latest_version(shown)
        args, user = self.d.move_args(move, proposal, str(shown["purpose"]), version)
        marks = ", ".join("?" * len(STATE_ACTIONS))
        pos = self.count(
            f"SELECT COUNT(*) FROM audit_event WHERE proposal_id = ? AND action IN ({marks})",
            (proposal, *STATE_ACTIONS),
        )
        return Op(n, move, args, user, _meeting_now(shown, self.d.START),
                  f"proposal:{proposal}", pos, _event_of(move, shown))  # fmt: skip

    def attend(self, n: int, shown: dict[str, Any]) -> Op:
        meeting = str(shown["meeting"])
        members = [
            str(r[0])
            for r in self.conn.execute(
                "SELECT m.person_id FROM body_member m JOIN meeting g ON g.body_id = m.body_id "
                "WHERE g.id = ? ORDER BY m.person_id",
                (meeting,),
            )
        ]
        person = self.rng.choice(members or [self.d.COORDINATOR])
        status = self.rng.choice(("present", "absent"))
        pos = self.count(
            "SELECT COUNT(*) FROM audit_event WHERE action = 'attendance' AND meeting_id = ? "
            "AND json_extract(payload, '$.person') = ?",
            (meeting, person),
        )
        # on the meeting's day: "present" is recorded from then on (issue #13, rule 5)
        return Op(n, "attend", ["attend", meeting, person, f"--{status}"], self.d.COORDINATOR,
                  _meeting_now(shown, self.d.START), f"attend:{meeting}:{person}", pos,
                  f"attendance:{status}")  # fmt: skip

    def run(self) -> None:
        _emit({"ready": self.gen})
        for n in range(self.first, self.first + self.budget):
            op = self.choose(n)
            _emit({"begin": asdict(op)})
            out = self.d.run(self.db, op.args, now=op.now, user=op.user)
            _emit({"done": n, "code": out.code, "bad": out.bad,
                   "error": out.stderr.strip()[-300:] if out.code else ""})  # fmt: skip


def _event_of(move: str, shown: dict[str, Any]) -> str:
    """The event a move writes: information is noted, not decided (issue #13)."""
    if move == "decide" and shown.get("purpose") == "information":
        return "noted"
    return EVENT_OF[move]


def _reason(error: str) -> str:
    """What a refusal was about, without the ids and times that make each one unique."""
    text = error.removeprefix("regie: error: ").splitlines()[-1] if error else "?"
    text = re.sub(r"P-\d{4}-\d+|[a-z]+(-[a-z0-9]+)*-\d{4}-\d{2}-\d{2}|\d[\d:T -]*", "#", text)
    return text[:70]


def _meeting_now(shown: dict[str, Any], floor: str) -> str:
    """Just after the start of the proposal's meeting (moves that wait for it can happen)."""
    at = datetime.fromisoformat(floor)
    starts = shown.get("meeting_starts_at")
    if starts:
        meeting = datetime.fromisoformat(starts).replace(tzinfo=None) + timedelta(minutes=1)
        at = max(at, meeting)
    return at.isoformat(timespec="minutes")


# -- accounting (pure: tested on its own) -------------------------------------------------


@dataclass
class Accounting:
    present: int = 0  # acknowledged operations found exactly once
    lost: list[str] = field(default_factory=list)  # acknowledged, not in the database
    doubled: list[str] = field(default_factory=list)  # events no operation accounts for
    in_flight_committed: int = 0  # in flight at a kill, and committed


def account(
    events: dict[str, list[str]],
    acknowledged: list[Op],
    in_flight: list[Op],
    baseline: dict[str, int] | None = None,
) -> Accounting:
    """Match every event of the run to one operation, and every acknowledged operation to
    its event. ``events``: key -> actions in audit order; ``baseline``: events per key
    that were there before the run."""
    base = baseline or {}
    claims: dict[tuple[str, int], list[tuple[Op, bool]]] = defaultdict(list)
    for op in acknowledged:
        claims[(op.key, op.pos)].append((op, True))
    for op in in_flight:
        if op.key:
            claims[(op.key, op.pos)].append((op, False))
    result = Accounting()
    owners: set[int] = set()
    for key, actions in events.items():
        for pos, action in enumerate(actions):
            if pos < base.get(key, 0) or (key.startswith("proposal:") and pos == 0):
                continue  # before the run; a proposal's submit is counted under its title
            matching = [(op, ack) for op, ack in claims[(key, pos)] if op.action == action]
            matching.sort(key=lambda c: not c[1])  # an acknowledged claimant first
            if not matching:
                result.doubled.append(f"{key} event {pos} ({action}): no operation made it")
                continue
            op, ack = matching[0]
            owners.add(op.n)
            result.in_flight_committed += not ack
    for op in acknowledged:
        if op.n in owners:
            result.present += 1
        else:
            result.lost.append(f"op {op.n} {op.kind} {op.key} #{op.pos}: not in the database")
    return result


@dataclass
class MailAccounting:
    expected: int = 0  # outbox rows that must reach the sink
    delivered: int = 0  # of those, how many did
    undelivered: list[str] = field(default_factory=list)
    duplicates: int = 0  # Message-IDs received twice
    duplicates_in_flight: int = 0  # of those, rows that were sending at a kill
    bad_duplicates: list[str] = field(default_factory=list)  # > 2, or 2 without a kill
    unknown: list[str] = field(default_factory=list)  # received, but no outbox row has it


def account_mail(
    rows: list[tuple[int, str, str | None, str | None]],
    received: Counter[str],
    in_flight: set[str],
) -> MailAccounting:
    """``rows``: (id, status, message_id, last_error) of every outbox row;
    ``received``: Message-ID -> times the sink got it; ``in_flight``: Message-IDs of rows
    that were sending at a kill."""
    result = MailAccounting()
    known: set[str] = set()
    for row_id, status, mid, error in rows:
        if status in ("digest", "digested", "cancelled"):
            continue  # digest parts travel inside their digest row
        result.expected += 1
        if mid:
            known.add(mid)
        times = received.get(mid or "", 0)
        if times == 0:
            why = f": {error}" if error else ""
            result.undelivered.append(f"outbox row {row_id} ({status}{why}) never reached the sink")
            continue
        result.delivered += 1
        if times == 2:
            result.duplicates += 1
            result.duplicates_in_flight += mid in in_flight
        if times > 2 or (times == 2 and mid not in in_flight):
            result.bad_duplicates.append(f"outbox row {row_id} {mid}: received {times} times")
    result.unknown = sorted(m for m in received if m not in known)
    return result


# -- the parent ---------------------------------------------------------------------------


@dataclass
class CrashReport:
    seed: int
    operations: int = 0  # started by a worker
    acknowledged: int = 0
    refused: int = 0  # clean refusals (exit 1/2): wrote nothing
    refusals: Counter[str] = field(default_factory=Counter)  # by the refusal's first words
    kills: int = 0
    kills_in_flight: int = 0  # kills that hit an operation between begin and done
    kills_by_kind: Counter[str] = field(default_factory=Counter)  # ... which kind of operation
    unclean_after_kill: list[str] = field(default_factory=list)  # `regie check` right after
    in_flight_committed: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    orphaned: int = 0  # outbox rows without their audit event
    bad_outputs: list[str] = field(default_factory=list)  # traceback, "locked", internal error
    mail: MailAccounting = field(default_factory=MailAccounting)
    mails_in_flight: int = 0  # outbox rows sending at a kill (over all kills)
    stuck_twice: int = 0  # rows failed because their sender was killed twice mid-send
    operator_retries: int = 0  # of those, not at the sink: retried as the note says
    check_problems: list[str] = field(default_factory=list)
    chain: str = ""
    events: int = 0
    proposals: int = 0
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        m = self.mail
        return not (self.lost or self.doubled or self.orphaned or self.bad_outputs
                    or self.check_problems or self.unclean_after_kill or m.undelivered
                    or m.bad_duplicates or m.unknown)  # fmt: skip

    def figures(self) -> list[tuple[str, str]]:
        m = self.mail
        return [
            ("operations", f"{self.operations}"),
            ("acknowledged", f"{self.acknowledged} (refused cleanly: {self.refused})"),
            ("top refusals", "; ".join(f"{n}x {r}" for r, n in self.refusals.most_common(4))),
            (
                "kills",
                f"{self.kills} ({self.kills_in_flight} mid-operation: "
                f"{_kinds(self.kills_by_kind)}; {self.in_flight_committed} of those "
                "had committed)",
            ),  # fmt: skip
            ("lost", f"{len(self.lost)}"),
            ("doubled", f"{len(self.doubled)}"),
            ("orphaned", f"{self.orphaned}"),
            (
                "mails",
                f"{m.expected} queued, {m.delivered} reached the sink, "
                f"{len(m.undelivered)} missing",
            ),  # fmt: skip
            (
                "duplicate mails",
                f"{m.duplicates} ({m.duplicates_in_flight} in flight at a kill; "
                f"{self.mails_in_flight} rows were sending at kills, "
                f"{self.stuck_twice} stuck twice, "
                f"{self.operator_retries} retried)",
            ),  # fmt: skip
            ("chain", self.chain),
            (
                "regie check",
                ("clean" if not self.check_problems else f"{len(self.check_problems)} problems")
                + ", and after every "
                f"kill: {len(self.unclean_after_kill)} unclean",
            ),  # fmt: skip
            ("elapsed", f"{self.elapsed:.1f} s"),
        ]


def _kinds(counts: Counter[str]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.most_common())


class _Run:
    def __init__(self, workdir: Path, seed: int, port: int, check_each_kill: bool) -> None:
        self.check_each_kill = check_each_kill
        self.db = workdir / "crash.db"
        self.stderr_path = workdir / "worker-stderr.txt"
        self.rng = random.Random(seed)
        self.report = CrashReport(seed)
        self.port = port
        self.generation = 0
        self.acknowledged: list[Op] = []
        self.in_flight: list[Op] = []
        self.mail_in_flight: set[str] = set()

    def env(self, now: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
        env.update(PYTHONPATH=str(TESTS), REGIE_SMTP_HOST="127.0.0.1",
                   REGIE_SMTP_PORT=str(self.port), REGIE_DB=str(self.db),
                   REGIE_USER="coordinator")  # fmt: skip
        if now:
            env["REGIE_NOW"] = now
        return env

    def generation_run(self, budget: int, kill_after: int | None, delay: float) -> None:
        """One worker: ``budget`` operations; killed ``delay`` s after ``kill_after`` done."""
        cfg = {"db": str(self.db), "generation": self.generation,
               "seed": self.rng.getrandbits(32), "first": self.report.operations,
               "budget": budget}  # fmt: skip
        with self.stderr_path.open("a") as err, subprocess.Popen(
            [sys.executable, str(HERE / "crash_driver.py"), "worker", json.dumps(cfg)],
            stdout=subprocess.PIPE, stderr=err, text=True, env=self.env(),
        ) as proc:  # fmt: skip
            assert proc.stdout is not None
            begun: dict[int, Op] = {}
            finished = 0
            killed = False
            for line in _lines(proc.stdout):
                finished += self.take(line, begun)
                if kill_after is not None and finished >= kill_after and not killed:
                    time.sleep(delay)
                    proc.send_signal(signal.SIGKILL)
                    killed = True
            code = proc.wait(timeout=60)
        self.generation += 1
        if killed and code == -signal.SIGKILL:
            self.after_kill(begun)
        elif code != 0:  # not our kill: the worker itself failed; stop the run
            text = self.stderr_path.read_text()[-1500:]
            raise RuntimeError(f"crash worker {self.generation - 1} exited with {code}: {text}")
        else:
            assert not begun, begun  # a clean exit finishes every operation

    def take(self, line: str, begun: dict[int, Op]) -> int:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return 0  # cannot happen (one atomic write per line); ignored to be safe
        if "begin" in record:
            op = Op(**record["begin"])
            begun[op.n] = op
            self.report.operations += 1
            return 0
        if "done" not in record:
            return 0
        op = begun.pop(int(record["done"]))
        if record["bad"]:
            self.report.bad_outputs.append(f"op {op.n} {op.args}: {record['bad']}: "
                                           f"{record['error']}")  # fmt: skip
        elif record["code"] == 0:
            self.report.acknowledged += 1
            if op.key:
                self.acknowledged.append(op)
        else:
            self.report.refused += 1
            self.report.refusals[_reason(str(record.get("error", "")))] += 1
        return 1

    def after_kill(self, begun: dict[int, Op]) -> None:
        self.report.kills += 1
        assert len(begun) <= 1, begun  # one operation at a time
        for op in begun.values():
            self.report.kills_in_flight += 1
            self.report.kills_by_kind[op.kind] += 1
            self.in_flight.append(op)
        if self.check_each_kill:
            problems = _check(self.db)[0]
            if problems:
                self.report.unclean_after_kill.append(f"kill {self.report.kills}: {problems[0]}")
        with closing(sqlite3.connect(self.db)) as conn:
            sending = conn.execute(
                "SELECT message_id FROM outbox WHERE status = 'sending'"
            ).fetchall()
        self.report.mails_in_flight += len(sending)
        self.mail_in_flight.update(str(r[0]) for r in sending)

    def regie(self, *args: str, now: str) -> subprocess.CompletedProcess[str]:
        """The real console script, as a user would run it (never killed)."""
        return subprocess.run([str(REGIE), *args], env=self.env(now), capture_output=True,
                              text=True, timeout=300)  # fmt: skip


def _lines(stream: IO[str]) -> Iterable[str]:
    while line := stream.readline():
        yield line


def run_crash(
    workdir: Path,
    *,
    operations: int,
    kills: int,
    seed: int = 0,
    max_delay: float = 0.03,
    check_each_kill: bool = True,
    on_kill: Callable[[CrashReport], None] | None = None,
) -> CrashReport:
    """The whole crash run; see the module docstring. Never raises on a broken promise:
    every finding is in the report (``report.ok``)."""
    from regie.notifications.sink import MailSink, StoredMail, running
    from reliability import driver

    t0 = time.perf_counter()
    received: Counter[str] = Counter()

    def note(mail: StoredMail) -> None:
        received[mail.message_id] += 1

    with running(MailSink(on_message=note, keep=False)) as port:
        run = _Run(workdir, seed, port, check_each_kill)
        init = driver.init(run.db, years=4)  # the clock only moves forward: a long calendar
        assert init.code == 0, init
        baseline = _events(run.db)
        while run.report.kills < kills:
            # on average: the operations still to do per kill still to make, less the one
            # in flight and those that finish during the delay
            left = (operations - run.report.operations) / (kills - run.report.kills)
            kill_after = run.rng.randint(0, max(round(2 * left) - 4, 0))
            run.generation_run(kill_after + 50, kill_after, run.rng.uniform(0, max_delay))
            if on_kill is not None:
                on_kill(run.report)
        rest = operations - run.report.operations
        if rest > 0:
            run.generation_run(rest, None, 0)
        _drain(run, received)
        _finish(run, baseline, received)
    run.report.elapsed = time.perf_counter() - t0
    return run.report


def _drain(run: _Run, received: Counter[str]) -> None:
    """Send everything with a clean `regie send`; retry rows stuck twice that never
    reached the sink (as the failure note tells an operator to), then send again."""
    from regie.notifications.outbox import STUCK_TWICE

    final = SEND_BASE + SEND_STEP * (run.generation + LEASE_SLACK)
    now = final.isoformat(timespec="minutes")
    out = run.regie("send", now=now)
    if out.returncode != 0:
        run.report.bad_outputs.append(f"final send: {out.returncode} {out.stderr.strip()}")
    with closing(sqlite3.connect(run.db)) as conn:
        stuck = conn.execute(
            "SELECT id, message_id FROM outbox WHERE status = 'failed' AND last_error = ?",
            (STUCK_TWICE,),
        ).fetchall()
    run.report.stuck_twice = len(stuck)
    retry = [int(rid) for rid, mid in stuck if not received.get(str(mid))]
    for row_id in retry:
        out = run.regie("outbox", "retry", str(row_id), now=now)
        if out.returncode != 0:
            run.report.bad_outputs.append(f"outbox retry {row_id}: {out.stderr.strip()}")
    run.report.operator_retries = len(retry)
    if retry:
        out = run.regie("send", now=(final + SEND_STEP).isoformat(timespec="minutes"))
        if out.returncode != 0:
            run.report.bad_outputs.append(f"second send: {out.returncode} {out.stderr.strip()}")


def _events(db: Path) -> dict[str, list[str]]:
    """Every audit event that an operation makes, by slot key, in audit order."""
    found: dict[str, list[str]] = defaultdict(list)
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT action, proposal_id, meeting_id, payload FROM audit_event ORDER BY id"
        ).fetchall()
    for action, proposal, meeting, payload in rows:
        data = json.loads(payload or "{}")
        if action in STATE_ACTIONS and proposal:
            found[f"proposal:{proposal}"].append(action)
        if action == "submitted":
            found[f"title:{data.get('title')}"].append(action)
        elif action == "attendance":
            found[f"attend:{meeting}:{data.get('person')}"].append(
                f"attendance:{data.get('status')}"
            )
        elif action == "agenda_approved":
            found[f"approve:{meeting}"].append(action)
    return dict(found)


def _check(path: Path) -> tuple[list[str], CheckReport]:
    """`regie check` (in-process: :func:`regie.engine.check.check_database`)."""
    from regie.engine.check import check_database
    from regie.engine.storage import Database, database_url

    db = Database(database_url(str(path)))
    try:
        checked = check_database(db=db)
    finally:
        db.dispose()
    return [str(p) for p in checked.problems], checked


def _finish(run: _Run, baseline: dict[str, list[str]], received: Counter[str]) -> None:
    report = run.report
    found = account(_events(run.db), run.acknowledged, run.in_flight,
                    {k: len(v) for k, v in baseline.items()})  # fmt: skip
    report.lost, report.doubled = found.lost, found.doubled
    report.in_flight_committed = found.in_flight_committed
    with closing(sqlite3.connect(run.db)) as conn:
        rows = conn.execute(
            "SELECT id, status, message_id, last_error FROM outbox ORDER BY id"
        ).fetchall()
        report.orphaned = int(conn.execute(
            "SELECT COUNT(*) FROM outbox o LEFT JOIN audit_event e ON e.id = o.event_id "
            "WHERE e.id IS NULL").fetchone()[0])  # fmt: skip
    report.mail = account_mail([(int(a), str(b), c, d) for a, b, c, d in rows], received,
                               run.mail_in_flight)  # fmt: skip
    report.check_problems, checked = _check(run.db)
    report.events, report.proposals = checked.events, checked.proposals
    broken = [p for p in checked.problems if p.code == "audit_chain"]
    report.chain = f"broken: {broken[0]}" if broken else f"intact ({checked.events} events)"
    text = run.stderr_path.read_text() if run.stderr_path.exists() else ""
    if "Traceback" in text:
        report.bad_outputs.append(f"worker stderr has a traceback: {text[-500:]}")


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "worker":
        Worker(json.loads(argv[1])).run()
        return 0
    print("usage: crash_driver.py worker JSON (bench/crash.py runs the suite)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
