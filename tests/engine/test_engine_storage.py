"""Concurrent writers, the audit chain and its triggers, migrations and `init` re-runs."""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from regie.clock import AMSTERDAM, FixedClock
from regie.engine import attendance, audit, decisions, moves, queries, storage
from regie.engine import repository as repo
from regie.engine.setup import init_database
from regie.engine.storage import Database, Tx
from regie.errors import ConcurrentChange, ConfigError, InvalidMove, StorageError
from regie.region import load_region
from regie.workflows.definition import builtin_workflows

CONFIG = Path(__file__).resolve().parents[2] / "config" / "foodvalley.toml"

# -- concurrent writers -------------------------------------------------------------------


def test_two_writers_advance_the_same_proposal_exactly_one_wins(world):
    pid = world.submit("adoption")
    world.to_meeting_of(pid)
    other = Database(world.url)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def run(db: Database) -> None:
        barrier.wait()
        try:
            with db.session() as session:
                outcomes.append(
                    moves.advance(
                        session=session, clock=world.clock, actor=world.coordinator, proposal_id=pid
                    )
                )
        except (ConcurrentChange, InvalidMove) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(db,)) for db in (world.db, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    other.dispose()
    wins = [o for o in outcomes if isinstance(o, moves.MoveResult)]
    losses = [o for o in outcomes if isinstance(o, ConcurrentChange | InvalidMove)]
    assert (len(wins), len(losses)) == (1, 1), outcomes
    assert world.audit_count("advanced") == 1
    p = world.show(pid)
    assert (p["state"], p["meeting"]) == ("chairs", "voorzitters-2026-12-17")
    assert world.sql("SELECT version FROM proposal WHERE id = ?", (pid,)) == [(2,)]
    assert len(p["agenda"]) == 2


def test_save_move_with_a_stale_version_raises_concurrent_change(world):
    pid = world.submit("adoption")
    with world.db.session(write=False) as session:
        stale = repo.load_proposal(Tx(session), pid)
    world.advance(pid)
    before = world.snapshot(pid)
    with world.db.session() as session, pytest.raises(ConcurrentChange) as exc:
        repo.save_move(
            Tx(session),
            stale,
            state="chairs",
            stage="chairs",
            meeting_id=stale.meeting_id,
            now=datetime(2026, 12, 8, 9),
        )
    assert pid in str(exc.value) and "nothing was written" in str(exc.value)
    assert world.snapshot(pid) == before


# -- audit chain ----------------------------------------------------------------------------


def _full_route(world):
    pid = world.submit("adoption", parties=["ede"])
    meeting = world.to_final(pid)
    world.call(
        attendance.record_attendance,
        meeting_id=meeting,
        person=world.mandated("ede", "oogo"),
        status="present",
    )
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Adopted.")
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    return pid


def _verify(world):
    with world.db.session(write=False) as session:
        return audit.verify(session)


def test_chain_verifies_after_a_full_route(world):
    pid = _full_route(world)
    report = _verify(world)
    assert report.ok and report.events == world.audit_count()
    actions = [e["action"] for e in world.read(queries.timeline, proposal_id=pid)]
    assert actions == ["submitted", "advanced", "advanced", "advanced", "decided", "confirmed"]
    hashes = world.sql("SELECT prev_hash, hash FROM audit_event ORDER BY id")
    assert hashes[0][0] == audit.GENESIS
    assert all(a[1] == b[0] for a, b in zip(hashes, hashes[1:], strict=False))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET payload = '{}' WHERE id = 1",
        "DELETE FROM audit_event WHERE id = 1",
    ],
)
def test_update_and_delete_refused_by_triggers(world, statement):
    with closing(sqlite3.connect(world.path)) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
        conn.rollback()
    assert _verify(world).ok


def _tamper(world, *statements):
    with closing(sqlite3.connect(world.path)) as conn:
        conn.execute("DROP TRIGGER audit_event_no_update")
        conn.execute("DROP TRIGGER audit_event_no_delete")
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()


def test_changed_payload_is_named_by_verify(world):
    _full_route(world)
    victim = world.sql("SELECT id, payload FROM audit_event WHERE action = 'decided'")[0]
    payload = json.loads(victim[1])
    payload["outcome"] = "rejected"
    _tamper(
        world,
        ("UPDATE audit_event SET payload = ? WHERE id = ?", (audit.canonical(payload), victim[0])),
    )
    report = _verify(world)
    assert (report.ok, report.bad_event) == (False, victim[0])
    assert "does not match its hash" in report.problem


