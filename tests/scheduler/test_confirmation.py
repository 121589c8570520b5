"""Issue 18, rule 5 (confirmation), and the sweep that fires it exactly once: on a real
SQLite file (the ``world`` fixture) with an injected clock.

A decision recorded on day D is due for confirmation by the 2nd working day after D; from
the 3rd working day on, the chair gets a reminder at 09:00 local time on every working
day; on the 6th working day (5 have passed) the coordinator gets one escalation.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.engine import attendance, decisions
from regie.engine.calendar import WorkCalendar
from regie.scheduler import confirmation
from regie.scheduler.rules import all_rules, reminder_time
from regie.scheduler.sweep import due_items, sweep

ONLY = {"confirmation": confirmation.ConfirmationRule()}  # the documents rule stays out


def decided(world: Any) -> str:
    """A proposal whose decision was recorded at its top meeting and awaits confirmation."""
    pid = world.submit("adoption")
    world.to_final(pid)
    meeting = world.show(pid)["meeting"]
    for party in world.show(pid)["parties"]:
        person = world.mandated(party, world.body_id("oogo"))
        world.call(attendance.record_attendance, meeting_id=meeting, person=person,
                   status="present")  # fmt: skip
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Vastgesteld.")
    return pid


def recorded_on(world: Any, pid: str, day: date) -> None:
    """Pretend the decision was recorded at 14:00 local time on ``day`` (a day after every
    event so far, so the scheduler's events come after them)."""
    at = to_utc_naive(datetime.combine(day, time(14), tzinfo=AMSTERDAM))
    last = world.sql("SELECT MAX(at) FROM audit_event")[0][0]
    assert at > datetime.fromisoformat(last), "pick a later day"
    world.sql_write("UPDATE decision SET recorded_at = ? WHERE proposal_id = ?", (at, pid))


def run(world: Any, local: datetime) -> list[tuple[str, str | None, datetime]]:
    """Sweep at ``local`` (Amsterdam time); (what, for whom, local due time) fired."""
    world.at(local)
    report = sweep(world.db, world.clock, ONLY)
    return [(d.detail["kind"], d.person, to_local(d.due_at).replace(tzinfo=None))
            for d in report.fired]  # fmt: skip


def counts(world: Any) -> tuple[int, int, int]:
    """(this rule's firing rows, its audit events, their outbox rows)."""
    firings = world.sql("SELECT COUNT(*) FROM firing WHERE rule = 'confirmation'")[0][0]
    events = world.sql(
        "SELECT COUNT(*) FROM audit_event WHERE action IN ('reminder_sent', 'escalated') "
        "AND json_extract(payload, '$.rule') = 'confirmation'"
    )[0][0]
    rows = world.sql("SELECT COUNT(*) FROM outbox WHERE kind LIKE 'confirmation_%'")[0][0]
    return int(firings), int(events), int(rows)


@pytest.fixture
def open_decision(world: Any) -> str:
    def sql_write(query: str, params: tuple[Any, ...] = ()) -> None:
        import sqlite3
        from contextlib import closing

        with closing(sqlite3.connect(world.path)) as conn, conn:
            conn.execute(query, params)

    world.sql_write = sql_write
    return decided(world)


def test_the_confirmation_rule_is_registered() -> None:
    assert "confirmation" in all_rules()


def test_no_reminder_before_two_working_days_then_one_at_nine(
    world: Any, open_decision: str
) -> None:
    pid = open_decision
    recorded_on(world, pid, date(2027, 3, 1))  # a Monday; confirm by Wednesday 3 March
    assert run(world, datetime(2027, 3, 3, 23, 59)) == []
    assert run(world, datetime(2027, 3, 4, 8, 59)) == []
    chair = world.chair("oogo")
    assert run(world, datetime(2027, 3, 4, 9, 0)) == [("reminder", chair, datetime(2027, 3, 4, 9))]
    assert run(world, datetime(2027, 3, 4, 17, 0)) == []  # one per working day
    (row,) = world.sql("SELECT person_id, kind, proposal_id, context FROM outbox "
                       "WHERE kind = 'confirmation_reminder'")  # fmt: skip
    assert row[:3] == (chair, "confirmation_reminder", pid)
    assert '"version": 1' in row[3] and '"rule": "confirmation"' in row[3]
    (payload,) = world.sql("SELECT payload FROM audit_event WHERE action = 'reminder_sent'")[0]
    assert '"due":"2027-03-04"' in payload.replace(" ", "")
    assert '"missing":"confirmation"' in payload.replace(" ", "")


def test_weekend_and_kings_day_shift_the_reminders(world: Any, open_decision: str) -> None:
    # Thursday 22 April 2027: working days 23 (Fri), 26 (Mon); Tuesday 27 April is King's
    # Day, so the first reminder is on Wednesday 28 April.
    recorded_on(world, open_decision, date(2027, 4, 22))
    assert run(world, datetime(2027, 4, 27, 12)) == []
    fired = run(world, datetime(2027, 4, 28, 9))
    assert [(k, at) for k, _p, at in fired] == [("reminder", datetime(2027, 4, 28, 9))]


def test_christmas_shifts_the_reminders(world: Any, open_decision: str) -> None:
    # Wednesday 22 December 2027: working days 23, 24; 25/26 are Christmas (a weekend),
    # so the first reminder is on Monday 27 December.
    recorded_on(world, open_decision, date(2027, 12, 22))
    assert run(world, datetime(2027, 12, 26, 23)) == []
    assert [at for _k, _p, at in run(world, datetime(2027, 12, 27, 9))] == [
        datetime(2027, 12, 27, 9)
    ]


def test_daily_reminders_then_one_escalation_and_confirming_stops_them(
    world: Any, open_decision: str
) -> None:
    pid = open_decision
    recorded_on(world, pid, date(2027, 3, 1))  # Monday
    chair, coordinator = world.chair("oogo"), world.coordinator
    days = [date(2027, 3, d) for d in (4, 5, 8, 9, 10)]  # Thu, Fri, Mon, Tue, Wed
    fired = [run(world, datetime.combine(d, time(9, 1))) for d in days]
    assert [len(f) for f in fired] == [1, 1, 1, 2, 1]
    assert ("escalation", coordinator, datetime(2027, 3, 9, 9)) in fired[3]  # 5 days passed
    assert all(p == chair for f in fired for k, p, _ in f if k == "reminder")
    assert run(world, datetime(2027, 3, 6, 12)) == []  # nothing new (and a Saturday)
    (row,) = world.sql("SELECT person_id FROM outbox WHERE kind = 'confirmation_escalated'")
    assert row == (coordinator,)
    world.at(datetime(2027, 3, 10, 10))
    world.call(decisions.confirm, proposal_id=pid, actor=chair, version=1)
    assert run(world, datetime(2027, 3, 15, 9, 30)) == []
    assert counts(world) == (6, 6, 6)


def test_the_scheduler_events_pass_the_database_check(world: Any, open_decision: str) -> None:
    from regie.engine.check import check_database

    # decided Thursday 28 January 2027 evening: reminders from Tuesday 2 February,
    # the escalation on Friday 5 February
    fired = run(world, datetime(2027, 2, 5, 9, 0))
    assert [(k, at.day) for k, _p, at in fired] == [
        ("reminder", 2), ("reminder", 3), ("reminder", 4), ("reminder", 5), ("escalation", 5)
    ]  # fmt: skip
    assert check_database(db=world.db).problems == []  # the scheduler's events replay


def test_a_restart_after_downtime_fires_each_missed_time_once(
    world: Any, open_decision: str
) -> None:
    recorded_on(world, open_decision, date(2027, 3, 1))
    fired = run(world, datetime(2027, 3, 5, 15))  # down Thursday and Friday morning
    assert sorted(at for _k, _p, at in fired) == [datetime(2027, 3, 4, 9), datetime(2027, 3, 5, 9)]
    assert run(world, datetime(2027, 3, 5, 15, 1)) == []
    assert counts(world) == (2, 2, 2)


def test_two_sweeps_at_the_same_moment_fire_once(world: Any, open_decision: str) -> None:
    recorded_on(world, open_decision, date(2027, 3, 1))
    world.at(datetime(2027, 3, 9, 9, 30))  # 4 reminders and the escalation due
    start = threading.Barrier(2)
    reports: list[Any] = []

    def one() -> None:
        start.wait()
        reports.append(sweep(world.db, world.clock, ONLY))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.count for r in reports) == 5
    assert counts(world) == (5, 5, 5)


