"""The write path reads a bounded amount (issue 15, goal 3): a decision at the top meeting
and an attendance cost the same number of SQL statements and about the same SQLite work
however long the audit trail or the agenda is. Counted, not timed: the statements with
sqlite3's trace callback, the work with its progress handler (one call per VM step), on a
real database file."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regie.engine import agenda_history, attendance, decisions
from regie.engine.storage import Database, Tx


@dataclass
class Count:
    statements: int = 0
    steps: int = 0


class CountedDatabase(Database):
    """The test's database file, on connections that count what they run while a
    :meth:`counting` block is open."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.count: Count | None = None

    def connect(self) -> sqlite3.Connection:
        conn = super().connect()
        conn.set_trace_callback(self._statement)
        conn.set_progress_handler(self._step, 1)
        return conn

    def _statement(self, _sql: str) -> None:
        if self.count is not None:
            self.count.statements += 1

    def _step(self) -> int:
        if self.count is not None:
            self.count.steps += 1
        return 0  # go on

    @contextmanager
    def counting(self) -> Iterator[Count]:
        self.count = Count()
        try:
            yield self.count
        finally:
            self.count = None


def call(world: Any, db: Database, fn: Any, **kwargs: Any) -> Any:
    with db.transaction() as session:
        return fn(session=session, clock=world.clock, actor=world.coordinator, **kwargs)


def attend(world: Any, db: Database, meeting: str, party: str) -> Any:
    person = world.mandated(party, world.body_id("oogo"))
    return call(
        world, db, attendance.record_attendance, meeting_id=meeting, person=person, status="present"
    )


def test_a_decision_reads_the_same_after_a_thousand_more_events(world: Any) -> None:
    first, second = world.submit(), world.submit()
    meeting = world.to_final_together(first, second)  # the chairs approved both
    counted = CountedDatabase(world.url)
    try:
        for _ in range(5):
            attend(world, world.db, meeting, "ede")
            attend(world, world.db, meeting, "swv-vo")
        with counted_read(counted) as (tx, _):  # the approval's agenda: read once a process
            assert agenda_history.approval_covers(tx, meeting, second)
            tx.all("SELECT rowid FROM search_fts LIMIT 1")  # FTS5 config: read once a connection
        with counted.counting() as few:
            call(world, counted, decisions.decide, proposal_id=first, outcome="adopted",
                 text="Vastgesteld.")  # fmt: skip
        for _ in range(1000):  # events on the same meeting, after its approval
            attend(world, world.db, meeting, "ede")
        with counted.counting() as many:
            call(world, counted, decisions.decide, proposal_id=second, outcome="adopted",
                 text="Vastgesteld.")  # fmt: skip
    finally:
        counted.dispose()
    assert world.audit_count("decided") == 2
    assert few.statements == many.statements
    assert abs(many.steps - few.steps) < 100, (few, many)


def _approval_lookup_steps(db: CountedDatabase, meeting: str, pid: str) -> int:
    with counted_read(db) as (tx, count):
        assert agenda_history.approval_covers(tx, meeting, pid)
    return count.steps


@contextmanager
def counted_read(db: CountedDatabase) -> Iterator[tuple[Tx, Count]]:
    with db.transaction(write=False) as session, db.counting() as count:
        yield Tx(session), count


def test_the_step_count_sees_a_scan_of_the_trail(world: Any) -> None:
    """The probe above has teeth: without the index of migration 0008 the same approval
    lookup walks the thousand events since the approval."""
    pid = world.submit()
    meeting = world.to_final(pid)
    for _ in range(1000):
        attend(world, world.db, meeting, "ede")
    counted = CountedDatabase(world.url)
    try:
        indexed = _approval_lookup_steps(counted, meeting, pid)
        counted.dispose()
        with closing(sqlite3.connect(world.path)) as conn:
            conn.execute("DROP INDEX ix_audit_event_meeting_action")
        scanned = _approval_lookup_steps(counted, meeting, pid)
    finally:
        counted.dispose()
    assert indexed < 200
    assert scanned > 1000 + indexed


def _copy(world: Any, name: str) -> Any:
    """A second world on a copy of this one's (untouched) database and its audit key."""
    target = world.path.with_name(name)
    shutil.copyfile(world.path, target)
    shutil.copy2(world.path.with_name(world.path.name + ".key"), Path(f"{target}.key"))
    return type(world)(target, world.region)


def _attendance_statements(world: Any, proposals: int) -> int:
    pids = [world.submit() for _ in range(proposals)]
    meeting = world.to_final_together(*pids)
    assert {world.show(pid)["meeting"] for pid in pids} == {meeting}
    counted = CountedDatabase(world.url)
    try:
        with counted.counting() as count:
            result = attend(world, counted, meeting, "ede")
    finally:
        counted.dispose()
    assert result.warning is None  # the person has a mandate for a party the items concern
    return count.statements


def test_an_attendance_reads_the_same_for_a_longer_agenda(world: Any) -> None:
    """The parties of all items on the meeting come in one query, not one per item."""
    longer = _copy(world, "longer.db")
    try:
        short = _attendance_statements(world, 1)
        long = _attendance_statements(longer, 30)
    finally:
        longer.db.dispose()
    assert short == long
