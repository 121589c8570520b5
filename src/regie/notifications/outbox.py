"""The durable outbox: notice rows written in the same transaction as their event.

Write path (hot, inside every change's transaction): :func:`enqueue_for_event` asks
:mod:`regie.notifications.recipients` who gets what and inserts all rows with ONE
multi-row INSERT through the lean :class:`~regie.engine.storage.Tx` cursor. People with
``digest = true`` get rows in status ``digest`` (see :mod:`regie.notifications.digest`).

Sender path (each call is its own short committed transaction; nothing is sent inside).
A claim is ONE attempt at ONE row, made right before it is tried, so a sender that stops
holds at most one row per connection:

* :func:`step` records how the previous attempt ended and claims the next due row
  (``queued → sending``, a lease, a fresh ``attempt_id``); the first claim fixes the
  Message-ID ``<regie-outbox-ID.NONCE.INSTALLATION@DOMAIN>`` (random per row and per
  database, so two databases, or a restored backup, never give one id to two mails);
* :func:`data_started` is committed right before DATA goes out: only then may the message
  have been delivered. A ``sending`` row whose lease expired without it was not tried and
  is claimed again as if nothing happened; with it, the message is sent once more with
  the same Message-ID (``recovered``), and if that stops too it is marked failed
  (:data:`STUCK_TWICE`), so a message is never delivered more than twice;
* the outcome: sent, retry later (backoff), failed, released (not tried: queued as it
  was, the attempt not counted) or interrupted (DATA started, no answer: as above).
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from regie.clock import AMSTERDAM
from regie.engine.audit import Event
from regie.engine.storage import Database, Tx, as_datetime
from regie.notifications.kinds import NOTICE_KINDS
from regie.notifications.types import (
    DIGEST,
    DIGESTED,
    QUEUED,
    SENDING,
    Notice,
    OutboxRow,
)

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
    "twice the transfer of this message stopped after DATA had started (the sender was "
    "stopped or the connection was lost; the first time it was sent once more): it may have "
    "been delivered; check with the recipient, then 'regie outbox retry'"
)
MAY_HAVE_ARRIVED = (
    "the transfer stopped after DATA had started: it may have been delivered; it is sent "
    "once more with the same Message-ID"
)


# -- write path -------------------------------------------------------------------------


def enqueue_for_event(tx: Tx, event: Event) -> int:
    """Queue the notices an event causes (same transaction); returns how many."""
    from regie.notifications import recipients

    notices, texts = recipients.event_notices(tx, event)
    if not notices:
        return 0
    return insert_notices(tx, event.id, event.at, notices, texts)


def insert_notices(
    tx: Tx,
    event_id: int,
    at: datetime,
    notices: Sequence[Notice],
    texts: Sequence[str] | None = None,
) -> int:
    """Insert one row per notice (``digest`` for people who chose the daily digest);
    ``texts``: the contexts as stored, when the caller has them already."""
    digest_people = _digest_people(tx)
    for start in range(0, len(notices), _ROWS_PER_INSERT):
        chunk = notices[start : start + _ROWS_PER_INSERT]
        params: list[Any] = []
        for i, n in enumerate(chunk, start):
            held = n.person_id in digest_people and NOTICE_KINDS[n.kind].waits_for_digest
            status = DIGEST if held else QUEUED
            text = texts[i] if texts is not None else _dumps(n.context)
            params += [event_id, n.kind, n.person_id, n.email, n.language, n.proposal_id,
                       n.meeting_id, text, status, at, at]  # fmt: skip
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
    """The stored text of a context (recipients.context_json writes the same)."""
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
    with db.transaction() as session:
        made = bundle_digests(Tx(session), now=now, tz=tz)
        session.commit()
    return made


def digests_by_sender(db: Database) -> bool:
    """Does the sender bundle the digests at each drain? Only when the region switched the
    scheduler's ``digest`` rule off (``[scheduler] off = ["digest"]``): otherwise the
    scheduler bundles them at the region's digest hour (regie.scheduler.digest)."""
    with db.transaction(write=False) as session:
        raw = Tx(session).scalar("SELECT value FROM region_setting WHERE key = 'scheduler'")
    return "digest" in (json.loads(raw) if raw else {}).get("off", ())