def test_the_dst_week_keeps_nine_local(world: Any, open_decision: str) -> None:
    # Summer time starts on Sunday 28 March 2027 (Easter; Monday 29 March is closed too):
    # 09:00 local is 08:00 UTC before, 07:00 UTC after.
    recorded_on(world, open_decision, date(2027, 3, 23))  # Tuesday; reminders from Friday
    fired = run(world, datetime(2027, 3, 31, 9))
    assert [at for _k, _p, at in fired] == [datetime(2027, 3, 26, 9), datetime(2027, 3, 30, 9),
                                            datetime(2027, 3, 31, 9)]  # fmt: skip
    stored = [str(r[0]) for r in world.sql("SELECT due_at FROM firing ORDER BY due_at")]
    assert [s[11:16] for s in stored] == ["08:00", "07:00", "07:00"]


def test_reminder_time_is_nine_local_on_a_working_day() -> None:
    cal = WorkCalendar()
    assert reminder_time(cal, date(2027, 1, 15)) == datetime(2027, 1, 15, 8)  # winter: UTC+1
    assert reminder_time(cal, date(2027, 7, 15)) == datetime(2027, 7, 15, 7)  # summer: UTC+2
    assert reminder_time(cal, date(2027, 4, 27)) == datetime(2027, 4, 28, 7)  # King's Day


