"""The search index (migration 0016): one ``search_entry`` row per searchable text.

What is searched: a proposal's title and summary (kind ``proposal``, ref ``title`` or
``summary``), every version of its decision text (``decision``, ref the version; the text
an information item was noted with: ref ``''``), the comments of correction requests
(``correction``, ref the version they concern) and prior positions (``position``, ref the
party; one per party and meeting, a new one replaces it).

Each row keeps the original text and its Dutch stems (:func:`regie.dispute.stems.stemmed_text`).
On SQLite the FTS5 table ``search_fts`` (external content: ``search_entry``, column
``stems``) indexes the stems and is written here, next to the row (no triggers: the audit
trail's are the only ones); on PostgreSQL a GIN index on ``to_tsvector('dutch', text)``
does the work of the ``dutch`` text-search configuration. ``search_stem`` counts in how
many entries each stem occurs, kept with the entries (the similar-decision check's
document frequencies, :mod:`regie.dispute.revisits`). ``search_decision`` holds one
document per final decision (its title, summary and standing text, stemmed), indexed by
``search_fts_decisions`` (SQLite) or a GIN index on ``to_tsvector('simple', stems)``
(PostgreSQL: the stems are Snowball's already): the candidates of that check.

The index follows the audit trail: :func:`on_event`, called by
:meth:`regie.engine.changes.Change.record` for every event, adds the texts the event
carries, in the same transaction. :func:`rebuild` fills it from the tables (the migration,
and a benchmark that inserts rows directly).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from regie.engine.audit import Event

KINDS = ("proposal", "decision", "correction", "position")
FTS_TABLE = "search_fts"  # SQLite only: the FTS5 table over search_entry.stems
DECISIONS_FTS = "search_fts_decisions"  # SQLite only: over search_decision.stems
TITLE_REPEAT = 2  # a final decision's title stems count twice in its document

# A proposal's standing decision when it is confirmed (the latest version, confirmed, not
# retracted), with the proposal's state and the version; a *final* decision also has the
# proposal decided (an information item that was only noted records no decision).
CONFIRMED = (
    "SELECT p.id, p.title, p.summary, p.focus_point, d.text, d.outcome, m.body_id, "
    "m.starts_at, p.state, d.version "
    "FROM proposal p JOIN decision d ON d.proposal_id = p.id "
    "JOIN meeting m ON m.id = d.meeting_id "
    "WHERE d.confirmed_at IS NOT NULL AND d.retracted_at IS NULL "
    "AND d.version = (SELECT MAX(d2.version) FROM decision d2 WHERE d2.proposal_id = p.id)"
)
FINAL = CONFIRMED + " AND p.state = 'decided'"
# the actions after which a proposal may have become, or stopped being, a final decision
FINAL_CHANGES = frozenset({"decided", "confirmed", "amended", "retracted", "withdrawn"})

# the actions whose events carry text to search
INDEXED_ACTIONS = frozenset(
    {"submitted", "decided", "amended", "noted", "correction_requested", "prior_position"}
)


class Sql(Protocol):
    """What the index needs of a connection: :class:`regie.engine.storage.Tx` or the
    migration's adapter (``?`` placeholders)."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


class Entry(NamedTuple):
    proposal_id: str
    kind: str
    ref: str
    meeting_id: str | None
    text: str
    at: Any
    context: str = ""  # stemmed with the text, not stored: the title, for a summary

    def row(self) -> tuple[Any, ...]:
        """The row to store: the fields, the stems (of context and text), the time."""
        from regie.dispute.stems import stemmed_text

        stemmed = stemmed_text(f"{self.context}\n{self.text}" if self.context else self.text)
        return (*self[:5], stemmed, self.at)


def on_event(tx: Sql, event: Event) -> None:
    """Index what an audit event says, in its transaction (nothing for other actions)."""
    pid = event.proposal_id
    if pid is not None and event.action in FINAL_CHANGES:
        refresh_decision(tx, pid)
    if event.action not in INDEXED_ACTIONS or pid is None:
        return
    if event.action == "prior_position":
        _forget(tx, pid, "position", str(event.payload.get("party") or ""), event.meeting_id)
    add(tx, list(_event_entries(event.action, pid, event.meeting_id, event.payload, event.at)))


