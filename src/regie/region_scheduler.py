"""The ``[scheduler]`` table of the region config: when reminders and digests go out,
how early agendas are published, and which rules are switched off, for the whole region
or per body.

    [scheduler]
    reminder_hour = 9            # local hour of reminders, escalations and deferrals
    digest_hour = 8              # local hour of the daily digests
    agenda_working_days = 7      # agendas go out this many working days before a meeting
    off = ["absence"]            # rules switched off for the whole region

    [scheduler.bodies.ao]        # one body's own values
    off = ["documents"]
    agenda_working_days = 5

``regie init`` stores it as the ``scheduler`` region setting; :mod:`regie.scheduler.settings`
reads it. Light on purpose (pydantic only): the config loader imports it, not the rules.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# The scheduler's rules by name (issue 18, rules 1-9); tests/scheduler pin this to the
# registry in regie.scheduler.rules.
SCHEDULER_RULES = (
    "documents",
    "coverage",
    "absence",
    "mandate_expiry",
    "confirmation",
    "agenda",
    "after_meeting",
    "feasibility",
    "digest",
)
DEFAULT_REMINDER_HOUR = 9
DEFAULT_DIGEST_HOUR = 8
DEFAULT_AGENDA_WORKING_DAYS = 7
MAX_AGENDA_WORKING_DAYS = 30


def _check_hour(value: int) -> int:
    if not 6 <= value <= 20:
        raise ValueError(
            f"{value} is not an hour in the working day; give a local hour from 6 to 20, e.g. 9"
        )
    return value


def _check_agenda_days(value: int) -> int:
    if not 1 <= value <= MAX_AGENDA_WORKING_DAYS:
        raise ValueError(
            f"{value} is out of range; agendas go out 1 to {MAX_AGENDA_WORKING_DAYS} working "
            f"days before a meeting, e.g. {DEFAULT_AGENDA_WORKING_DAYS}"
        )
    return value


def _check_rules(value: list[str]) -> list[str]:
    unknown = [name for name in value if name not in SCHEDULER_RULES]
    if unknown:
        raise ValueError(
            f"{', '.join(repr(n) for n in unknown)} is not a scheduler rule; "
            f"choose from {', '.join(SCHEDULER_RULES)}"
        )
    return sorted(set(value), key=SCHEDULER_RULES.index)


Hour = Annotated[int, AfterValidator(_check_hour)]
AgendaDays = Annotated[int, AfterValidator(_check_agenda_days)]
RuleNames = Annotated[list[str], AfterValidator(_check_rules)]


class BodySchedule(BaseModel):
    """``[scheduler.bodies.<body id>]``: one body's own values."""

    model_config = ConfigDict(extra="forbid")

    off: RuleNames = Field(default_factory=list)
    agenda_working_days: AgendaDays | None = None


class SchedulerTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminder_hour: Hour = DEFAULT_REMINDER_HOUR
    digest_hour: Hour = DEFAULT_DIGEST_HOUR
    agenda_working_days: AgendaDays = DEFAULT_AGENDA_WORKING_DAYS
    off: RuleNames = Field(default_factory=list)
    bodies: dict[str, BodySchedule] = Field(default_factory=dict)

    def as_setting(self) -> dict[str, object]:
        """The ``scheduler`` region setting (read by :mod:`regie.scheduler.settings`)."""
        return self.model_dump(exclude_none=True)
