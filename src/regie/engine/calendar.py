"""Working days and document deadlines (weekends and Dutch public holidays are closed).

The public holidays come from the ``holidays`` package. ``regie init`` stores those of the
years around it with the region's settings (:func:`stored_holidays`), so a daily command
does not import the package (~25 ms, issue 15); a year outside them is asked of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache

STORED_YEARS_BEFORE, STORED_YEARS_AFTER = 2, 12  # around the year of `regie init`


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """The Dutch public holidays of ``year``, from the ``holidays`` package."""
    import holidays  # only for a year regie init did not store

    return frozenset(holidays.country_holidays("NL", years=year).keys())


def stored_holidays(this_year: int) -> dict[str, list[str]]:
    """The public holidays of the years around ``this_year``, as ``regie init`` stores them
    (year -> ISO dates)."""
    years = range(this_year - STORED_YEARS_BEFORE, this_year + STORED_YEARS_AFTER + 1)
    return {str(y): sorted(d.isoformat() for d in public_holidays(y)) for y in years}


class WorkCalendar:
    """Closed days: weekends, NL public holidays, plus the region's extra closed days,
    minus the days the region declares open (e.g. Good Friday)."""

    def __init__(
        self,
        extra_closed: frozenset[date] = frozenset(),
        open_days: frozenset[date] = frozenset(),
        known_holidays: Mapping[int, frozenset[date]] | None = None,
    ) -> None:
        self.extra_closed = extra_closed
        self.open_days = open_days
        self._holidays = dict(known_holidays or {})  # year -> public holidays (stored at init)
        self._deadlines: dict[tuple[date, int], date] = {}
        self._steps: dict[tuple[date, int, int], date] = {}  # (day, n, direction) -> day

    @classmethod
    def from_setting(cls, setting: Mapping[str, object]) -> WorkCalendar:
        """The calendar of the region's ``calendar`` setting (see engine/setup.py)."""
        stored = setting.get("public_holidays", {})
        assert isinstance(stored, dict)
        return cls(
            frozenset(date.fromisoformat(d) for d in _strings(setting.get("extra_closed_days"))),
            frozenset(date.fromisoformat(d) for d in _strings(setting.get("open_days"))),
            {int(y): frozenset(date.fromisoformat(d) for d in ds) for y, ds in stored.items()},
        )

    def holidays_of(self, year: int) -> frozenset[date]:
        found = self._holidays.get(year)
        if found is None:
            found = self._holidays[year] = public_holidays(year)
        return found

    def is_working_day(self, day: date) -> bool:
        if day in self.open_days:
            return day.weekday() < 5
        if day.weekday() >= 5 or day in self.extra_closed:
            return False
        return day not in self.holidays_of(day.year)

    def deadline(self, meeting_day: date, working_days: int) -> date:
        """Last day documents may come in: ``working_days`` working days before the meeting."""
        key = (meeting_day, working_days)
        found = self._deadlines.get(key)
        if found is None:
            found = self._deadlines[key] = working_days_before(self, meeting_day, working_days)
        return found


def working_days_before(calendar: WorkCalendar, day: date, working_days: int) -> date:
    """The ``working_days``-th working day before ``day`` (``day`` itself for 0)."""
    return _step(calendar, day, working_days, -1)


def working_days_after(calendar: WorkCalendar, day: date, working_days: int) -> date:
    """The ``working_days``-th working day after ``day`` (``day`` itself for 0)."""
    return _step(calendar, day, working_days, 1)


_MAX_STEPS = 100_000  # remembered answers per calendar (a long-running scheduler asks daily)


def _step(calendar: WorkCalendar, day: date, working_days: int, direction: int) -> date:
    key = (day, working_days, direction)
    found = calendar._steps.get(key)
    if found is not None:
        return found
    left = working_days
    found = day
    while left > 0:
        found += timedelta(days=direction)
        if calendar.is_working_day(found):
            left -= 1
    if len(calendar._steps) >= _MAX_STEPS:
        calendar._steps.clear()
    calendar._steps[key] = found
    return found


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
