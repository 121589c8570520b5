"""Warming up before a write: what a write service would otherwise import, read or
compute while it holds the write lock (issue 15), loaded in a read transaction first.

Its own module: it imports the services' modules, which import :mod:`changes`.
"""

from __future__ import annotations

from datetime import date

from regie.clock import Clock
from regie.engine import audit
from regie.engine.facts import region_facts
from regie.engine.storage import AnySession, Tx


def prepare(session: AnySession, clock: Clock) -> None:
    """Load, in a read transaction, what a write service would otherwise import, read or
    compute while it holds the write lock (issue 15): the region's facts and key, the
    modules the notices need, the workflows compiled, the public holidays around now.
    Everything lands in the per-process caches, so the write transaction that follows only
    reads rows, checks and writes. Nothing here fails a command: a problem (no region yet,
    an unknown workflow) is met again, and reported, inside the service."""
    from regie.dispute.stems import stemmed_text
    from regie.engine import agenda_approval, keys, repository  # noqa: F401
    from regie.notifications import recipients  # words, labels, Jinja  # noqa: F401
    from regie.notifications.words import context_words

    tx = Tx(session)
    audit.origin()
    stemmed_text("besluit")  # the Snowball stemmer, for the search index (issue 19)
    keys.session_key(session)
    if tx.scalar("SELECT value FROM region_setting WHERE key = 'coordinator'") is None:
        return
    facts = region_facts(tx)
    year = clock.now().year
    for y in (year - 1, year, year + 1):
        facts.calendar.is_working_day(date(y, 1, 1))  # loads the holidays library's tables
    for (digest,) in tx.all("SELECT digest FROM workflow_version"):
        repository.workflow_for(tx, digest)
        context_words(tx, digest=digest, payload={})
