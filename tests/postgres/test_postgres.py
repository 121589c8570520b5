"""The engine on the real PostgreSQL server (127.0.0.1:5432, trust auth).

Each test gets its own fresh database. Outside CI a missing server skips these tests (with
the reason); in CI (env CI=true) it fails them, because `.ci/run` starts the server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from regie.clock import AMSTERDAM, FixedClock
from regie.engine import agenda_approval, attendance, audit, decisions, moves, queries
from regie.engine.check import check_database
from regie.engine.setup import init_database
from regie.engine.storage import Database
from regie.errors import ConcurrentChange, InvalidMove
from regie.region import Region, load_region
from regie.workflows.definition import builtin_workflows

pytestmark = pytest.mark.postgres
START = datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM)


@pytest.fixture()
def pg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_scratch: Any) -> Iterator[Database]:
    """A fresh database; its audit key in a 0600 file outside it (REGIE_KEY_FILE)."""
    monkeypatch.setenv("REGIE_KEY_FILE", str(tmp_path / "regie.key"))
    monkeypatch.delenv("REGIE_SECRET", raising=False)
    with pg_scratch("regie_test") as url:
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()


@pytest.fixture()
def region() -> Region:
    return load_region("config/foodvalley.toml")


def _call(db: Database, clock: FixedClock, fn, **kwargs):  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        return fn(session=session, clock=clock, **kwargs)


def _at_meeting(clock: FixedClock, result: moves.MoveResult) -> None:
    starts = result.as_dict()["meeting_starts_at"]
    assert isinstance(starts, str)
    clock.set(datetime.fromisoformat(starts) + timedelta(minutes=30))


def test_whole_route_on_postgres(pg: Database, region: Region) -> None:
    clock = FixedClock(START)
    init_database(db=pg, clock=clock, region=region, workflows=builtin_workflows())
    coordinator = region.coordinator
    r = _call(pg, clock, moves.submit, actor=coordinator, title="Beleidskader OZA",
              purpose="adoption", table="tafel-model", parties=["ede"])  # fmt: skip
    for _ in range(3):
        _at_meeting(clock, r)
        r = _call(pg, clock, moves.advance, actor=coordinator, proposal_id=r.proposal_id)
    assert r.state == "oogo"
    # the chairs' meeting sets the OOGO agenda before the OOGO meets
    _call(pg, clock, agenda_approval.approve, actor=coordinator, meeting_id=r.meeting_id)
    _at_meeting(clock, r)
    oogo = region.body_of_kind("oogo")
    rep = next(m.person for m in region.mandates if m.party == "ede" and m.body == oogo.id)
    _call(pg, clock, attendance.record_attendance, actor=coordinator, meeting_id=r.meeting_id,
          person=rep, status="present")  # fmt: skip
    _call(pg, clock, decisions.decide, actor=coordinator, proposal_id=r.proposal_id,
          outcome="adopted", text="Vastgesteld.")  # fmt: skip
    done = _call(
        pg, clock, decisions.confirm, actor=oogo.chair, proposal_id=r.proposal_id, version=1
    )
    assert done.state == "decided"
    with pg.transaction(write=False) as session:
        shown = queries.show_proposal(session=session, proposal_id=r.proposal_id)
        report = audit.verify(session)
    assert shown["decisions"][0]["confirmed_by"] == oogo.chair
    assert shown["meeting_starts_at"].startswith(r.as_dict()["meeting_starts_at"][:16])
    assert report.ok and report.events >= 7
    assert check_database(db=pg).ok


def test_audit_events_are_append_only_on_postgres(pg: Database, region: Region) -> None:
    init_database(db=pg, clock=FixedClock(START), region=region, workflows=builtin_workflows())
    with pg.engine.connect() as conn:
        for sql in ("UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(Exception, match="append-only"):
                conn.exec_driver_sql(sql)
            conn.rollback()


def test_concurrent_advances_one_wins_on_postgres(pg: Database, region: Region) -> None:
    clock = FixedClock(START)
    init_database(db=pg, clock=clock, region=region, workflows=builtin_workflows())
    r = _call(pg, clock, moves.submit, actor=region.coordinator, title="Twee schrijvers",
              purpose="adoption", table="tafel-model", parties=["ede"])  # fmt: skip
    _at_meeting(clock, r)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def writer() -> None:
        barrier.wait()
        try:
            _call(pg, clock, moves.advance, actor=region.coordinator, proposal_id=r.proposal_id)
            outcomes.append("advanced")
        except (ConcurrentChange, InvalidMove) as exc:
            outcomes.append(type(exc).__name__)
        except Exception as exc:  # the chain's primary key refuses a forked event
            outcomes.append(f"other: {type(exc).__name__}")

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("advanced") == 1, outcomes
    with pg.transaction(write=False) as session:
        events = [e["action"] for e in queries.timeline(session=session, proposal_id=r.proposal_id)]
        assert events.count("advanced") == 1
        assert audit.verify(session).ok


def test_parallel_writers_on_different_proposals_keep_one_chain(
    pg: Database, region: Region
) -> None:
    """Several writers append to the chain at once: no fork, no error, chain intact."""
    clock = FixedClock(START)
    init_database(db=pg, clock=clock, region=region, workflows=builtin_workflows())
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        barrier.wait()
        try:
            for i in range(5):
                _call(pg, clock, moves.submit, actor=region.coordinator, title=f"W{n}-{i}",
                      purpose="information", table="tafel-model", parties=["ede"])  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with pg.transaction(write=False) as session:
        report = audit.verify(session)
        assert report.ok
        assert len(queries.list_proposals(session=session)) == 20
