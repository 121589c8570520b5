"""Rule 9 of issue 18, digests: every day (weekends too) at the digest hour (08:00 local)
the notices held for people with ``digest = true`` are bundled, once per day, in the
firing's transaction; after downtime one run, not one per missed day. Real SQLite (the
``world`` fixture), the sweep, a fixed clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.engine.storage import Tx
from regie.notifications import outbox
from regie.notifications.types import Notice
from regie.scheduler import digest as rule
from regie.scheduler.rules import all_rules
from regie.scheduler.sweep import sweep


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def swept(world: Any, when: datetime) -> list[str]:
    world.at(when)
    return [d.item for d in sweep(world.db, world.clock, {rule.NAME: rule.RULE}).fired]


def held(world: Any, when: datetime) -> str:
    """One notice for the first person with ``digest = true``, held for the digest."""
    world.at(when)
    fan = next(p for p in world.region.people if p.digest)
    context = {"title": "Iets", "region": "FoodValley", "recipient_name": fan.name}
    notice = Notice("returned", fan.id, fan.email, fan.language, "P-2026-001", None, context)
    with world.db.transaction() as session:
        tx = Tx(session)
        event_id = int(tx.scalar("SELECT MIN(id) FROM audit_event"))
        outbox.insert_notices(tx, event_id, to_utc_naive(world.clock.now()), [notice])
        session.commit()
    return str(fan.id)


def digests(world: Any, person: str) -> list[str]:
    """The local day each of the person's digests was made."""
    found = world.sql(
        "SELECT created_at FROM outbox WHERE kind = 'digest' AND person_id = ? ORDER BY id",
        (person,),
    )
    return [to_local(datetime.fromisoformat(r[0])).date().isoformat() for r in found]


def test_registered_and_due_at_the_digest_hour_also_on_weekends(world: Any) -> None:
    assert all_rules()[rule.NAME] is rule.RULE
    assert to_local(rule.digest_time(local(2026, 11, 28).date(), 8)) == local(2026, 11, 28, 8)
    # summer time: 08:00 local is 06:00 UTC
    assert rule.digest_time(local(2027, 4, 27).date(), 8) == datetime(2027, 4, 27, 6)


def test_digests_at_the_hour_once_a_day(world: Any) -> None:
    fan = held(world, local(2026, 11, 23, 10, 30))
    assert swept(world, local(2026, 11, 23, 10, 31)) == ["digest:2026-11-23"]  # today's
    assert digests(world, fan) == []  # only notices from before today are bundled
    assert swept(world, local(2026, 11, 24, 7, 59)) == []
    assert swept(world, local(2026, 11, 24, 8)) == ["digest:2026-11-24"]
    assert swept(world, local(2026, 11, 24, 8, 1)) == []
    assert swept(world, local(2026, 11, 24, 23, 59)) == []
    assert digests(world, fan) == ["2026-11-24"]
    (status,) = world.sql(
        "SELECT status FROM outbox WHERE person_id = ? AND kind = 'returned'", (fan,)
    )
    assert status == ("digested",)
    # the firing and the bundling are one transaction: the firing row is there
    assert world.sql("SELECT item FROM firing WHERE rule = 'digest' ORDER BY due_at") == [
        ("digest:2026-11-23",), ("digest:2026-11-24",)
    ]  # fmt: skip
    held(world, local(2026, 11, 27, 20))  # Friday evening: in Saturday's digest
    assert swept(world, local(2026, 11, 28, 8)) == ["digest:2026-11-28"]
    assert digests(world, fan) == ["2026-11-24", "2026-11-28"]


def test_after_downtime_one_run_not_one_per_missed_day(world: Any) -> None:
    assert swept(world, local(2026, 11, 23, 10, 31)) == ["digest:2026-11-23"]
    fan = held(world, local(2026, 11, 28, 12))
    held(world, local(2026, 11, 30, 12))
    # down from Saturday until Wednesday 07:00: yesterday's run only, then today's at 08:00
    assert swept(world, local(2026, 12, 2, 7)) == ["digest:2026-12-01"]
    assert digests(world, fan) == ["2026-12-02"]  # one digest with both notices
    assert world.sql(
        "SELECT COUNT(*) FROM outbox WHERE person_id = ? AND status = 'digested'", (fan,)
    ) == [(2,)]
    assert swept(world, local(2026, 12, 2, 8)) == ["digest:2026-12-02"]
    assert digests(world, fan) == ["2026-12-02"]  # nothing new to bundle
