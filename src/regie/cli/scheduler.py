"""Scheduler commands of `regie`: due (what the rules will fire) and scheduler (fire it)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from regie.cli.support import Env, emit_json, json_option, pass_env, say, table
from regie.clock import to_local, to_utc_naive
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.scheduler import sweep as sweeping
    from regie.scheduler.sweep import SweepReport
else:
    sweeping = lazy_module("regie.scheduler.sweep")


@click.command()
@click.option(
    "--days",
    default=7,
    show_default=True,
    type=click.IntRange(0, 3660),
    help="Also show what falls due in the coming N days.",
)
@json_option
@pass_env
def due(env: Env, days: int, as_json: bool) -> None:
    """What the scheduler's rules fire: overdue (not fired yet) and due in the coming days,
    when (local time), for whom, by which rule."""
    db = env.database()
    now = to_utc_naive(env.clock.now())
    rows = [
        {
            "rule": d.rule,
            "item": d.item,
            "person": d.person,
            "due_at": to_local(d.due_at).isoformat(timespec="minutes"),
            "overdue": d.due_at <= now,
            "what": str(d.detail.get("kind", "")),
        }
        for _rule, d in sweeping.due_items(db, now, now + timedelta(days=days), unfired=True)
    ]
    if as_json:
        emit_json({"rows": rows, "days": days})
        return
    if not rows:
        say(f"nothing due in the coming {days} days")
        return
    table("Due", ["when (local)", "rule", "what", "item", "for", "status"],
          [(str(r["due_at"]).replace("T", " ")[:16], r["rule"], r["what"], r["item"],
            r["person"] or "", "overdue" if r["overdue"] else "due") for r in rows])  # fmt: skip


@click.command()
@click.option("--once", is_flag=True, help="Sweep once and stop (for cron).")
@json_option
@pass_env
def scheduler(env: Env, once: bool, as_json: bool) -> None:
    """Fire what is due (reminders, escalations): once with --once, else at start and every
    minute until Ctrl-C or SIGTERM. Each firing happens once, also after downtime and with
    several schedulers on one database."""
    db = env.database()
    if once:
        report = sweeping.sweep(db, env.clock)
        if as_json:
            emit_json(_as_dict(report))
        else:
            _print(report)
        return
    _run(env)


def _as_dict(report: SweepReport) -> dict[str, Any]:
    return {
        "fired": [
            {"rule": d.rule, "item": d.item, "person": d.person, "due_at": d.due_at.isoformat()}
            for d in report.fired
        ],
        "skipped": report.skipped,
    }


def _print(report: SweepReport) -> None:
    say(f"fired {report.count}" + (f", skipped {report.skipped}" if report.skipped else ""))


def _run(env: Env) -> None:
    """An APScheduler 3.x BlockingScheduler: one sweep job, at start and every minute
    (missed runs coalesce into one; no misfire is dropped). APScheduler keeps wall-clock
    time; what is due is decided by ``env.clock`` (``REGIE_NOW`` in tests)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    db = env.database()

    def job() -> None:
        report = sweeping.sweep(db, env.clock)
        if report.count or report.skipped:
            _print(report)

    sched = BlockingScheduler(timezone="UTC")
    sched.add_job(job, "interval", seconds=sweeping.SWEEP_SECONDS, id="regie-sweep",
                  next_run_time=datetime.now(UTC), misfire_grace_time=None,
                  coalesce=True, max_instances=1, replace_existing=True)  # fmt: skip
    stopped = threading.Event()

    def stop(*_args: Any) -> None:
        if not stopped.is_set():
            stopped.set()
            sched.shutdown(wait=False)

    with _on_signals(stop):
        say(f"scheduler: sweeping every {sweeping.SWEEP_SECONDS} s; Ctrl-C stops")
        with contextlib.suppress(KeyboardInterrupt):
            sched.start()
    say("stopped")


@contextlib.contextmanager
def _on_signals(stop: Any) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


COMMANDS = [due, scheduler]