def test_due_lists_what_comes(world: Any, open_decision: str) -> None:
    recorded_on(world, open_decision, date(2027, 3, 1))
    now = to_utc_naive(datetime(2027, 3, 4, 12, tzinfo=AMSTERDAM))
    soon = due_items(world.db, now, now + timedelta(days=7), unfired=True)
    mine = [d for _r, d in soon if d.rule == "confirmation"]
    assert [to_local(d.due_at).day for d in mine] == [4, 5, 8, 9, 9, 10, 11]


def test_the_reminder_mail_carries_a_link_that_opens_the_waiting_decision(
    world: Any, open_decision: str
) -> None:
    from dataclasses import replace

    from regie.engine.storage import Tx
    from regie.notifications import outbox
    from regie.notifications.render import render_notice
    from regie.web import confirm_view
    from regie.web.links import ACTIONS, Link

    recorded_on(world, open_decision, date(2027, 3, 1))
    run(world, datetime(2027, 3, 4, 9))
    with world.db.transaction(write=False) as session:
        tx = Tx(session)
        raw = tx.one(f"SELECT {outbox.ROW_COLUMNS} FROM outbox "
                     "WHERE kind = 'confirmation_reminder'")  # fmt: skip
        assert raw is not None
        row = outbox.row_from_tuple(raw)
        made = world.clock.now().replace(tzinfo=None)
        link = Link(row.id, row.kind, ACTIONS[row.kind], row.person_id, "nl", row.proposal_id,
                    row.meeting_id, row.context, made)  # fmt: skip
        view = confirm_view.read(tx, link, world.clock.now(), 14, "nl")
        assert (view.status, view.proposal_id, view.version) == ("open", open_decision, 1)
        for lang, words in (("nl", "nog niet bevestigd"), ("en", "not been confirmed yet")):
            msg = render_notice(tx, replace(row, language=lang), sender_address="r@example.org",
                                link_url=lambda r: f"https://x.example.org/l/{r.id}")  # fmt: skip
            plain = str(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]
            assert words in plain and f"https://x.example.org/l/{row.id}" in plain


