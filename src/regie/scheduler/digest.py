"""Rule 9 of issue 18, digests: every day at ``digest_hour`` (local time, default 08:00)
the notices of people who chose the daily digest are bundled into one mail each
(:func:`regie.notifications.outbox.bundle_digests`: everything held from before that day),
in the same transaction as the firing, so a day's digests are built once.

Daily, weekends and public holidays included: a digest is the person's own choice of
"once a day", not a working-day reminder (on a quiet day nobody has anything held, and
no mail goes out). One item per local day (``digest:YYYY-MM-DD``): after downtime there
is one run, not one per missed day — yesterday's item when today's hour has not come
yet, else today's; each run bundles everything held before its day anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.notifications.outbox import bundle_digests
from regie.scheduler.rules import Due, register
from regie.scheduler.settings import scheduler_settings

if TYPE_CHECKING:
    from regie.engine.changes import Change
    from regie.engine.facts import RegionFacts
    from regie.engine.storage import Tx

NAME = "digest"


def digest_time(day: date, hour: int) -> datetime:
    """``hour`` o'clock local time on ``day``, as naive UTC."""
    return to_utc_naive(datetime.combine(day, time(hour), tzinfo=AMSTERDAM))


class DigestRule:
    name = NAME

    def due(self, tx: Tx, facts: RegionFacts, now: datetime, horizon: datetime) -> Iterator[Due]:
        hour = scheduler_settings(facts).digest_hour
        day = to_local(now).date()
        if digest_time(day, hour) > now:
            day -= timedelta(days=1)  # today's has not come: yesterday's, if it was missed
        while (at := digest_time(day, hour)) <= horizon:
            yield Due(NAME, f"{NAME}:{day.isoformat()}", None, at, {"day": day.isoformat()})
            day += timedelta(days=1)

    def fire(self, ch: Change, due: Due) -> None:
        bundle_digests(ch.tx, now=ch.now)


RULE = register(DigestRule())