def test_deleted_event_in_the_middle_is_detected(world):
    _full_route(world)
    ids = [r[0] for r in world.sql("SELECT id FROM audit_event ORDER BY id")]
    gone = ids[len(ids) // 2]
    _tamper(world, ("DELETE FROM audit_event WHERE id = ?", (gone,)))
    report = _verify(world)
    assert (report.ok, report.bad_event) == (False, ids[ids.index(gone) + 1])
    assert "link to the previous event is broken" in report.problem


def test_rehashed_event_still_breaks_the_next_link(world):
    """A forger who recomputes the changed event's hash breaks the following link; with
    the key, the MAC of the changed event itself no longer matches."""
    _full_route(world)
    rows = world.sql(
        "SELECT id, at, actor, acting_for, action, proposal_id, meeting_id, "
        "payload, prev_hash, os_user, host FROM audit_event ORDER BY id"
    )
    row = rows[2]
    payload = audit.canonical({**json.loads(row[7]), "to": "oogo"})
    forged = audit.event_hash(
        at=datetime.fromisoformat(row[1]),
        actor=row[2],
        acting_for=row[3],
        action=row[4],
        proposal_id=row[5],
        meeting_id=row[6],
        payload_text=payload,
        prev_hash=row[8],
        os_user=row[9],
        host=row[10],
    )
    _tamper(
        world,
        ("UPDATE audit_event SET payload = ?, hash = ? WHERE id = ?", (payload, forged, row[0])),
    )
    with world.db.session(write=False) as session:
        unkeyed = audit.verify(session, key=None)
    assert (unkeyed.ok, unkeyed.bad_event) == (False, rows[3][0])
    assert "link to the previous event is broken" in unkeyed.problem
    report = _verify(world)
    assert (report.ok, report.bad_event) == (False, row[0])
    assert "MAC does not match" in report.problem


# -- migrations and init ---------------------------------------------------------------------


def test_migrations_from_an_empty_database(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert storage.current_revision(db) is None
        with pytest.raises(StorageError, match="run 'regie init --config FILE' first"):
            storage.require_schema(db)
        storage.upgrade(db)
        storage.require_schema(db)
        assert storage.current_revision(db) == storage.head_revision()
    finally:
        db.dispose()
    with closing(sqlite3.connect(tmp_path / "empty.db")) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (storage.head_revision(),)
        ]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        triggers = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
    assert {"proposal", "audit_event", "meeting", "decision", "outbox"} <= tables
    assert triggers == {"audit_event_no_update", "audit_event_no_delete"}


def test_migrations_match_the_models_indexes_included(tmp_path):
    """Alembic's own comparison finds nothing between the migrated schema and the models
    (the list indexes of 0007 are declared on both sides)."""
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import regie.notifications.models  # noqa: F401  (the outbox table in the metadata)

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        storage.upgrade(db)
    finally:
        db.dispose()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with engine.connect() as conn:
            # the FTS5 table of 0016 and its shadow tables are made by the migration alone
            opts = {"include_name": lambda name, kind, _: not str(name).startswith("search_fts")}
            context = MigrationContext.configure(conn, opts=opts)
            diffs = compare_metadata(context, SQLModel.metadata)
            indexes = {r[1] for r in conn.exec_driver_sql("PRAGMA index_list(proposal)")}
    finally:
        engine.dispose()
    assert diffs == []
    assert {"ix_proposal_submitted", "ix_proposal_state_submitted"} <= indexes


def test_foreign_database_refused(tmp_path):
    path = tmp_path / "foreign.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE stuff (x)")
    db = Database(f"sqlite:///{path}")
    try:
        with pytest.raises(StorageError, match="not made by regie"):
            storage.upgrade(db)
    finally:
        db.dispose()


FUTURE_MOVED = (
    '{ date = 2027-02-04, time = 09:30:00, location = "Gemeentehuis Ede" }',
    '{ date = 2027-02-04, time = 13:00:00, location = "Gemeentehuis Ede" }',
)
FUTURE_REMOVED = '  { date = 2027-12-09, time = 19:30:00, location = "Stadhuis Veenendaal" },\n'
NAME = ('name = "Mirjam Verhoef"', 'name = "Mirjam Verhoef-Jansen"')


