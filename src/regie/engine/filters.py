"""Filters of the list commands: a value that names nothing known is a usage error naming
the option, a close match and the known values (``--state awaiting-confirmation``: did
you mean 'awaiting_confirmation'?)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from regie.engine import repository as repo
from regie.engine.machine import AWAITING, CLOSED_STATES
from regie.engine.storage import Tx
from regie.errors import UsageError


def check_filters(tx: Tx, **values: str | None) -> None:
    """Each given filter value must name something there is (ids, as ``--json`` shows)."""
    stages: set[str] = set()
    purposes: set[str] = set()
    if any(values[k] is not None for k in ("stage", "state", "purpose")):
        for (digest,) in tx.all("SELECT digest FROM workflow_version"):
            wf = repo.workflow_for(tx, digest).workflow
            stages |= {s.id for s in wf.stages}
            purposes.add(wf.purpose)
    known = {
        "stage": lambda: stages,
        "state": lambda: stages | {AWAITING, *CLOSED_STATES},
        "purpose": lambda: purposes or {"information", "adoption", "advice"},
        "body": lambda: {str(r[0]) for r in tx.all("SELECT id FROM body")},
        "party": lambda: {str(r[0]) for r in tx.all("SELECT id FROM party")},
    }
    for what, value in values.items():
        if value is not None:
            require_known(value, known[what](), what)


def require_known(value: str, known: Iterable[str], what: str, see: str = "") -> None:
    """``value`` must be one of ``known``; else a usage error naming the option, a close
    match and the known values (or, for long lists, the command that shows them)."""
    names = sorted(set(known))
    if value in names:
        return
    close = difflib.get_close_matches(value, names, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    listed = f"see '{see}'" if see else f"use one of: {', '.join(names) or '(none yet)'}"
    raise UsageError(f"--{what} {value!r}: there is no such {what}; {hint}{listed}")
