"""The durable outbox: notice rows written in the same transaction as their event.

Write path (hot, inside every change's transaction): :func:`enqueue_for_event` asks
:mod:`regie.notifications.recipients` who gets what and inserts all rows with ONE
multi-row INSERT through the lean :class:`~regie.engine.storage.Tx` cursor. People with
``digest = true`` get rows in status ``digest`` (see :mod:`regie.notifications.digest`).

Sender path (each call is its own short committed transaction; nothing is sent inside):

* :func:`claim` moves due rows ``queued → sending`` with compare-and-set and a lease, and
  fixes the row's Message-ID (``<regie-outbox-ID@DOMAIN>``) on the first claim, so every
  attempt carries the same one. A ``sending`` row whose lease expired (its sender stopped
  between sending and marking) is claimed again ONCE (``recovered``); if that stops too,
  :func:`claim` marks it failed, so a message is never delivered more than twice.
* :func:`finish` records what happened: sent, retry later (backoff), failed, or released.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from regie.clock import AMSTERDAM
from regie.engine.audit import Event
from regie.engine.storage import Database, Tx, as_datetime
from regie.notifications.types import Notice, OutboxRow

QUEUED, SENDING, SENT, FAILED, CANCELLED = "queued", "sending", "sent", "failed", "cancelled"
DIGEST, DIGESTED = "digest", "digested"
STATUSES = (QUEUED, SENDING, SENT, FAILED, CANCELLED, DIGEST, DIGESTED)

BACKOFF_BASE_S = 60.0
BACKOFF_CAP_S = 3600.0
_ROWS_PER_INSERT = 400
_INSERT_HEAD = (
    "INSERT INTO outbox (event_id, kind, person_id, email, language, proposal_id, meeting_id, "
    "context, status, attempts, recovered, next_attempt_at, created_at) VALUES "
)
_INSERT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)"
ROW_COLUMNS = (
    "id, event_id, kind, person_id, email, language, proposal_id, meeting_id, context, "
    "message_id, status, attempts, created_at"
)
STUCK_TWICE = (
    "the sender stopped twice while sending this message (after a crash it was sent once "
    "more); it may have been delivered: check with the recipient, then 'regie outbox retry'"
)


# -- write path -------------------------------------------------------------------------


def enqueue_for_event(tx: Tx, event: Event) -> int:
    """Queue the notices an event causes (same transaction); returns how many."""
    from regie.notifications import recipients

    notices = recipients.notices_for_event(tx, event)
    if not notices:
        return 0
    return insert_notices(tx, event.id, event.at, notices)


def insert_notices(tx: Tx, event_id: int, at: datetime, notices: Sequence[Notice]) -> int:
    """Insert one row per notice (``digest`` for people who chose the daily digest)."""
    digest_people = _digest_people(tx)
    for start in range(0, len(notices), _ROWS_PER_INSERT):
        chunk = notices[start : start + _ROWS_PER_INSERT]
        params: list[Any] = []
        for n in chunk:
            status = DIGEST if n.person_id in digest_people else QUEUED
            params += [event_id, n.kind, n.person_id, n.email, n.language, n.proposal_id,
                       n.meeting_id, _dumps(n.context), status, at, at]  # fmt: skip
        tx.execute(_INSERT_HEAD + ", ".join([_INSERT_ROW] * len(chunk)), params)
    return len(notices)


def _digest_people(tx: Tx) -> frozenset[str]:
    cached = tx.session.info.get("regie_digest_people")
    if isinstance(cached, frozenset):
        return cached
    people = frozenset(r[0] for r in tx.all("SELECT id FROM person WHERE digest = ?", (True,)))
    tx.session.info["regie_digest_people"] = people
    return people


def _dumps(context: dict[str, Any]) -> str:
    return json.dumps(context, ensure_ascii=False, sort_keys=True, default=str)


def row_from_tuple(r: Sequence[Any]) -> OutboxRow:
    created = as_datetime(r[12])
    assert created is not None
    return OutboxRow(
        id=int(r[0]), event_id=int(r[1]), kind=r[2], person_id=r[3], email=r[4],
        language=r[5], proposal_id=r[6], meeting_id=r[7], context=json.loads(r[8] or "{}"),
        message_id=r[9] or "", status=r[10], attempts=int(r[11]), created_at=created,
    )  # fmt: skip


# -- daily digest ----------------------------------------------------------------------


def build_digests(db: Database, *, now: datetime, tz: ZoneInfo = AMSTERDAM) -> int:
    """Bundle each person's ``digest`` rows from before today (local time) into one queued
    ``digest`` row; the bundled rows become ``digested``. One short committed transaction;
    running it again the same day finds nothing left. Returns how many digests it made."""
    aware = now if now.tzinfo else now.replace(tzinfo=UTC)
    local = aware.astimezone(tz)
    day_start = datetime.combine(local.date(), time(), tzinfo=tz)
    cutoff = day_start.astimezone(UTC).replace(tzinfo=None)  # stored times: naive UTC
    stamp = aware.astimezone(UTC).replace(tzinfo=None)
    made = 0
    with db.transaction() as session:
        tx = Tx(session)
        found = tx.all(
            "SELECT id, event_id, kind, person_id, email, language, proposal_id, meeting_id, "
            "context FROM outbox WHERE status = ? AND created_at < ? "
            "ORDER BY person_id, created_at, id",
            (DIGEST, cutoff),
        )
        by_person: dict[str, list[Sequence[Any]]] = {}
        for r in found:
            by_person.setdefault(r[3], []).append(r)
        for person_id, items in by_person.items():
            newest = max(items, key=lambda r: int(r[0]))
            last = json.loads(newest[8] or "{}")
            context = {
                "day": local.date().isoformat(),
                "region": last.get("region", ""),
                "recipient_name": last.get("recipient_name", newest[4]),
                "items": [
                    {"kind": r[2], "proposal_id": r[6], "meeting_id": r[7],
                     "context": json.loads(r[8] or "{}")}
                    for r in items
                ],
            }  # fmt: skip
            digest_id = tx.scalar(
                _INSERT_HEAD + _INSERT_ROW + " RETURNING id",
                (newest[1], "digest", person_id, newest[4], newest[5], None, None,
                 _dumps(context), QUEUED, stamp, stamp),
            )  # fmt: skip
            ids = [int(r[0]) for r in items]
            tx.execute(
                f"UPDATE outbox SET status = ?, digest_id = ? WHERE status = ? AND id IN "
                f"({', '.join('?' * len(ids))})",
                (DIGESTED, digest_id, DIGEST, *ids),
            )
            made += 1
        session.commit()
    return made


# -- sender path ------------------------------------------------------------------------

_CLAIMABLE = (
    "((status = 'queued' AND next_attempt_at <= ?) "
    "OR (status = 'sending' AND lease_until <= ? AND recovered = 0))"
)


def claim(
    db: Database, *, now: datetime, limit: int, lease: timedelta, domain: str
) -> list[OutboxRow]:
    """Claim up to ``limit`` due rows for sending (one short committed transaction)."""
    with db.transaction() as session:
        tx = Tx(session)
        tx.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?, lease_until = NULL "
            "WHERE status = 'sending' AND lease_until <= ? AND recovered >= 1",
            (STUCK_TWICE, now),
        )
        rows = tx.all(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = ?, "
            "recovered = recovered + CASE WHEN status = 'sending' THEN 1 ELSE 0 END, "
            "message_id = COALESCE(message_id, "
            "'<regie-outbox-' || CAST(id AS TEXT) || '@' || ? || '>') "
            f"WHERE id IN (SELECT id FROM outbox WHERE {_CLAIMABLE} "
            f"ORDER BY next_attempt_at, id LIMIT ?) AND {_CLAIMABLE} "
            f"RETURNING {ROW_COLUMNS}",
            (now + lease, domain, now, now, limit, now, now),
        )
        session.commit()
    return sorted((row_from_tuple(r) for r in rows), key=lambda r: r.id)


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row."""

    row_id: int
    status: str  # sent | retry | failed | release
    error: str | None = None
    next_attempt_at: datetime | None = None


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential backoff with jitter: 1, 2, 4 … 60 minutes, each 50–100 % of that."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling * (0.5 + rng.random() / 2))


