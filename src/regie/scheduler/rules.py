"""What a scheduler rule is, the registry of rules, and the region's reminder time.

A rule derives its due items from the database (:meth:`Rule.due`) and fires one
(:meth:`Rule.fire`) by recording audit events, and so their notices, through the
:class:`~regie.engine.changes.Change` the sweep opened. The sweep
(:mod:`regie.scheduler.sweep`) makes each firing happen once.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from regie.clock import AMSTERDAM, to_utc_naive

if TYPE_CHECKING:
    from regie.engine.calendar import WorkCalendar
    from regie.engine.changes import Change
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import Tx

REMINDER_HOUR = 9  # local time (Europe/Amsterdam) at which reminders go out


@dataclass(slots=True)  # built for every due item of every sweep: plain slots, no freezing
class Due:
    """One thing due: ``rule`` fires for ``item`` (and ``person``) at ``due_at`` (naive
    UTC). (rule, item, person, due_at) is the key that makes a firing happen once."""

    rule: str
    item: str
    person: str | None
    due_at: datetime  # naive UTC
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    body: str | None = field(default=None, compare=False)  # its meeting's body, if any


class Rule(Protocol):
    name: str

    def due(self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime) -> Iterable[Due]:
        """Everything due up to ``horizon`` (naive UTC), overdue items included."""
        ...

    def fire(self, ch: Change, due: Due) -> None:
        """Record the audit event(s), and so the notices, of ``due`` through ``ch``."""
        ...


# A rule may also have ``still_due(tx, due) -> bool``: the sweep asks it inside the write
# transaction, so an item handled since the due items were read is not fired.

RULES: dict[str, Rule] = {}

# The modules whose import registers their rules (see :func:`register`).
RULE_MODULES = (
    "regie.scheduler.confirmation",
    "regie.scheduler.documents",
    "regie.scheduler.mandate_expiry",
    "regie.scheduler.feasibility",
    "regie.scheduler.coverage",
    "regie.scheduler.absence",
    "regie.scheduler.agenda",
    "regie.scheduler.after_meeting",
    "regie.scheduler.digest",
)


def register(rule: Rule) -> Rule:
    RULES[rule.name] = rule
    return rule


def all_rules() -> dict[str, Rule]:
    """The registry, with every rule module that exists imported."""
    for module in RULE_MODULES:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    return RULES


def reminder_time(calendar: WorkCalendar, day: date, hour: int = REMINDER_HOUR) -> datetime:
    """``hour`` o'clock local time on ``day``, or on the first working day after it when
    ``day`` is closed, as naive UTC (daylight saving time included)."""
    return _reminder_time(calendar, day, hour)


@lru_cache(maxsize=8192)  # a sweep asks for the same few days for every item
def _reminder_time(calendar: WorkCalendar, day: date, hour: int) -> datetime:
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return to_utc_naive(datetime.combine(day, time(hour), tzinfo=AMSTERDAM))
