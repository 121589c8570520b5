"""Two `regie scheduler` processes on one PostgreSQL database with 500 due reminders; one is
SIGKILLed in the middle of a firing; a `regie send --watch` delivers to a real aiosmtpd
sink: each reminder arrives exactly once and each firing is recorded once (issue 18,
"Several instances").

The 500 decisions awaiting confirmation are one decision made through the engine services
(on a copy of the initialised SQLite database), replicated into PostgreSQL as
bench/check_world.py does: every event appended through the real audit chain, the rows
they describe copied, so `regie check` finds the database whole before and after.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from regie.clock import AMSTERDAM, FixedClock, to_local
from regie.engine import attendance, audit, decisions
from regie.engine.check import check_database
from regie.engine.setup import init_database
from regie.engine.storage import Database, Tx, as_datetime
from regie.notifications.sink import MailSink, running
from regie.region import Region
from regie.scheduler.sweep import due_items
from regie.workflows.definition import builtin_workflows

pytestmark = pytest.mark.postgres
REGIE = Path(sys.executable).parent / "regie"
N = 500
START = datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM)  # as tests/conftest.py's template
DEADLINE_S = 60  # the longest the test waits for a state (a failure, not a timing)
COPIED = ("proposal", "proposal_party", "decision", "prior_position")  # per proposal


def _decided(world: Any) -> None:
    """One adoption through the engine to a decision that awaits confirmation."""
    pid = world.submit("adoption")
    meeting = world.to_final(pid)
    for party in world.show(pid)["parties"]:
        person = world.mandated(party, world.body_id("oogo"))
        world.call(attendance.record_attendance, meeting_id=meeting, person=person,
                   status="present")  # fmt: skip
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Vastgesteld.")


def _expand(value: Any, copies: dict[str, list[str]]) -> Any:
    """A meeting event's payload with each template proposal id listing all its copies."""
    if isinstance(value, dict):
        return {k: _expand(v, copies) for k, v in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if isinstance(item, str) and item in copies:
                out.extend(copies[item])
            elif isinstance(item, dict) and item.get("proposal") in copies:
                out.extend(
                    {**_expand(item, copies), "proposal": q} for q in copies[item["proposal"]]
                )
            else:
                out.append(_expand(item, copies))
        return out
    return value


def _rows(src: sqlite3.Connection, dst: Tx, table: str) -> tuple[list[str], list[list[Any]]]:
    """The columns and rows of ``table`` in ``src``, SQLite's 0/1 as PostgreSQL booleans."""
    cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
    flags = {str(r[0]) for r in dst.all(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = ? AND data_type = 'boolean'", (table,))}  # fmt: skip
    rows = [[bool(v) if c in flags and v is not None else v for c, v in zip(cols, row, strict=True)]
            for row in src.execute(f"SELECT * FROM {table}")]  # fmt: skip
    return cols, rows


def _replicate(source: Path, dst: Tx, after_init: int, n: int) -> list[str]:
    """Every event of ``source`` after ``after_init`` appended to ``dst`` (proposal events
    once per copy, meeting events once), with the rows they describe; the copies' ids."""
    with closing(sqlite3.connect(source)) as src:
        (template,) = [r[0] for r in src.execute("SELECT id FROM proposal")]
        year = template.split("-")[1]
        ids = [f"P-{year}-{i:03d}" for i in range(1, n + 1)]
        copies = {template: ids}
        for table in (*COPIED, "attendance"):
            cols, rows = _rows(src, dst, table)
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            at = (
                cols.index("id" if table == "proposal" else "proposal_id") if table in COPIED else 0
            )
            for row in rows:
                for q in ids if table in COPIED else [row[at]]:
                    dst.execute(sql, (*row[:at], q, *row[at + 1 :]))
        events = src.execute(
            "SELECT at, actor, acting_for, action, proposal_id, meeting_id, payload "
            "FROM audit_event WHERE id > ? ORDER BY id", (after_init,)
        ).fetchall()  # fmt: skip
    for at, actor, acting_for, action, pid, meeting, payload in events:
        when = as_datetime(at)
        assert when is not None
        for q in copies[pid] if pid is not None else [None]:
            audit.append(dst, at=when.replace(tzinfo=UTC), actor=actor, acting_for=acting_for,
                         action=action, proposal_id=q, meeting_id=meeting,
                         payload=_expand(json.loads(payload), copies))  # fmt: skip
    dst.execute("DELETE FROM counter WHERE name = ?", (f"proposal-{year}",))
    dst.execute("INSERT INTO counter (name, value) VALUES (?, ?)", (f"proposal-{year}", n))
    return ids


@pytest.fixture()
def pg_url(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, region: Region, pg_scratch: Any
) -> Iterator[str]:
    """A PostgreSQL database with N decisions awaiting confirmation (and nothing queued)."""
    after_init = world.audit_count()
    _decided(world)  # with the SQLite file's own key (r.db.key)
    world.db.dispose()
    monkeypatch.setenv("REGIE_KEY_FILE", str(tmp_path / "regie.key"))  # PostgreSQL's
    monkeypatch.delenv("REGIE_SECRET", raising=False)
    with pg_scratch("regie_two") as url:
        db = Database(url)
        try:
            init_database(db=db, clock=FixedClock(START), region=region,
                          workflows=builtin_workflows())  # fmt: skip
            with db.transaction() as session:
                tx = Tx(session)
                assert tx.scalar("SELECT MAX(id) FROM audit_event") == after_init
                assert tx.scalar("SELECT COUNT(*) FROM outbox") == 0
                _replicate(world.path, tx, after_init, N)
                session.commit()
            yield url
        finally:
            db.dispose()


def _env(url: str, port: int, now: datetime, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    env.update(REGIE_DB=url, REGIE_NOW=to_local(now).isoformat(), PGAPPNAME=name,
               REGIE_KEY_FILE=os.environ["REGIE_KEY_FILE"], REGIE_SMTP_HOST="127.0.0.1",
               REGIE_SMTP_PORT=str(port), PYTHONUNBUFFERED="1")  # fmt: skip
    return env


def _until(what: str, probe: Callable[[], Any]) -> Any:
    """Poll ``probe`` until it returns something true; fail after DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while not (found := probe()):
        assert time.monotonic() < deadline, f"not reached in {DEADLINE_S} s: {what}"
        time.sleep(0.005)
    return found


@contextmanager
def _processes(*argvs: tuple[list[str], dict[str, str]]) -> Iterator[list[subprocess.Popen[str]]]:
    procs = [subprocess.Popen([str(REGIE), *argv], env=env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for argv, env in argvs]  # fmt: skip
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=30)


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    return out


def test_two_schedulers_one_killed_send_each_reminder_once(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with db.transaction(write=False) as session:
            decided = as_datetime(Tx(session).scalar("SELECT MAX(recorded_at) FROM decision"))
        assert decided is not None
        first = min(d.due_at for _r, d in due_items(db, decided, decided + timedelta(days=9))
                    if d.rule == "confirmation")  # fmt: skip
        now = first + timedelta(hours=1)  # the first daily reminder of every decision is due
        expected = {(d.rule, d.item, d.person, d.due_at)
                    for _r, d in due_items(db, now, now, unfired=True)}  # fmt: skip
        assert check_database(db=db).ok
    finally:
        db.dispose()
    reminders = {k for k in expected if k[0] == "confirmation"}
    assert len(reminders) == N and len({k[1] for k in reminders}) == N

    conn = psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql"), autocommit=True)

    def value(sql: str) -> Any:
        return conn.execute(sql).fetchone()[0]  # type: ignore[index]

    def in_a_write(name: str) -> bool:  # holds an uncommitted write (a firing, its event)
        return bool(value("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = "
                          f"'{name}' AND backend_xid IS NOT NULL"))  # fmt: skip

    sink = MailSink()
    with (
        closing(conn),
        running(sink) as port,
        _processes(
            (["scheduler"], _env(pg_url, port, now, "sched-a")),
            (["scheduler"], _env(pg_url, port, now, "sched-b")),
            (["send", "--watch", "--interval", "0.2"], _env(pg_url, port, now, "sender")),
        ) as (a, b, sender),
    ):

        def halfway() -> int | None:
            fired = int(value("SELECT COUNT(*) FROM firing"))
            reminded = value("SELECT COUNT(*) FROM firing WHERE rule = 'confirmation'")
            return fired if reminded >= N // 2 and in_a_write("sched-a") else None

        at_kill = _until("half the reminders fired while A writes a firing", halfway)
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=30)
        assert a.returncode == -signal.SIGKILL
        assert at_kill < len(expected)  # A died in the middle of the work
        _until("every firing made", lambda: value("SELECT COUNT(*) FROM firing") >= len(expected))
        _until("every notice sent", lambda: value(
            "SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')") == 0)  # fmt: skip
        sent = value("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
        _until("every sent mail at the sink", lambda: sink.count >= sent)
        b_out = _stop(b)
        _stop(sender)
        again = subprocess.run([str(REGIE), "scheduler", "--once", "--json"], text=True,
                               env=_env(pg_url, port, now, "sched-a"), capture_output=True,
                               timeout=60)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["fired"] == []  # A restarted: nothing left to fire
    assert "fired" in b_out

    db = Database(pg_url)
    try:
        with db.transaction(write=False) as session:
            tx = Tx(session)
            rows = tx.all("SELECT rule, item, person, due_at FROM firing")
            firings = {(r[0], r[1], r[2] or None, as_datetime(r[3])) for r in rows}
            linked = tx.scalar("SELECT COUNT(*) FROM firing WHERE event_id IS NOT NULL")
            events = tx.scalar("SELECT COUNT(*) FROM audit_event WHERE actor = 'scheduler'")
            reminded = tx.scalar("SELECT COUNT(*) FROM audit_event WHERE actor = 'scheduler' "
                                 "AND action = 'reminder_sent'")  # fmt: skip
            mails = tx.all("SELECT message_id, proposal_id, kind, status FROM outbox")
        report = check_database(db=db)
    finally:
        db.dispose()
    assert firings == expected  # every due item fired, once (other rules' too)
    assert linked == events and reminded == N  # one event per firing (a digest has none)
    at_sink = Counter(m.message_id for m in sink.messages)
    assert set(at_sink.values()) == {1}  # no mail twice
    by_mid = {str(mid): (pid, kind, status) for mid, pid, kind, status in mails}
    assert set(at_sink) == {mid for mid, (_p, _k, s) in by_mid.items() if s == "sent"}
    confirmed = Counter(by_mid[mid][0] for mid in at_sink
                        if by_mid[mid][1] == "confirmation_reminder")  # fmt: skip
    assert len(confirmed) == N and set(confirmed.values()) == {1}  # each reminder once
    assert report.ok, [str(p) for p in report.problems]
