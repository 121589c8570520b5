"""The sweep: fire every due item of every rule once.

Each firing is its own write transaction: the ``firing`` row (unique on rule, item,
person, due date) is inserted first, then the rule records its audit event and notices,
then the transaction commits. A firing that is there already (this process or another one
fired it, also at the same moment) makes the insert do nothing, and the item is skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from regie.clock import Clock, to_utc_naive
from regie.engine.changes import Change
from regie.engine.facts import Actor, region_facts
from regie.engine.storage import AnySession, Database, Tx, as_datetime
from regie.scheduler.rules import Due, Rule, all_rules
from regie.scheduler.settings import scheduler_settings

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger("regie.scheduler")

SCHEDULER_ACTOR = "scheduler"  # the audit events' actor: no person acted

_INSERT_FIRING = (
    "INSERT INTO firing (rule, item, person, due_at, fired_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (rule, item, person, due_at) DO NOTHING"
)


class SchedulerChange(Change):
    """A :class:`Change` made by the scheduler: its events name no person as the actor
    (so nobody is left out of the notices as "the one who acted")."""

    def __init__(self, session: AnySession, clock: Clock) -> None:
        super().__init__(session, clock, SCHEDULER_ACTOR)

    def _actor(self, actor_id: str | None) -> Actor:
        return Actor(SCHEDULER_ACTOR, "regie", "", self.facts.language)

    def _acting_for(self, acting_for: str | None) -> str | None:
        return acting_for  # no party: the scheduler speaks for nobody


SWEEP_SECONDS = 60  # the sweep runs at start and this often (regie scheduler, serve)


@dataclass
class SweepReport:
    at: datetime  # naive UTC
    fired: list[Due] = field(default_factory=list)
    skipped: int = 0  # fired before (by this or another process), or no longer due

    @property
    def count(self) -> int:
        return len(self.fired)


def due_items(
    db: Database, now: datetime, horizon: datetime, *, unfired: bool = False
) -> list[tuple[Rule, Due]]:
    """Every rule's items due up to ``horizon`` (naive UTC), oldest first; ``unfired``:
    only those that have not fired yet."""
    found: list[tuple[Rule, Due]] = []
    with db.transaction(write=False) as session:
        tx = Tx(session)
        facts = region_facts(tx)
        settings = scheduler_settings(facts)
        for rule in all_rules().values():
            if not settings.enabled(rule.name):
                continue
            off = {b for b, rules in settings.body_off.items() if rule.name in rules}
            items = rule.due(tx, facts, now, horizon)
            found += [(rule, d) for d in items if d.body not in off] if off else [
                (rule, d) for d in items
            ]  # fmt: skip
        if unfired and found:
            fired = _fired_since(tx, min(d.due_at for _r, d in found))
            found = [(r, d) for r, d in found if _key(d) not in fired]
    found.sort(key=lambda pair: (pair[1].due_at, pair[1].rule, pair[1].item))
    return found


def _key(due: Due) -> tuple[str, str, str, datetime]:
    return (due.rule, due.item, due.person or "", due.due_at)


def _fired_since(tx: Tx, since: datetime) -> set[tuple[str, str, str, datetime]]:
    rows = tx.all("SELECT rule, item, person, due_at FROM firing WHERE due_at >= ?", (since,))
    return {(r[0], r[1], r[2], as_datetime(r[3]) or since) for r in rows}


def sweep(db: Database, clock: Clock, rules: Mapping[str, Rule] | None = None) -> SweepReport:
    """Fire everything due by now that has not fired yet; each in its own transaction."""
    now = to_utc_naive(clock.now())
    report = SweepReport(at=now)
    wanted = set(rules) if rules is not None else None
    for rule, due in due_items(db, now, now, unfired=True):
        if due.due_at > now or (wanted is not None and rule.name not in wanted):
            continue
        if _fire_once(db, clock, rule, due):
            report.fired.append(due)
        else:
            report.skipped += 1
    if report.fired:
        log.info("scheduler: %d fired, %d skipped", len(report.fired), report.skipped)
    return report


def _fire_once(db: Database, clock: Clock, rule: Rule, due: Due) -> bool:
    """Fire ``due`` unless it fired before; True when this call fired it."""
    with db.transaction() as session:
        ch = SchedulerChange(session, clock)
        tx = ch.tx
        key = _key(due)
        tx.execute(_INSERT_FIRING, (*key, ch.now))
        if tx.rowcount != 1:
            return False  # fired already: the transaction is rolled back on close
        still_due = getattr(rule, "still_due", None)
        if still_due is not None and not still_due(tx, due):
            return False
        rule.fire(ch, due)
        if ch.events:
            tx.execute(
                "UPDATE firing SET event_id = ? "
                "WHERE rule = ? AND item = ? AND person = ? AND due_at = ?",
                (ch.events[0].id, *key),
            )
        ch.commit()
    return True
