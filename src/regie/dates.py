"""Dates and times as people read them, in Dutch or English (Babel), in the region's time
zone: ``donderdag 21 januari 2027, 9.30 uur`` / ``Thursday 21 January 2027, 09:30``.

Used by the mails and the CLI alike. ``part`` picks the form: 0 day and time, 1 the day,
2 the time, 3 the date without weekday, 4 the bare clock (``9.30`` / ``09:30``). Dutch
hours have no leading zero (``9.30 uur``), as Dutch style guides write them.
:func:`format_span` gives a meeting's time as a range: ``donderdag 21 januari 2027, van
19.30 tot 21.30 uur`` / ``Thursday 21 January 2027, 19:30–21:30``.

A date without a time (``2027-01-05``, a deadline) is that day in the region.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache

from regie.clock import AMSTERDAM

WHEN, DAY, TIME, DATE, CLOCK = 0, 1, 2, 3, 4
_PATTERNS = {
    "nl": ("EEEE d MMMM y, H.mm 'uur'", "EEEE d MMMM y", "H.mm 'uur'", "d MMMM y", "H.mm"),
    "en": ("EEEE d MMMM y, HH:mm", "EEEE d MMMM y", "HH:mm", "d MMMM y", "HH:mm"),
}
_LOCALES = {"nl": "nl_NL", "en": "en_GB"}


def _as_local(value: object) -> datetime:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(12), tzinfo=AMSTERDAM)
    if isinstance(value, str) and len(value) == 10:  # an ISO date: that day, here
        return datetime.combine(date.fromisoformat(value), time(12), tzinfo=AMSTERDAM)
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(AMSTERDAM)


def format_when(value: object, lang: str, part: int = WHEN) -> str:
    """A stored time (naive UTC, aware, or ISO text) in words; see the module docstring."""
    if isinstance(value, str | datetime):  # the same meeting times recur in many notices
        return _format_when(value, lang, part)
    return _format_when.__wrapped__(value, lang, part)


def format_span(starts: object, ends: object, lang: str) -> str:
    """A meeting's day and time range; see the module docstring."""
    day = format_when(starts, lang, DAY)
    if not ends:
        return format_when(starts, lang, WHEN)
    start, end = format_when(starts, lang, CLOCK), format_when(ends, lang, CLOCK)
    if lang == "en":
        return f"{day}, {start}–{end}"
    return f"{day}, van {start} tot {end} uur"


@lru_cache(maxsize=1024)
def _format_when(value: object, lang: str, part: int) -> str:
    from babel.dates import format_datetime as babel_datetime  # ~10 ms: only when used

    lang = lang if lang in _PATTERNS else "nl"
    return babel_datetime(
        _as_local(value), _PATTERNS[lang][part], tzinfo=AMSTERDAM, locale=_LOCALES[lang]
    )