# -- the commands -----------------------------------------------------------------------


def regie(world: Any, *args: str, now: str) -> Any:
    from click.testing import CliRunner

    from regie.cli import cli

    env = {"REGIE_DB": None, "REGIE_USER": None, "REGIE_LANG": None, "REGIE_NOW": now}
    result = CliRunner().invoke(cli, ["--db", str(world.path), *args], env=env)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return result


def test_due_and_scheduler_once_through_the_cli(world: Any, open_decision: str) -> None:
    import json

    recorded_on(world, open_decision, date(2027, 3, 1))
    rows = json.loads(regie(world, "due", "--days", "2", "--json", now="2027-03-05T12:00").output)
    mine = [r for r in rows["rows"] if r["rule"] == "confirmation"]
    assert [(r["due_at"], r["overdue"], r["what"]) for r in mine] == [
        ("2027-03-04T09:00+01:00", True, "reminder"),
        ("2027-03-05T09:00+01:00", True, "reminder"),
    ]  # Saturday and Sunday are closed: nothing more within 2 days
    once = json.loads(regie(world, "scheduler", "--once", "--json", now="2027-03-05T12:00").output)
    assert len([f for f in once["fired"] if f["rule"] == "confirmation"]) == 2
    again = regie(world, "scheduler", "--once", now="2027-03-05T12:00")
    assert again.output.strip() == "fired 0"
    table = regie(world, "due", "--days", "5", now="2027-03-05T12:00").output
    assert "2027-03-08 09:00" in table and "overdue" not in table and "due" in table


def test_the_scheduler_sweeps_at_start_and_stops_on_sigterm(world: Any, open_decision: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time as time_module
    from pathlib import Path

    recorded_on(world, open_decision, date(2027, 3, 1))
    script = Path(sys.executable).parent / "regie"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    env.update(REGIE_NOW="2027-03-04T10:00", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([str(script), "--db", str(world.path), "scheduler"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    import selectors

    seen: list[str] = []
    try:
        # the run at start fires the reminder due at 09:00: wait until it says so (a line
        # on stdout, with a deadline), then stop it
        assert proc.stdout is not None
        watcher = selectors.DefaultSelector()
        watcher.register(proc.stdout, selectors.EVENT_READ)
        deadline = time_module.monotonic() + 30
        while not any(s.startswith("fired ") for s in seen) and time_module.monotonic() < deadline:
            if watcher.select(timeout=max(0.0, deadline - time_module.monotonic())):
                line = proc.stdout.readline()
                if not line:
                    break
                seen.append(line.strip())
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    lines = seen + out.strip().splitlines()
    assert lines[0].startswith("scheduler: sweeping every 60 s"), lines
    # other rules fire at start too (agendas, the digest): this one fired once
    assert lines[1].startswith("fired ") and lines[2:] == ["stopped"], lines
    assert "Traceback" not in err
    assert counts(world) == (1, 1, 1)


def test_regie_serve_runs_the_scheduler(world: Any, open_decision: str) -> None:
    """`regie serve` sweeps at start (and every minute) beside the web service; SIGTERM
    stops all of it with exit code 0."""
    import os
    import signal
    import subprocess
    import sys
    import time as time_module
    from pathlib import Path

    from regie.notifications.sink import free_port

    recorded_on(world, open_decision, date(2027, 3, 1))
    script = Path(sys.executable).parent / "regie"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    env.update(REGIE_NOW="2027-03-04T10:00", PYTHONUNBUFFERED="1")
    port = str(free_port())
    proc = subprocess.Popen(
        [str(script), "--db", str(world.path), "serve", "--port", port, "--no-send"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time_module.monotonic() + 30
        while counts(world)[0] == 0 and time_module.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time_module.sleep(0.1)  # polled with a deadline: the sweep at start fires one
        assert counts(world) == (1, 1, 1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "regie serve: stopped" in out
    assert counts(world) == (1, 1, 1)  # nothing fired twice