def _event_entries(
    action: str, pid: str, meeting_id: str | None, payload: dict[str, Any], at: Any
) -> Iterable[Entry]:
    text, version = str(payload.get("text") or ""), str(payload.get("version", ""))
    if action == "submitted":
        yield from _proposal_entries(pid, payload.get("title"), payload.get("summary"), at)
    elif action in ("decided", "amended"):
        yield Entry(pid, "decision", version, meeting_id, text, at)
    elif action == "noted":
        yield Entry(pid, "decision", "", meeting_id, text, at)
    elif action == "correction_requested":
        comment = str(payload.get("comment") or "")
        yield Entry(pid, "correction", version, meeting_id, comment, at)
    elif action == "prior_position":
        party, position = str(payload.get("party") or ""), str(payload.get("position") or "")
        yield Entry(pid, "position", party, meeting_id, position, at)


def _proposal_entries(pid: str, title: Any, summary: Any, at: Any) -> Iterable[Entry]:
    """The title, and the summary read with its title (a search for words from both finds
    the proposal; the title alone counts more)."""
    title = str(title or "")
    yield Entry(pid, "proposal", "title", None, title, at)
    yield Entry(pid, "proposal", "summary", None, str(summary or ""), at, context=title)


def add(tx: Sql, entries: Sequence[Entry]) -> None:
    """Store entries (an empty text is left out: nothing to find) and index their stems."""
    rows = [e.row() for e in entries if e.text.strip()]
    for row in rows:
        found = tx.all(
            "INSERT INTO search_entry (proposal_id, kind, ref, meeting_id, text, stems, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            row,
        )
        if tx.dialect == "sqlite":
            tx.execute(
                f"INSERT INTO {FTS_TABLE} (rowid, stems) VALUES (?, ?)", (found[0][0], row[5])
            )
    _count(tx, Counter(s for row in rows for s in set(str(row[5]).split())), 1)


def _count(tx: Sql, stems: Counter[str], sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) entries to the stems' counts (``search_stem``)."""
    for stem, n in sorted(stems.items()):
        tx.execute(
            "INSERT INTO search_stem (stem, entries) VALUES (?, ?) ON CONFLICT (stem) "
            "DO UPDATE SET entries = search_stem.entries + excluded.entries",
            (stem, sign * n),
        )


def stem_entries(tx: Sql, wanted: Sequence[str]) -> dict[str, int]:
    """In how many entries each wanted stem occurs (those in none are left out)."""
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = tx.all(f"SELECT stem, entries FROM search_stem WHERE stem IN ({marks})", list(wanted))
    return {str(stem): int(n) for stem, n in rows if int(n) > 0}


def entry_count(tx: Sql) -> int:
    """About how many entries there are (the highest id: cheap, and ids are hardly ever
    given back)."""
    found = tx.all("SELECT MAX(id) FROM search_entry")
    return int(found[0][0]) if found and found[0][0] is not None else 0


def _forget(tx: Sql, pid: str, kind: str, ref: str, meeting_id: str | None) -> None:
    """Remove the entries a new text replaces (a prior position given again)."""
    old = tx.all(
        "SELECT id, stems FROM search_entry WHERE proposal_id = ? AND kind = ? AND ref = ? "
        "AND meeting_id = ?",
        (pid, kind, ref, meeting_id),
    )
    _count(tx, Counter(s for _id, stems in old for s in set(str(stems).split())), -1)
    for entry_id, stems in old:
        if tx.dialect == "sqlite":  # external content: the old stems take it out again
            tx.execute(
                f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, stems) VALUES ('delete', ?, ?)",
                (entry_id, stems),
            )
        tx.execute("DELETE FROM search_entry WHERE id = ?", (entry_id,))


def decision_stems(title: str, summary: str, text: str) -> str:
    """A final decision's document in the decisions index: the stems of its title
    (:data:`TITLE_REPEAT` times), summary and decision text, what the similar-decision
    check compares (:mod:`regie.dispute.revisits`)."""
    from regie.dispute.stems import stemmed_text

    parts = [stemmed_text(title)] * TITLE_REPEAT + [stemmed_text(summary), stemmed_text(text)]
    return " ".join(p for p in parts if p)


