"""Dates and times as people read them, in Dutch or English (Babel), in the region's time
zone: ``donderdag 21 januari 2027, 19.30 uur`` / ``Thursday 21 January 2027, 19:30``.

Used by the mails and the CLI alike. ``part`` picks the form: 0 day and time, 1 the day,
2 the time, 3 the date without weekday.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from regie.clock import AMSTERDAM

WHEN, DAY, TIME, DATE = 0, 1, 2, 3
_PATTERNS = {
    "nl": ("EEEE d MMMM y, HH.mm 'uur'", "EEEE d MMMM y", "HH.mm 'uur'", "d MMMM y"),
    "en": ("EEEE d MMMM y, HH:mm", "EEEE d MMMM y", "HH:mm", "d MMMM y"),
}
_LOCALES = {"nl": "nl_NL", "en": "en_GB"}


def _as_local(value: object) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(AMSTERDAM)


def format_when(value: object, lang: str, part: int = WHEN) -> str:
    """A stored time (naive UTC, aware, or ISO text) in words; see the module docstring."""
    if isinstance(value, str | datetime):  # the same meeting times recur in many notices
        return _format_when(value, lang, part)
    return _format_when.__wrapped__(value, lang, part)


@lru_cache(maxsize=1024)
def _format_when(value: object, lang: str, part: int) -> str:
    from babel.dates import format_datetime as babel_datetime  # ~10 ms: only when used

    lang = lang if lang in _PATTERNS else "nl"
    return babel_datetime(
        _as_local(value), _PATTERNS[lang][part], tzinfo=AMSTERDAM, locale=_LOCALES[lang]
    )
