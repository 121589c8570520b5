"""Fifty simultaneous POSTs of the same confirmation, over HTTP against real uvicorn
servers: exactly one state change and one ``confirmed`` event; every other answer is a
clean page. On SQLite (one server) and on PostgreSQL (two app instances, one database)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from confirmtest import csrf_of, decided, key_of, link_row, served

from regie.clock import AMSTERDAM, FixedClock
from regie.engine import agenda_approval, attendance, decisions, keys, moves
from regie.engine.setup import init_database
from regie.engine.storage import Database
from regie.region import Region
from regie.web import csrf, links
from regie.workflows.definition import builtin_workflows

POSTS = 50


def storm(bases: list[str], path: str) -> tuple[list[httpx.Response], float]:
    """GET the page once (cookie, form token), then POSTS threads post the same form at
    once, spread over the servers; their responses and the seconds it took."""
    with httpx.Client(base_url=bases[0]) as first:
        shown = first.get(path)
        assert shown.status_code == 200, shown.text
        cookie, token = first.cookies[csrf.COOKIE], csrf_of(shown.text)
    barrier = threading.Barrier(POSTS)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        with httpx.Client(base_url=bases[n % len(bases)], timeout=60,
                          cookies={csrf.COOKIE: cookie}) as client:  # fmt: skip
            barrier.wait()
            got = client.post(path, data={csrf.FIELD: token, "action": "confirm"})
        with lock:
            responses.append(got)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(POSTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return responses, time.perf_counter() - started


def check_one_effect(responses: list[httpx.Response]) -> None:
    assert len(responses) == POSTS
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (POSTS - 1), codes
    for r in responses:
        assert r.headers["content-type"].startswith("text/html")
        assert "Traceback" not in r.text and "Besluit bevestigd" in r.text
    assert sum("Dank u." in r.text for r in responses) == 1


def test_fifty_concurrent_confirmations_on_sqlite(world: Any) -> None:
    pid = decided(world)
    path = f"/l/{links.token_for(key_of(world), link_row(world, pid))}"
    with served(world.db, world.clock, key_of(world)) as base:
        responses, seconds = storm([base], path)
    check_one_effect(responses)
    print(f"\n{POSTS} concurrent POSTs on SQLite: {seconds:.2f} s")
    assert world.audit_count("confirmed") == 1
    assert world.show(pid)["state"] == "decided"
    assert world.sql("SELECT outcome FROM link_use") == [("confirmed",)]


# -- PostgreSQL: two app instances, one database ------------------------------------------


@pytest.fixture()
def pg_decided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_scratch: Any, region: Region
) -> Iterator[tuple[str, FixedClock, str, keys.Key]]:
    """A PostgreSQL database with a decision awaiting the OOGO chair's confirmation."""
    monkeypatch.setenv("REGIE_KEY_FILE", str(tmp_path / "regie.key"))
    monkeypatch.delenv("REGIE_SECRET", raising=False)
    clock = FixedClock(datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM))
    with pg_scratch("regie_web") as url:
        db = Database(url)
        try:
            init_database(db=db, clock=clock, region=region, workflows=builtin_workflows())
            pid = _to_decision(db, clock, region)
            key = keys.load_key("", False)
            assert key is not None
            with db.transaction(write=False) as session:
                from regie.engine.storage import Tx

                row = Tx(session).scalar(
                    "SELECT id FROM outbox WHERE proposal_id = ? AND kind = 'decision_recorded'",
                    (pid,),
                )
        finally:
            db.dispose()
        yield url, clock, f"/l/{links.token_for(key, int(row))}", key


def _to_decision(db: Database, clock: FixedClock, region: Region) -> str:
    def call(fn: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("actor", region.coordinator)
        with db.transaction() as session:
            return fn(session=session, clock=clock, **kwargs)

    def at(result: Any) -> None:
        starts = result.as_dict()["meeting_starts_at"]
        clock.set(datetime.fromisoformat(starts) + timedelta(minutes=30))

    r = call(moves.submit, title="Twee servers", purpose="adoption", table="tafel-model",
             parties=["ede"])  # fmt: skip
    for _ in range(3):
        at(r)
        r = call(moves.advance, proposal_id=r.proposal_id)
    call(agenda_approval.approve, meeting_id=r.meeting_id)
    at(r)
    oogo = region.body_of_kind("oogo")
    rep = next(m.person for m in region.mandates if m.party == "ede" and m.body == oogo.id)
    call(attendance.record_attendance, meeting_id=r.meeting_id, person=rep, status="present")
    call(decisions.decide, proposal_id=r.proposal_id, outcome="adopted", text="Ja.")
    return str(r.proposal_id)


@pytest.mark.postgres
def test_fifty_concurrent_confirmations_on_two_servers_one_postgres(
    pg_decided: tuple[str, FixedClock, str, keys.Key],
) -> None:
    url, clock, path, key = pg_decided
    with ExitStack() as stack:
        dbs = [Database(url), Database(url)]  # two app instances: their own pools
        for db in dbs:
            stack.callback(db.dispose)
        bases = [stack.enter_context(served(db, clock, key)) for db in dbs]
        responses, seconds = storm(bases, path)
        with dbs[0].transaction(write=False) as session:
            from regie.engine.storage import Tx

            tx = Tx(session)
            confirmed = tx.scalar("SELECT COUNT(*) FROM audit_event WHERE action = 'confirmed'")
            used = tx.all("SELECT outcome FROM link_use")
            state = tx.scalar("SELECT state FROM proposal")
    check_one_effect(responses)
    print(f"\n{POSTS} concurrent POSTs on two servers, one PostgreSQL: {seconds:.2f} s")
    assert (confirmed, used, state) == (1, [("confirmed",)], "decided")
