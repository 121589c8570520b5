"""Outbox services for people: list rows, retry failed ones, cancel unsent ones.

Keyword-only, explicit session (and clock for writes), like the engine's services; the
CLI (``regie outbox``) only parses and prints. Retrying and cancelling are changes like
any other: they name who acts (the network coordinator) and leave an audit event
(``outbox_retried``, ``outbox_cancelled``) with the rows they touched, in the same
transaction.
"""

from __future__ import annotations

from typing import Any

from regie.clock import Clock, to_local
from regie.engine import roles
from regie.engine.changes import begin
from regie.engine.filters import require_known
from regie.engine.storage import AnySession, Tx, as_datetime
from regie.errors import NotFound, UsageError
from regie.notifications.kinds import NOTICE_KINDS
from regie.notifications.types import CANCELLED, DIGEST, FAILED, QUEUED, SENDING, STATUSES

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
) -> dict[str, Any]:
    """Outbox rows, newest first, filtered, at most ``limit`` of them; times in
    Europe/Amsterdam. Returns ``rows``, ``total`` (rows that match), ``limit`` and
    ``truncated`` (whether rows were left out). A filter naming nothing known is a usage
    error."""
    tx = Tx(session)
    _check_filters(tx, status, person, proposal, kind)
    where, params = [], []
    for column, value in (("status", status), ("person_id", person),
                          ("proposal_id", proposal), ("kind", kind)):  # fmt: skip
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = " WHERE " + " AND ".join(where) if where else ""
    limit = max(limit, 1)
    rows = tx.all(
        f"SELECT {_LIST_COLUMNS} FROM outbox{clause} ORDER BY id DESC LIMIT ?", (*params, limit)
    )
    total = len(rows)
    if total == limit:
        total = int(tx.scalar(f"SELECT COUNT(*) FROM outbox{clause}", params))
    out = []
    for r in rows:
        item = dict(zip(_KEYS, r, strict=True))
        for key in _TIMES:
            item[key] = _local(item[key])
        out.append(item)
    return {"rows": out, "total": total, "limit": limit, "truncated": total > len(out)}


def _check_filters(
    tx: Tx, status: str | None, person: str | None, proposal: str | None, kind: str | None
) -> None:
    if status is not None:
        require_known(status, STATUSES, "status")
    if kind is not None:
        require_known(kind, NOTICE_KINDS, "kind")
    if person is not None:
        people = (str(r[0]) for r in tx.all("SELECT id FROM person"))
        require_known(person, people, "person", see="regie people")
    if (
        proposal is not None
        and tx.scalar("SELECT 1 FROM proposal WHERE id = ?", (proposal,)) is None
    ):
        require_known(proposal, (), "proposal", see="regie list")


def status_counts(*, session: AnySession) -> dict[str, int]:
    rows = Tx(session).all("SELECT status, COUNT(*) FROM outbox GROUP BY status")
    return {str(s): int(n) for s, n in rows}


def _status_of(tx: Tx, row_id: int) -> str:
    status = tx.scalar("SELECT status FROM outbox WHERE id = ?", (row_id,))
    if status is None:
        raise NotFound("outbox row", str(row_id), "see 'regie outbox'")
    return str(status)


def retry(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    row_id: int | None = None,
    all_failed: bool = False,
) -> int:
    """Queue failed (or cancelled) rows again, due now, with a fresh attempt count."""
    if (row_id is None) == (not all_failed):
        raise UsageError("give an outbox row id or --all-failed (not both)")
    ch = begin(session, clock, actor)
    roles.require_coordinator(ch, "retry mail in the outbox")
    tx = ch.tx
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
        rows = tx.all(sql + "id = ? AND status = ? RETURNING id", (ch.now, row_id, status))
    else:
        status = FAILED
        rows = tx.all(sql + "status = ? RETURNING id", (ch.now, FAILED))
    ids = sorted(int(r[0]) for r in rows)
    if ids:
        ch.record("outbox_retried", acting_for=None, payload={"rows": ids, "from": status})
        ch.commit()
    return len(ids)


def cancel(*, session: AnySession, clock: Clock, actor: str | None, row_id: int) -> str:
    """Cancel a row that was not sent; returns its former status."""
    ch = begin(session, clock, actor)
    roles.require_coordinator(ch, "cancel mail in the outbox")
    tx = ch.tx
    status = _status_of(tx, row_id)
    now = ch.now
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
    ch.record("outbox_cancelled", acting_for=None, payload={"rows": [row_id], "from": status})
    ch.commit()
    return status
