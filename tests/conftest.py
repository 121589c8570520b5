"""Shared fixtures: one initialised FoodValley database per test session, copied per test.

Real SQLite files in ``tmp_path``; the only fake is :class:`regie.clock.FixedClock`.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from regie.clock import AMSTERDAM, FixedClock, to_local
from regie.engine import moves, queries
from regie.engine.setup import init_database
from regie.engine.storage import Database
from regie.region import Region, load_region
from regie.workflows.definition import builtin_workflows

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "foodvalley.toml"
START = datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM)


@pytest.fixture(scope="session")
def region() -> Region:
    return load_region(CONFIG)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory, region: Region) -> Path:
    """An initialised database file, made once; tests work on copies of it."""
    path = tmp_path_factory.mktemp("template") / "r.db"
    db = Database(f"sqlite:///{path}")
    init_database(db=db, clock=FixedClock(START), region=region, workflows=builtin_workflows())
    db.dispose()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def copy_db(template: Path, target: Path) -> Path:
    """A copy of the database and of its audit key (``<db>.key``, kept outside the file)."""
    shutil.copyfile(template, target)
    key = template.with_name(template.name + ".key")
    if key.exists():
        shutil.copy2(key, target.with_name(target.name + ".key"))
    return target


class World:
    """A copied database, a movable clock and the region's people, for engine tests."""

    def __init__(self, path: Path, region: Region) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.db = Database(self.url)
        self.clock = FixedClock(START)
        self.region = region
        self.coordinator = region.coordinator

    # -- people, read from the region config ------------------------------------------
    def chair(self, kind_or_id: str) -> str:
        kinds = {"chairs", "ao", "oogo"}
        body = (
            self.region.body_of_kind(kind_or_id)  # type: ignore[arg-type]
            if kind_or_id in kinds
            else self.region.body(kind_or_id)
        )
        return body.chair

    def body_id(self, kind: str) -> str:
        return self.region.body_of_kind(kind).id  # type: ignore[arg-type]

    def mandated(self, party: str, body_id: str) -> str:
        """A person with a mandate for ``party`` in ``body_id`` who is not a registered
        substitute there (so tests can tell the two kinds of cover apart)."""
        subs = {s.person for s in self.region.substitutes if s.body == body_id}
        found = [
            m.person
            for m in self.region.mandates
            if m.party == party and m.body == body_id and m.person not in subs
        ]
        assert found, f"config has no mandated person for {party} in {body_id}"
        return found[0]

    def substitute(self, party: str, body_id: str) -> str:
        found = [
            s.person for s in self.region.substitutes if s.party == party and s.body == body_id
        ]
        assert found, f"config has no substitute for {party} in {body_id}"
        return found[0]

    # -- clock ------------------------------------------------------------------------
    def at(self, when: datetime) -> None:
        self.clock.set(when if when.tzinfo else when.replace(tzinfo=AMSTERDAM))

    def meeting_start(self, meeting_id: str) -> datetime:
        row = self.sql("SELECT starts_at FROM meeting WHERE id = ?", (meeting_id,))
        return to_local(datetime.fromisoformat(row[0][0]))

    def to_meeting_of(self, pid: str) -> str:
        """Move the clock to the start of the meeting the proposal is on — unless the clock
        is past it already: regie refuses events dated before the last one."""
        meeting = self.show(pid)["meeting"]
        self.clock.set(max(self.meeting_start(meeting), self.clock.now()))
        return str(meeting)

    # -- services ---------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        kwargs.setdefault("actor", self.coordinator)
        with self.db.session() as session:
            return fn(session=session, clock=self.clock, **kwargs)

    def read(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        with self.db.session(write=False) as session:
            return fn(session=session, **kwargs)

    def show(self, pid: str) -> dict[str, Any]:
        return dict(self.read(queries.show_proposal, proposal_id=pid))

    def submit(self, purpose: str = "adoption", **kwargs: Any) -> str:
        kwargs.setdefault("title", f"A {purpose} proposal")
        kwargs.setdefault("table", "tafel-model")
        kwargs.setdefault("parties", ["ede", "swv-vo"])
        if purpose == "advice":  # an advice names whom it is for
            kwargs.setdefault("addressee", "body:oogo")
        result = self.call(moves.submit, purpose=purpose, **kwargs)
        return str(result.proposal_id)

    def advance(self, pid: str, **kwargs: Any) -> Any:
        """Advance once the current meeting has started (the clock moves there)."""
        self.to_meeting_of(pid)
        return self.call(moves.advance, proposal_id=pid, **kwargs)

    def to_final(self, pid: str, *, approve: bool = True) -> str:
        """Advance along the route to the final stage; the routing body approves the top
        meeting's agenda (unless ``approve`` is False); the clock ends at that meeting."""
        while self.show(pid)["state"] != "oogo":
            self.advance(pid)
        if approve:
            self.approve(str(self.show(pid)["meeting"]))
        return self.to_meeting_of(pid)

    def to_final_together(self, *pids: str, approve: bool = True) -> str:
        """Advance several proposals to the final stage in time order (the one whose meeting
        comes first moves first), so that proposals submitted together meet together; then
        as :meth:`to_final` for the last one."""
        while waiting := [p for p in pids if self.show(p)["state"] != "oogo"]:
            self.advance(min(waiting, key=lambda p: self.meeting_start(self.show(p)["meeting"])))
        return self.to_final(pids[-1], approve=approve)

    def approve(self, meeting_id: str) -> Any:
        """The chairs' meeting approves a top meeting's agenda as it is now."""
        from regie.engine import agenda_approval

        return self.call(agenda_approval.approve, meeting_id=meeting_id)

    # -- raw reads ---------------------------------------------------------------------
    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.path)) as conn:
            return conn.execute(query, params).fetchall()

    def audit_count(self, action: str | None = None) -> int:
        if action is None:
            return int(self.sql("SELECT COUNT(*) FROM audit_event")[0][0])
        return int(self.sql("SELECT COUNT(*) FROM audit_event WHERE action = ?", (action,))[0][0])

    def snapshot(self, pid: str | None = None) -> dict[str, Any]:
        """Everything a refused change must leave alone."""
        where = " WHERE proposal_id = ?" if pid else ""
        params: tuple[Any, ...] = (pid,) if pid else ()
        return {
            "proposal": self.sql(
                "SELECT * FROM proposal" + (" WHERE id = ?" if pid else ""), params
            ),
            "audit": self.audit_count(),
            "decision": self.sql("SELECT * FROM decision" + where, params),
            "attendance": self.sql("SELECT * FROM attendance"),
            "counter": self.sql("SELECT * FROM counter"),
        }


