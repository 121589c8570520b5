"""Links used once: the ``link_use`` table (migration 0010).

A link that changes something records its use — the outbox row it names, when, by whom,
what it did — in the SAME transaction as the change. The row id is the primary key, so a
second use, also one running at the same moment in another process, fails on it and the
whole transaction (the change too) is rolled back: :func:`is_second_use` tells that
failure from others. One earlier use leaves room for another: after a correction request
the chair may still confirm the decision through the same link.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from regie.engine.storage import Tx, as_datetime

CONFIRMED = "confirmed"
CORRECTION_REQUESTED = "correction_requested"
_LEAVES_ROOM = {CONFIRMED: CORRECTION_REQUESTED}  # outcome -> the earlier use it may follow
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


@dataclass(frozen=True)
class Use:
    row_id: int
    used_at: datetime  # naive UTC
    person_id: str
    outcome: str


def find(tx: Tx, row_id: int) -> Use | None:
    row = tx.one("SELECT used_at, person_id, outcome FROM link_use WHERE row_id = ?", (row_id,))
    return from_row(row_id, *row) if row is not None else None


def from_row(row_id: int, used_at: Any, person_id: Any, outcome: Any) -> Use | None:
    """The use from its columns (read with a page's other facts); none: not used."""
    when = as_datetime(used_at)
    if when is None:
        return None
    return Use(row_id, when, str(person_id), str(outcome))


def take(tx: Tx, row_id: int, person_id: str, outcome: str, now: datetime) -> None:
    """Record the use in the caller's transaction; a link used already makes the INSERT
    fail (see :func:`is_second_use`), unless its earlier use leaves room for this one."""
    earlier = _LEAVES_ROOM.get(outcome)
    if earlier is not None:
        tx.execute(
            "UPDATE link_use SET used_at = ?, person_id = ?, outcome = ? "
            "WHERE row_id = ? AND outcome = ?",
            (now, person_id, outcome, row_id, earlier),
        )
        if tx.rowcount == 1:
            return
    tx.execute(
        "INSERT INTO link_use (row_id, used_at, person_id, outcome) VALUES (?, ?, ?, ?)",
        (row_id, now, person_id, outcome),
    )


def is_second_use(exc: BaseException) -> bool:
    """The primary key of ``link_use`` refused a row: the link was used (SQLite, PostgreSQL)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "link_use" in str(exc)
    return getattr(exc, "sqlstate", None) == UNIQUE_VIOLATION
