"""Proposal ids (``P-2026-001``) in their natural order: by year, then by number — also
past 999, so ``P-2026-1000`` comes after ``P-2026-999`` (text order would put it before
``P-2026-101``). Numbers have at least three digits, so within a year a longer id is a
larger number."""

from __future__ import annotations

import re

_ID = re.compile(r"P-(\d+)-(\d+)")


def proposal_key(proposal_id: str) -> tuple[int, int, str]:
    """Sort key for Python: (year, number, id); ids of another shape sort first, as text."""
    found = _ID.fullmatch(proposal_id)
    if found is None:
        return (-1, -1, proposal_id)
    return (int(found[1]), int(found[2]), proposal_id)


def order_by_proposal(column: str) -> str:
    """SQL ``ORDER BY`` terms for a column of proposal ids (SQLite and PostgreSQL): the
    ``P-YYYY-`` prefix, then the length, then the text."""
    return f"substr({column}, 1, 7), length({column}), {column}"