@pytest.fixture
def world(template_db: Path, tmp_path: Path, region: Region) -> Iterator[World]:
    w = World(copy_db(template_db, tmp_path / "r.db"), region)
    yield w
    w.db.dispose()


@pytest.fixture
def db_file(template_db: Path, tmp_path: Path) -> Path:
    """A copy of the initialised database, for CLI tests."""
    return copy_db(template_db, tmp_path / "r.db")


# -- no test leaves a process behind -------------------------------------------------------


def _children() -> dict[int, str]:
    """This process's live children (Linux /proc; zombies, already ended, aside)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            if int(ppid) == os.getpid() and state != "Z":
                found[int(entry.name)] = (entry / "cmdline").read_text().replace("\0", " ")
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return found


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    """A test that starts a process (a mail sink, a writer, a worker) also ends it: one left
    running is killed and the test fails."""
    if not Path("/proc/self/stat").exists():
        yield
        return
    before = set(_children())
    yield
    left = {pid: cmd for pid, cmd in _children().items() if pid not in before}
    for pid in left:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if left:
        pytest.fail(f"the test left processes running (now killed): {left}")


# -- PostgreSQL (the local server, 127.0.0.1:5432, trust auth) -----------------------------

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextmanager
def _scratch_database(prefix: str) -> Iterator[str]:
    """A fresh database on the local server (its SQLAlchemy URL), dropped afterwards. An
    unreachable server skips the test outside CI; in CI (CI=true) it fails it, so no
    required check is skipped there."""
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 ({exc})")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_scratch() -> Callable[[str], AbstractContextManager[str]]:
    """``with pg_scratch("regie_test") as url:`` a fresh PostgreSQL database."""
    return _scratch_database