def refresh_decision(tx: Sql, pid: str) -> None:
    """The proposal's document in the decisions index (``search_decision``) as it stands
    now: there when it is a final decision, with its standing text; else not there."""
    old = tx.all("SELECT id, stems FROM search_decision WHERE proposal_id = ?", (pid,))
    for doc_id, stems in old:
        if tx.dialect == "sqlite":  # external content: the old stems take it out again
            tx.execute(
                f"INSERT INTO {DECISIONS_FTS} ({DECISIONS_FTS}, rowid, stems) "
                "VALUES ('delete', ?, ?)",
                (doc_id, stems),
            )
        tx.execute("DELETE FROM search_decision WHERE id = ?", (doc_id,))
    for row in tx.all(f"{FINAL} AND p.id = ?", (pid,)):
        stems = decision_stems(str(row[1]), str(row[2] or ""), str(row[4] or ""))
        found = tx.all(
            "INSERT INTO search_decision (proposal_id, stems) VALUES (?, ?) RETURNING id",
            (pid, stems),
        )
        if tx.dialect == "sqlite":
            tx.execute(
                f"INSERT INTO {DECISIONS_FTS} (rowid, stems) VALUES (?, ?)", (found[0][0], stems)
            )


def stored_entries(tx: Sql) -> Iterable[Entry]:
    """Every searchable text the tables and the audit trail hold, proposal by proposal."""
    for pid, title, summary, at in tx.all(
        "SELECT id, title, summary, submitted_at FROM proposal ORDER BY submitted_at, id"
    ):
        yield from _proposal_entries(pid, title, summary, at)
    for pid, version, meeting, text, at in tx.all(
        "SELECT proposal_id, version, meeting_id, text, recorded_at FROM decision "
        "ORDER BY recorded_at, proposal_id, version"
    ):
        yield Entry(pid, "decision", str(version), meeting, str(text or ""), at)
    for pid, party, meeting, position, at in tx.all(
        "SELECT proposal_id, party_id, meeting_id, position, recorded_at FROM prior_position "
        "ORDER BY recorded_at, proposal_id, party_id"
    ):
        yield Entry(pid, "position", str(party), meeting, str(position or ""), at)
    for action, pid, meeting, payload, at in tx.all(
        "SELECT action, proposal_id, meeting_id, payload, at FROM audit_event "
        "WHERE action IN ('noted', 'correction_requested') AND proposal_id IS NOT NULL "
        "ORDER BY id"
    ):
        yield from _event_entries(action, pid, meeting, json.loads(payload), at)


def rebuild(tx: Sql, *, batch: int = 5000) -> int:
    """Empty the index and fill it again from :func:`stored_entries`; the number of entries."""
    tx.execute("DELETE FROM search_entry")
    tx.execute("DELETE FROM search_stem")
    total, rows, counts = 0, [], Counter[str]()
    for e in stored_entries(tx):
        if e.text.strip():
            rows.append(e.row())
            counts.update(set(str(rows[-1][5]).split()))
        if len(rows) >= batch:
            total += _insert_many(tx, rows)
            rows = []
    total += _insert_many(tx, rows)
    for stem, n in sorted(counts.items()):
        tx.execute("INSERT INTO search_stem (stem, entries) VALUES (?, ?)", (stem, n))
    tx.execute("DELETE FROM search_decision")
    for row in tx.all(FINAL):
        tx.execute(
            "INSERT INTO search_decision (proposal_id, stems) VALUES (?, ?)",
            (row[0], decision_stems(str(row[1]), str(row[2] or ""), str(row[4] or ""))),
        )
    if tx.dialect == "sqlite":
        tx.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')")
        tx.execute(f"INSERT INTO {DECISIONS_FTS} ({DECISIONS_FTS}) VALUES ('rebuild')")
    return total


def _insert_many(tx: Sql, rows: list[tuple[Any, ...]]) -> int:
    for row in rows:
        tx.execute(
            "INSERT INTO search_entry (proposal_id, kind, ref, meeting_id, text, stems, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            row,
        )
    return len(rows)