def bundle_digests(tx: Tx, *, now: datetime, tz: ZoneInfo = AMSTERDAM) -> int:
    """:func:`build_digests` inside the caller's transaction (no commit): the scheduler's
    digest rule bundles in the transaction that records its firing."""
    aware = now if now.tzinfo else now.replace(tzinfo=UTC)
    local = aware.astimezone(tz)
    day_start = datetime.combine(local.date(), time(), tzinfo=tz)
    cutoff = day_start.astimezone(UTC).replace(tzinfo=None)  # stored times: naive UTC
    stamp = aware.astimezone(UTC).replace(tzinfo=None)
    made = 0
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
            **{k: last[k] for k in ("coordinator_name", "coordinator_email") if k in last},
            "items": [
                {"kind": r[2], "proposal_id": r[6], "meeting_id": r[7],
                 "outbox_id": int(r[0]), "context": json.loads(r[8] or "{}")}
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
    return made


# -- sender path ------------------------------------------------------------------------

INSTALLATION_KEY = "installation_id"  # region_setting: random, made by the first init

_CLAIMABLE = (
    "((status = 'queued' AND next_attempt_at <= ?) "
    "OR (status = 'sending' AND lease_until <= ? AND (data_started_at IS NULL OR recovered = 0)))"
)
_WHERE_ATTEMPT = "id = ? AND attempt_id = ? AND status = 'sending'"


@dataclass(frozen=True)
class Attempt:
    """One claimed row: this sender may try it once, as attempt ``id``."""

    row: OutboxRow
    id: str
    recovered: int = 0  # earlier attempts that may have delivered it (DATA, no answer)


@dataclass(frozen=True)
class Claim:
    lease: timedelta
    domain: str  # of the Message-ID
    installation: str  # see installation_id()


def installation_id(db: Database) -> str:
    """This database's random id (made by ``regie init``; made here for an older one)."""
    sql = "SELECT value FROM region_setting WHERE key = ?"
    with db.transaction(write=False) as session:
        raw = Tx(session).scalar(sql, (INSTALLATION_KEY,))
    if raw is not None:
        return str(json.loads(raw))
    with db.transaction() as session:  # writers queue here: the first one makes it
        tx = Tx(session)
        raw = tx.scalar(sql, (INSTALLATION_KEY,))
        if raw is None:
            raw = json.dumps(secrets.token_hex(6))
            tx.execute("INSERT INTO region_setting (key, value) VALUES (?, ?)",
                       (INSTALLATION_KEY, raw))  # fmt: skip
            session.commit()
    return str(json.loads(raw))


def claim(db: Database, *, now: datetime, lease: timedelta, domain: str) -> Attempt | None:
    """Claim the next due row for one attempt (one short committed transaction)."""
    return step(db, now=now, claim=Claim(lease, domain, installation_id(db)))


def step(
    db: Database, *, now: datetime, finish: Outcome | None = None, claim: Claim | None = None
) -> Attempt | None:
    """Record how an attempt ended and claim the next row, in ONE committed transaction
    (not fsynced: a power cut may undo it, which costs a repeated attempt, never a mail)."""
    with db.transaction(durable=False) as session:
        tx = Tx(session)
        if finish is not None:
            _finish_one(tx, finish, now)
        attempt = _claim_one(tx, now, claim) if claim is not None else None
        session.commit()
    return attempt


def _claim_one(tx: Tx, now: datetime, claim: Claim) -> Attempt | None:
    """A row is claimed for ONE attempt: queued and due, or ``sending`` with an expired
    lease (its sender stopped). Such a row whose DATA had not started was not tried: its
    attempt is carried over. One whose DATA had started may have been delivered: it is
    tried once more (``recovered``), and after a second such stop marked failed."""
    tx.execute(
        "UPDATE outbox SET status = 'failed', last_error = ?, lease_until = NULL "
        "WHERE status = 'sending' AND lease_until <= ? AND data_started_at IS NOT NULL "
        "AND recovered >= 1",
        (STUCK_TWICE, now),
    )
    found = tx.all(
        "SELECT id FROM outbox WHERE status = 'sending' AND lease_until <= ? "
        "ORDER BY lease_until, id LIMIT 4",
        (now,),
    ) + tx.all(
        "SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, id LIMIT 4",
        (now,),
    )
    for (row_id,) in found:  # another sender may take one first (PostgreSQL): the next
        attempt = secrets.token_hex(8)
        mid = f"<regie-outbox-{row_id}.{secrets.token_hex(4)}.{claim.installation}@{claim.domain}>"
        rows = tx.all(
            "UPDATE outbox SET status = 'sending', lease_until = ?, attempt_id = ?, "
            "attempts = attempts + CASE WHEN status = 'sending' AND data_started_at IS NULL "
            "THEN 0 ELSE 1 END, "
            "recovered = recovered + CASE WHEN status = 'sending' AND data_started_at IS NOT "
            "NULL THEN 1 ELSE 0 END, "
            "data_started_at = NULL, message_id = COALESCE(message_id, ?) "
            f"WHERE id = ? AND {_CLAIMABLE} RETURNING {ROW_COLUMNS}, recovered",
            (now + claim.lease, attempt, mid, row_id, now, now),
        )
        if rows:
            return Attempt(row_from_tuple(rows[0]), attempt, int(rows[0][-1]))
    return None


def data_started(db: Database, attempt: Attempt, *, now: datetime, lease: timedelta) -> bool:
    """Note (committed) that DATA starts now for this attempt, and renew its lease; False
    if the attempt is no longer this sender's (its lease expired and another took it).
    Not fsynced: if a power cut undoes the mark, the mail is sent again (a duplicate)."""
    with db.transaction(durable=False) as session:
        tx = Tx(session)
        tx.execute(
            f"UPDATE outbox SET data_started_at = ?, lease_until = ? WHERE {_WHERE_ATTEMPT}",
            (now, now + lease, attempt.row.id, attempt.id),
        )
        ok = tx.rowcount == 1
        session.commit()
    return ok


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended."""

    row_id: int
    status: str  # sent | retry | failed | release (not tried) | interrupted (see below)
    error: str | None = None
    next_attempt_at: datetime | None = None
    attempt: str | None = None  # the attempt's id: only that attempt is finished

    @property
    def counts(self) -> str:
        """The report's column: an interrupted attempt waits (retry) or failed."""
        return "retry" if self.status == "interrupted" else self.status


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential backoff with jitter: 1, 2, 4 … 60 minutes, each 50–100 % of that."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling * (0.5 + rng.random() / 2))


def finish(db: Database, outcomes: Sequence[Outcome], *, now: datetime) -> None:
    """Record several outcomes (one short committed transaction)."""
    if not outcomes:
        return
    with db.transaction() as session:
        tx = Tx(session)
        for o in outcomes:
            _finish_one(tx, o, now)
        session.commit()


def _finish_one(tx: Tx, o: Outcome, now: datetime) -> None:
    """``release`` and ``interrupted`` follow what the row says: an attempt whose DATA
    had not started is given back (queued, due as before, not counted); one whose DATA
    had started may have been delivered: queued once more (``recovered``), the second
    time failed. Every statement touches only this attempt's row."""
    where = f"id = ? AND status = 'sending'{' AND attempt_id = ?' if o.attempt else ''}"
    key: tuple[Any, ...] = (o.row_id, o.attempt) if o.attempt else (o.row_id,)
    if o.status == "sent":
        tx.execute("UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL, "
                   f"last_error = NULL WHERE {where}", (now, *key))  # fmt: skip
    elif o.status == "retry":
        tx.execute("UPDATE outbox SET status = 'queued', next_attempt_at = ?, last_error = ?, "
                   f"lease_until = NULL WHERE {where}",
                   (o.next_attempt_at or now, o.error, *key))  # fmt: skip
    elif o.status == "failed":
        tx.execute("UPDATE outbox SET status = 'failed', last_error = ?, lease_until = NULL "
                   f"WHERE {where}", (o.error, *key))  # fmt: skip
    else:  # release | interrupted
        why = o.error if o.status == "interrupted" and o.error else MAY_HAVE_ARRIVED
        if o.status != "interrupted" and o.error:
            why = f"{o.error}; {MAY_HAVE_ARRIVED}"
        tx.execute("UPDATE outbox SET status = 'queued', attempts = attempts - 1, "
                   "lease_until = NULL, last_error = COALESCE(?, last_error) "
                   f"WHERE {where} AND data_started_at IS NULL", (o.error, *key))  # fmt: skip
        tx.execute(
            "UPDATE outbox SET status = CASE WHEN recovered >= 1 THEN 'failed' ELSE 'queued' "
            "END, last_error = CASE WHEN recovered >= 1 THEN ? ELSE ? END, "
            "recovered = recovered + 1, next_attempt_at = ?, lease_until = NULL "
            f"WHERE {where} AND data_started_at IS NOT NULL",
            (STUCK_TWICE, why, o.next_attempt_at or now, *key),
        )


def due_count(db: Database, *, now: datetime) -> int:
    """How many rows a drain would try now."""
    with db.transaction(write=False) as session:
        return int(
            Tx(session).scalar(f"SELECT COUNT(*) FROM outbox WHERE {_CLAIMABLE}", (now, now)) or 0
        )


def waiting_count(db: Database) -> int:
    """How many rows wait to be sent (queued now or later, or being sent)."""
    with db.transaction(write=False) as session:
        found = Tx(session).scalar(
            "SELECT COUNT(*) FROM outbox WHERE status IN (?, ?)", (QUEUED, SENDING)
        )
        return int(found or 0)