def finish(db: Database, outcomes: Sequence[Outcome], *, now: datetime) -> None:
    """Record the outcomes of one batch (one short committed transaction)."""
    if not outcomes:
        return
    with db.transaction() as session:
        tx = Tx(session)
        for o in outcomes:
            _finish_one(tx, o, now)
        session.commit()


def _finish_one(tx: Tx, o: Outcome, now: datetime) -> None:
    if o.status == "sent":
        tx.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL, "
            "last_error = NULL WHERE id = ? AND status = 'sending'",
            (now, o.row_id),
        )
    elif o.status == "retry":
        tx.execute(
            "UPDATE outbox SET status = 'queued', next_attempt_at = ?, last_error = ?, "
            "lease_until = NULL WHERE id = ? AND status = 'sending'",
            (o.next_attempt_at or now, o.error, o.row_id),
        )
    elif o.status == "failed":
        tx.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?, lease_until = NULL "
            "WHERE id = ? AND status = 'sending'",
            (o.error, o.row_id),
        )
    else:  # release: claimed but not tried; give the attempt back
        tx.execute(
            "UPDATE outbox SET status = 'queued', attempts = attempts - 1, lease_until = NULL "
            "WHERE id = ? AND status = 'sending'",
            (o.row_id,),
        )


def due_count(db: Database, *, now: datetime) -> int:
    """How many rows a drain would try now."""
    with db.transaction(write=False) as session:
        return int(
            Tx(session).scalar(f"SELECT COUNT(*) FROM outbox WHERE {_CLAIMABLE}", (now, now)) or 0
        )