def _write_config(src, tmp_path, replacements):
    text = src.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "changed.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _reinit(world, path):
    return init_database(
        db=world.db, clock=world.clock, region=load_region(path), workflows=builtin_workflows()
    )


def _history(world):
    return {
        t: world.sql(f"SELECT * FROM {t}")
        for t in (
            "proposal",
            "proposal_party",
            "decision",
            "attendance",
            "audit_event",
        )
    }


def test_init_rerun_with_changed_config_updates_people_and_meetings(world, tmp_path):
    _full_route(world)
    world.submit("information")
    world.at(datetime(2027, 1, 29, 10, 0, tzinfo=AMSTERDAM))
    history = _history(world)
    old_seq = dict(world.sql("SELECT id, sequence FROM meeting"))
    path = _write_config(CONFIG, tmp_path, [NAME, FUTURE_MOVED, (FUTURE_REMOVED, "")])
    report = _reinit(world, path)
    assert (report.meetings_changed, report.meetings_cancelled, report.meetings_added) == (1, 1, 0)
    assert report.workflows_added == []
    assert world.sql("SELECT name FROM person WHERE id = 'coordinator'") == [
        ("Mirjam Verhoef-Jansen",)
    ]
    moved = world.sql(
        "SELECT starts_at, status, sequence FROM meeting WHERE id = ?", ("ao-2027-02-04",)
    )[0]
    assert moved[0].startswith("2027-02-04 12:00:00")  # 13:00 in Amsterdam, winter time
    assert (moved[1], moved[2]) == ("scheduled", old_seq["ao-2027-02-04"] + 1)
    removed = world.sql("SELECT status, sequence FROM meeting WHERE id = 'oogo-2027-12-09'")[0]
    assert removed == ("cancelled", old_seq["oogo-2027-12-09"] + 1)
    unchanged = dict(world.sql("SELECT id, sequence FROM meeting"))
    for mid in set(old_seq) - {"ao-2027-02-04", "oogo-2027-12-09"}:
        assert unchanged[mid] == old_seq[mid], mid
    after = _history(world)
    for table in ("proposal", "proposal_party", "decision", "attendance"):
        assert after[table] == history[table], table
    assert after["audit_event"][: len(history["audit_event"])] == history["audit_event"]
    assert [r[4] for r in after["audit_event"][len(history["audit_event"]) :]] == ["config_loaded"]
    assert _verify(world).ok
    # a cancelled meeting is no longer offered
    assert "oogo-2027-12-09" not in [
        r[0] for r in world.sql("SELECT id FROM meeting WHERE status = 'scheduled'")
    ]


def test_init_rerun_does_not_move_past_meetings(world, tmp_path):
    world.at(datetime(2027, 2, 5, 10, 0, tzinfo=AMSTERDAM))
    before = world.sql("SELECT * FROM meeting WHERE id = 'ao-2027-02-04'")
    _reinit(world, _write_config(CONFIG, tmp_path, [FUTURE_MOVED]))
    assert world.sql("SELECT * FROM meeting WHERE id = 'ao-2027-02-04'") == before


def test_removing_a_meeting_with_a_proposal_on_it_is_refused(world, tmp_path):
    pid = world.submit("adoption")
    assert world.show(pid)["meeting"] == "tafel-model-2026-12-08"
    line = '  { date = 2026-12-08, time = 09:30:00, location = "Online (Teams)" },\n'
    path = _write_config(CONFIG, tmp_path, [NAME, (line, "")])
    before = {
        t: world.sql(f"SELECT * FROM {t}")
        for t in ("meeting", "person", "proposal", "audit_event", "region_setting")
    }
    with pytest.raises(ConfigError) as exc:
        _reinit(world, path)
    assert "tafel-model-2026-12-08" in str(exc.value) and pid in str(exc.value)
    assert str(exc.value).startswith(str(path))
    after = {t: world.sql(f"SELECT * FROM {t}") for t in before}
    assert after == before


def test_init_on_a_fresh_file_then_again_is_idempotent(tmp_path, region):
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    clock = FixedClock(datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM))
    try:
        first = init_database(db=db, clock=clock, region=region, workflows=builtin_workflows())
        assert first.meetings_added > 0 and len(first.workflows_added) == 3
        again = init_database(db=db, clock=clock, region=region, workflows=builtin_workflows())
        assert (again.meetings_added, again.meetings_changed, again.meetings_cancelled) == (0, 0, 0)
        assert again.workflows_added == []
    finally:
        db.dispose()
