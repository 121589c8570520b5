"""Outbox services for people: list rows, retry failed ones, cancel unsent ones.

Keyword-only, explicit session (and clock for writes), like the engine's services; the
CLI (``regie outbox``) only parses and prints.
"""

from __future__ import annotations

from typing import Any

from regie.clock import Clock, to_local, to_utc_naive
from regie.engine.storage import AnySession, Tx, as_datetime
from regie.errors import NotFound, UsageError
from regie.notifications.outbox import CANCELLED, DIGEST, FAILED, QUEUED, SENDING, STATUSES

_LIST_COLUMNS = (
    "id, event_id, kind, person_id, email, language, proposal_id, meeting_id, message_id, "
    "status, attempts, last_error, next_attempt_at, created_at, sent_at, digest_id"
)
_KEYS = [c.strip() for c in _LIST_COLUMNS.split(",")]
_TIMES = ("next_attempt_at", "created_at", "sent_at")


def _local(value: Any) -> str | None:
    at = as_datetime(value)
    return to_local(at).isoformat(timespec="seconds") if at else None


def list_rows(
    *,
    session: AnySession,
    status: str | None = None,
    person: str | None = None,
    proposal: str | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Outbox rows, newest first, filtered; times in Europe/Amsterdam."""
    if status and status not in STATUSES:
        raise UsageError(f"unknown status '{status}'; use one of: {', '.join(STATUSES)}")
    where, params = [], []
    for column, value in (("status", status), ("person_id", person),
                          ("proposal_id", proposal), ("kind", kind)):  # fmt: skip
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    sql = f"SELECT {_LIST_COLUMNS} FROM outbox"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = Tx(session).all(sql + " ORDER BY id DESC LIMIT ?", (*params, max(limit, 1)))
    out = []
    for r in rows:
        item = dict(zip(_KEYS, r, strict=True))
        for key in _TIMES:
            item[key] = _local(item[key])
        out.append(item)
    return out


def status_counts(*, session: AnySession) -> dict[str, int]:
    rows = Tx(session).all("SELECT status, COUNT(*) FROM outbox GROUP BY status")
    return {str(s): int(n) for s, n in rows}


def _status_of(tx: Tx, row_id: int) -> str:
    status = tx.scalar("SELECT status FROM outbox WHERE id = ?", (row_id,))
    if status is None:
        raise NotFound("outbox row", str(row_id), "see 'regie outbox'")
    return str(status)


def retry(
    *, session: AnySession, clock: Clock, row_id: int | None = None, all_failed: bool = False
) -> int:
    """Queue failed (or cancelled) rows again, due now, with a fresh attempt count."""
    if (row_id is None) == (not all_failed):
        raise UsageError("give an outbox row id or --all-failed (not both)")
    tx = Tx(session)
    now = to_utc_naive(clock.now())
    sql = (
        "UPDATE outbox SET status = 'queued', attempts = 0, recovered = 0, "
        "next_attempt_at = ?, lease_until = NULL WHERE "
    )
    if row_id is not None:
        status = _status_of(tx, row_id)
        if status not in (FAILED, CANCELLED):
            raise UsageError(
                f"outbox row {row_id} is {status}; only failed or cancelled rows are retried"
            )
        tx.execute(sql + "id = ? AND status = ?", (now, row_id, status))
    else:
        tx.execute(sql + "status = ?", (now, FAILED))
    count = tx.rowcount
    session.commit()
    return count


def cancel(*, session: AnySession, clock: Clock, row_id: int) -> str:
    """Cancel a row that was not sent; returns its former status."""
    tx = Tx(session)
    status = _status_of(tx, row_id)
    now = to_utc_naive(clock.now())
    if status == SENDING:
        lease = as_datetime(tx.scalar("SELECT lease_until FROM outbox WHERE id = ?", (row_id,)))
        if lease is not None and lease > now:
            raise UsageError(
                f"outbox row {row_id} is being sent right now; try again after "
                f"{_local(lease)} if it is still unsent"
            )
    elif status not in (QUEUED, FAILED, DIGEST):
        raise UsageError(f"outbox row {row_id} is {status}; it cannot be cancelled any more")
    tx.execute(
        "UPDATE outbox SET status = 'cancelled', lease_until = NULL WHERE id = ? AND status = ?",
        (row_id, status),
    )
    if tx.rowcount != 1:
        raise UsageError(f"outbox row {row_id} changed meanwhile; look again with 'regie outbox'")
    session.commit()
    return status
