"""Clocks: every service takes one, so tests and the demo can move time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (tests, the demo, replay)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def to_local(at: datetime) -> datetime:
    """A stored UTC time (naive from SQLite, or aware) in Europe/Amsterdam."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(AMSTERDAM)


def to_utc_naive(at: datetime) -> datetime:
    """What we store: naive UTC (SQLite returns naive datetimes anyway)."""
    if at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)
