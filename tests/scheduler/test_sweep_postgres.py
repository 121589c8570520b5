"""The sweep on the real PostgreSQL server: two schedulers sweeping at the same moment
fire each due confirmation reminder once (``INSERT … ON CONFLICT DO NOTHING`` on the
firing's unique key, in the transaction of its audit event and notices)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from regie.clock import AMSTERDAM, FixedClock
from regie.engine import agenda_approval, attendance, decisions, moves
from regie.engine.setup import init_database
from regie.engine.storage import Database, Tx
from regie.region import load_region
from regie.scheduler.confirmation import ConfirmationRule
from regie.scheduler.sweep import sweep
from regie.workflows.definition import builtin_workflows

pytestmark = pytest.mark.postgres
START = datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM)
ONLY = {"confirmation": ConfirmationRule()}


@pytest.fixture()
def pg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_scratch: Any) -> Iterator[Database]:
    monkeypatch.setenv("REGIE_KEY_FILE", str(tmp_path / "regie.key"))
    monkeypatch.delenv("REGIE_SECRET", raising=False)
    with pg_scratch("regie_sched") as url:
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()


def _call(db: Database, clock: FixedClock, fn: Any, **kwargs: Any) -> Any:
    with db.transaction() as session:
        return fn(session=session, clock=clock, **kwargs)


def _at_meeting(clock: FixedClock, result: Any) -> None:
    clock.set(datetime.fromisoformat(result.as_dict()["meeting_starts_at"]) + timedelta(minutes=30))


def test_two_sweeps_at_once_fire_each_reminder_once_on_postgres(pg: Database) -> None:
    region = load_region("config/foodvalley.toml")
    clock = FixedClock(START)
    init_database(db=pg, clock=clock, region=region, workflows=builtin_workflows())
    me = region.coordinator
    r = _call(pg, clock, moves.submit, actor=me, title="Beleidskader", purpose="adoption",
              table="tafel-model", parties=["ede"])  # fmt: skip
    for _ in range(3):
        _at_meeting(clock, r)
        r = _call(pg, clock, moves.advance, actor=me, proposal_id=r.proposal_id)
    _call(pg, clock, agenda_approval.approve, actor=me, meeting_id=r.meeting_id)
    _at_meeting(clock, r)
    oogo = region.body_of_kind("oogo")
    rep = next(m.person for m in region.mandates if m.party == "ede" and m.body == oogo.id)
    _call(pg, clock, attendance.record_attendance, actor=me, meeting_id=r.meeting_id,
          person=rep, status="present")  # fmt: skip
    _call(pg, clock, decisions.decide, actor=me, proposal_id=r.proposal_id, outcome="adopted",
          text="Vastgesteld.")  # fmt: skip
    clock.advance(timedelta(days=14))  # ten working days: reminders and the escalation due
    start = threading.Barrier(4)
    reports: list[Any] = []

    def one() -> None:
        start.wait()
        reports.append(sweep(pg, clock, ONLY))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fired = sum(r.count for r in reports)
    with pg.transaction(write=False) as session:
        tx = Tx(session)
        firings = tx.scalar("SELECT COUNT(*) FROM firing")
        events = tx.scalar(
            "SELECT COUNT(*) FROM audit_event WHERE action IN ('reminder_sent', 'escalated')"
        )
        rows = tx.scalar("SELECT COUNT(*) FROM outbox WHERE kind LIKE 'confirmation_%'")
        linked = tx.scalar("SELECT COUNT(*) FROM firing WHERE event_id IS NOT NULL")
    assert fired == 9  # eight daily reminders (one a working day) and one escalation
    assert (firings, events, rows, linked) == (fired, fired, fired, fired)
    assert sweep(pg, clock, ONLY).count == 0
