"""The scheduler's settings as ``regie init`` stored them (the ``scheduler`` region
setting, from the config's ``[scheduler]`` table, see :mod:`regie.region_scheduler`),
read once per region facts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from regie.region_scheduler import (
    DEFAULT_AGENDA_WORKING_DAYS,
    DEFAULT_DIGEST_HOUR,
    DEFAULT_REMINDER_HOUR,
)

if TYPE_CHECKING:
    from regie.engine.facts import RegionFacts


@dataclass(frozen=True)
class SchedulerSettings:
    reminder_hour: int = DEFAULT_REMINDER_HOUR
    digest_hour: int = DEFAULT_DIGEST_HOUR
    default_agenda_working_days: int = DEFAULT_AGENDA_WORKING_DAYS
    off: frozenset[str] = frozenset()  # rules off for the whole region
    body_off: dict[str, frozenset[str]] = field(default_factory=dict)
    body_agenda_days: dict[str, int] = field(default_factory=dict)

    def enabled(self, rule: str, body_id: str | None = None) -> bool:
        """Is ``rule`` on for the region and, given a body, for that body?"""
        if rule in self.off:
            return False
        return body_id is None or rule not in self.body_off.get(body_id, frozenset())

    def agenda_working_days(self, body_id: str | None) -> int:
        return self.body_agenda_days.get(body_id or "", self.default_agenda_working_days)

    @classmethod
    def from_setting(cls, value: str | None) -> SchedulerSettings:
        raw = json.loads(value) if value else {}
        bodies = raw.get("bodies", {})
        return cls(
            reminder_hour=int(raw.get("reminder_hour", DEFAULT_REMINDER_HOUR)),
            digest_hour=int(raw.get("digest_hour", DEFAULT_DIGEST_HOUR)),
            default_agenda_working_days=int(
                raw.get("agenda_working_days", DEFAULT_AGENDA_WORKING_DAYS)
            ),
            off=frozenset(raw.get("off", ())),
            body_off={b: frozenset(v.get("off", ())) for b, v in bodies.items()},
            body_agenda_days={
                b: int(v["agenda_working_days"])
                for b, v in bodies.items()
                if v.get("agenda_working_days") is not None
            },
        )


def scheduler_settings(facts: RegionFacts) -> SchedulerSettings:
    """The settings of the region ``facts`` describe (cached with them)."""
    cached = facts.cache.get("scheduler_settings")
    if isinstance(cached, SchedulerSettings):
        return cached
    settings = SchedulerSettings.from_setting(facts.settings.get("scheduler"))
    facts.cache["scheduler_settings"] = settings
    return settings
