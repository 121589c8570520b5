"""Working days and document deadlines (weekends and Dutch public holidays are closed)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("NL", years=year).keys())


class WorkCalendar:
    """Closed days: weekends, NL public holidays, plus the region's extra closed days,
    minus the days the region declares open (e.g. Good Friday)."""

    def __init__(
        self, extra_closed: frozenset[date] = frozenset(), open_days: frozenset[date] = frozenset()
    ) -> None:
        self.extra_closed = extra_closed
        self.open_days = open_days
        self._deadlines: dict[tuple[date, int], date] = {}

    def is_working_day(self, day: date) -> bool:
        if day in self.open_days:
            return day.weekday() < 5
        if day.weekday() >= 5 or day in self.extra_closed:
            return False
        return day not in _public_holidays(day.year)

    def deadline(self, meeting_day: date, working_days: int) -> date:
        """Last day documents may come in: ``working_days`` working days before the meeting."""
        key = (meeting_day, working_days)
        found = self._deadlines.get(key)
        if found is None:
            found = self._deadlines[key] = self._count_back(meeting_day, working_days)
        return found

    def _count_back(self, meeting_day: date, working_days: int) -> date:
        day = meeting_day
        left = working_days
        while left > 0:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day
