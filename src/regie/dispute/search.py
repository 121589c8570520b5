"""Searching the decisions (``regie audit search``, ``regie audit decisions``): "was this
decided before, by whom, with what mandate?".

:func:`search` asks the index of :mod:`regie.dispute.index` (SQLite: FTS5 over the Dutch
stems, ranked with bm25; PostgreSQL: the ``dutch`` text-search configuration, ranked with
ts_rank), weighs the kind of text (a title counts more than a passing mention), keeps the
best match per proposal and tells, for each, where it was decided, the outcome and who
spoke for which concerned party there: a mandated representative present, a registered
substitute with a mandate, or a prior position (the rules of :mod:`regie.engine.mandate`).
:func:`decisions` lists the standing decision versions across meetings, newest first.
:func:`bare_search` is only the index query, for the benchmark to compare with.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from regie import labels
from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.dispute.stems import fold, stem, stems
from regie.engine import repository as repo
from regie.engine.filters import require_known
from regie.engine.machine import NOTED
from regie.engine.mandate import COVERING, STANCES, is_registered_substitute, mandate_gap
from regie.engine.storage import AnySession, Tx, as_datetime
from regie.errors import UsageError

# how much a match counts, by the kind of text (ref for a proposal: title or summary)
_WEIGHT = (
    "CASE WHEN e.kind = 'proposal' AND e.ref = 'title' THEN 3.0 "
    "WHEN e.kind = 'decision' THEN 1.5 WHEN e.kind = 'proposal' THEN 1.2 ELSE 1.0 END"
)
# lower is better on both: bm25 is negative, ts_rank positive
_SCORE = {
    "sqlite": f"bm25(search_fts) * {_WEIGHT}",
    "postgresql": "-ts_rank(to_tsvector('dutch', e.text), plainto_tsquery('dutch', ?)) * "
    + _WEIGHT,
}
_MATCH = {
    "sqlite": "FROM search_fts JOIN search_entry e ON e.id = search_fts.rowid "
    "WHERE search_fts MATCH ?",
    "postgresql": "FROM search_entry e "
    "WHERE to_tsvector('dutch', e.text) @@ plainto_tsquery('dutch', ?)",
}
# the standing decision version (latest not retracted) and the meeting that decided, else
# the proposal's current meeting
_STANDING = (
    "LEFT JOIN decision d ON d.proposal_id = p.id AND d.retracted_at IS NULL AND d.version = "
    "(SELECT MAX(x.version) FROM decision x WHERE x.proposal_id = p.id AND "
    "x.retracted_at IS NULL) "
    "LEFT JOIN meeting m ON m.id = COALESCE(d.meeting_id, p.meeting_id)"
)
_OUTCOME = f"COALESCE(d.outcome, CASE WHEN p.state = '{NOTED}' THEN '{NOTED}' END)"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PRIOR = {"nl": "standpunt vooraf", "en": "prior position"}


@dataclass
class _Where:
    sql: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    needs_meeting: bool = False

    def add(self, sql: str, value: Any, *, meeting: bool = False) -> None:
        self.sql.append(sql)
        self.params.append(value)
        self.needs_meeting = self.needs_meeting or meeting


def _filters(tx: Tx, *, party: str | None, body: str | None, focus_point: str | None,
             outcome: str | None, since: date | str | None, until: date | str | None,
             outcome_sql: str) -> _Where:  # fmt: skip
    """The filters as SQL on ``p`` (proposal), ``m`` (deciding meeting) and the outcome;
    a value that names nothing known is a usage error naming the known ones."""
    where = _Where()
    if party is not None:
        require_known(party, _ids(tx, "party"), "party")
        where.add("p.id IN (SELECT pp.proposal_id FROM proposal_party pp WHERE pp.party_id = ?)",
                  party)  # fmt: skip
    if body is not None:
        require_known(body, _ids(tx, "body"), "body")
        where.add("m.body_id = ?", body, meeting=True)
    if focus_point is not None:
        require_known(focus_point, _ids(tx, "focus_point"), "focus-point")
        where.add("p.focus_point = ?", focus_point)
    if outcome is not None:
        require_known(outcome, _outcomes(tx), "outcome")
        where.add(f"{outcome_sql} = ?", outcome, meeting=True)
    first, last = _day(since, "since"), _day(until, "until")
    if first and last and first > last:
        raise UsageError(f"--since {first} is after --until {last}; swap them")
    if first:
        where.add("m.starts_at >= ?", _midnight(first), meeting=True)
    if last:
        where.add("m.starts_at < ?", _midnight(last + timedelta(days=1)), meeting=True)
    return where


def _ids(tx: Tx, table: str) -> list[str]:
    return [str(r[0]) for r in tx.all(f"SELECT id FROM {table}")]


def _outcomes(tx: Tx) -> set[str]:
    found = {NOTED}
    for (digest,) in tx.all("SELECT digest FROM workflow_version"):
        found |= {o.id for o in repo.workflow_for(tx, digest).workflow.outcomes}
    return found


def _day(value: date | str | None, option: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        if not _DATE.fullmatch(value.strip()):
            raise ValueError(value)
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(
            f"--{option} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-01-31"
        ) from None


def _midnight(day: date) -> datetime:
    """The start of a local day, as stored (naive UTC)."""
    return to_utc_naive(datetime.combine(day, time(0), tzinfo=AMSTERDAM))


def _query(text: str) -> list[str]:
    """The stems to look for; a text without any is refused."""
    found = list(dict.fromkeys(stems(text or "")))
    if not found:
        raise UsageError(
            'give words to search for, e.g. regie audit search "wachtlijst jeugdhulp" '
            "(common words such as 'de', 'het', 'van' are not searched)"
        )
    return found


def _limit(limit: int) -> int:
    if limit < 1:
        raise UsageError(f"--limit {limit}: give a number of at least 1")
    return limit


def _match_params(tx: Tx, text: str, wanted: list[str]) -> tuple[str, str, list[Any]]:
    """The index's FROM/WHERE, the score and their parameters (the score's first). SQLite
    is asked for all stems (quoted: FTS5 syntax stays out); PostgreSQL for the text, which
    its ``dutch`` configuration stems itself."""
    dialect = "sqlite" if tx.dialect == "sqlite" else "postgresql"
    if dialect == "sqlite":
        return _MATCH[dialect], _SCORE[dialect], [" ".join(f'"{s}"' for s in wanted)]
    return _MATCH[dialect], _SCORE[dialect], [text, text]


BareHit = tuple[str, str, str, float]  # proposal id, kind, ref, score (higher: better)


def bare_search(session: AnySession, text: str, limit: int = 50) -> list[BareHit]:
    """Only the index query, ranked: ``(proposal id, kind, ref, score)`` of the best
    ``limit`` entries (no filters, no details); what :func:`search` costs on top of it is
    the benchmark's ratio."""
    tx = Tx(session)
    wanted = _query(text)
    source, score, params = _match_params(tx, text, wanted)
    if tx.dialect == "sqlite":
        rows = tx.all(
            f"SELECT e.proposal_id, e.kind, e.ref, best.rank FROM ({_RANKED}) best "
            "JOIN search_entry e ON e.id = best.id ORDER BY best.rank",
            [*params, _limit(limit)],
        )
    else:
        rows = tx.all(
            f"SELECT e.proposal_id, e.kind, e.ref, {score} AS score {source} "
            "ORDER BY score LIMIT ?",
            [*params, _limit(limit)],
        )
    return [(str(r[0]), str(r[1]), str(r[2]), -float(r[3])) for r in rows]


def search(
    session: AnySession,
    text: str,
    *,
    party: str | None = None,
    body: str | None = None,
    focus_point: str | None = None,
    outcome: str | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
    limit: int = 50,
    lang: str | None = None,
) -> list[dict[str, Any]]:
    """Proposals whose texts match ``text`` (Dutch stems, all words), best first, one hit
    per proposal (its best matching text), with where and how it was decided."""
    tx = Tx(session)
    wanted, limit = _query(text), _limit(limit)
    where = _filters(tx, party=party, body=body, focus_point=focus_point, outcome=outcome,
                     since=since, until=until, outcome_sql=_OUTCOME)  # fmt: skip
    best = _best_entries(tx, text, wanted, where, limit)
    details = _details(tx, [b[1] for b in best], lang)
    hits = []
    for entry_id, pid, kind, ref, score, original in best:
        hit = details[pid] | {
            "kind": kind,
            "ref": ref,
            "snippet": snippet(original, wanted),
            "score": -float(score),
            "entry": entry_id,
        }
        hits.append(hit)
    return hits


def _best_entries(tx: Tx, text: str, wanted: list[str], where: _Where, limit: int
                  ) -> list[tuple[Any, ...]]:  # fmt: skip
    """The best entry of each of the ``limit`` best proposals: ranked entries are read in
    growing batches until ``limit`` proposals are found or the matches run out."""
    source, score, params = _match_params(tx, text, wanted)
    if tx.dialect == "sqlite" and not where.sql:
        return _best_unfiltered(tx, params, limit)
    joins = ""
    if where.sql:
        joins = "JOIN proposal p ON p.id = e.proposal_id " + (
            _STANDING if where.needs_meeting else ""
        )
    source = source.replace(" WHERE ", f" {joins}WHERE ", 1) if joins else source
    filters = "".join(f" AND {s}" for s in where.sql)
    sql = (
        f"SELECT e.id, e.proposal_id, e.kind, e.ref, {score} AS score, e.text {source}{filters} "
        "ORDER BY score, e.id LIMIT ?"
    )
    batch = limit * 4 + 16
    while True:
        rows = tx.all(sql, [*params, *where.params, batch])
        best: dict[str, tuple[Any, ...]] = {}
        for row in rows:
            best.setdefault(str(row[1]), row)
        if len(best) >= limit or len(rows) < batch:
            return list(best.values())[:limit]
        batch *= 4


# The index ranks (bm25), then the best entries' rows are read and weighted by kind: a
# join and the texts for every match before the ranking would cost more than the ranking.
_RANKED = (
    "SELECT rowid AS id, bm25(search_fts) AS rank FROM search_fts WHERE search_fts MATCH ? "
    "ORDER BY rank LIMIT ?"
)
PRE_RANKED = 2  # entries ranked by bm25 alone per entry kept after weighting by kind


def _best_unfiltered(tx: Tx, params: list[Any], limit: int) -> list[tuple[Any, ...]]:
    """:func:`_best_entries` without filters, on SQLite: the best ``PRE_RANKED`` x batch
    entries by bm25, weighted by kind (a title counts more), in growing batches."""
    batch = limit * 2 + 16
    while True:
        ranked = batch * PRE_RANKED
        rows = tx.all(
            f"SELECT e.id, e.proposal_id, e.kind, e.ref, best.rank * {_WEIGHT} AS score "
            f"FROM ({_RANKED}) best JOIN search_entry e ON e.id = best.id ORDER BY score, e.id",
            [*params, ranked],
        )
        best: dict[str, tuple[Any, ...]] = {}
        for row in rows:
            best.setdefault(str(row[1]), row)
        if len(best) >= limit or len(rows) < ranked:
            chosen = list(best.values())[:limit]
            marks = ", ".join("?" for _ in chosen)
            texts = (
                dict(
                    tx.all(
                        f"SELECT id, text FROM search_entry WHERE id IN ({marks})",
                        [r[0] for r in chosen],
                    )  # fmt: skip
                )
                if chosen
                else {}
            )
            return [(*r, texts.get(r[0], "")) for r in chosen]
        batch *= 4


def decisions(
    session: AnySession,
    *,
    party: str | None = None,
    body: str | None = None,
    focus_point: str | None = None,
    outcome: str | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
    limit: int = 50,
    lang: str | None = None,
) -> list[dict[str, Any]]:
    """The standing decision (latest version not retracted) of each decided proposal,
    across meetings, newest meeting first; information items are noted, not decided."""
    tx = Tx(session)
    limit = _limit(limit)
    where = _filters(tx, party=party, body=body, focus_point=focus_point, outcome=outcome,
                     since=since, until=until, outcome_sql="d.outcome")  # fmt: skip
    rows = tx.all(
        "SELECT p.id FROM decision d JOIN proposal p ON p.id = d.proposal_id "
        "JOIN meeting m ON m.id = d.meeting_id WHERE d.retracted_at IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM decision y WHERE y.proposal_id = d.proposal_id AND "
        "y.retracted_at IS NULL AND y.version > d.version)"
        + "".join(f" AND {s}" for s in where.sql)
        + " ORDER BY m.starts_at DESC, d.recorded_at DESC, p.id DESC LIMIT ?",
        [*where.params, limit],
    )
    pids = [str(r[0]) for r in rows]
    details = _details(tx, pids, lang)
    return [details[pid] for pid in pids]


def _details(tx: Tx, pids: Sequence[str], lang: str | None) -> dict[str, dict[str, Any]]:
    """What a hit or a listed decision shows of each proposal."""
    if not pids:
        return {}
    marks = ", ".join("?" for _ in pids)
    rows = tx.all(
        "SELECT p.id, p.title, p.purpose, p.state, p.workflow_digest, p.focus_point, "
        f"p.table_id, d.version, {_OUTCOME}, d.text, d.confirmed_at, d.override_reason, "
        "m.id, m.body_id, m.starts_at, b.name "
        f"FROM proposal p {_STANDING} LEFT JOIN body b ON b.id = COALESCE(m.body_id, p.table_id) "
        f"WHERE p.id IN ({marks})",
        list(pids),
    )
    spoke = deciders_of(tx, [(str(r[0]), str(r[12])) for r in rows if r[7] is not None])
    out = {}
    for r in rows:
        pid, wf = str(r[0]), repo.workflow_for(tx, r[4]).workflow
        decided = r[8] is not None
        item: dict[str, Any] = {
            "id": pid,
            "title": r[1],
            "purpose": r[2],
            "state": r[3],
            "focus_point": r[5],
            "body": r[13] or r[6],
            "body_name": r[15],
            "meeting": r[12],
            "meeting_starts_at": _local(r[14]),
            "decided": decided,
            "outcome": r[8],
            "version": r[7],
            "decision_text": r[9],
            "confirmed": r[10] is not None,
            "confirmed_at": _local(r[10]),
            "override": r[11],
            "decided_by": spoke.get(pid, []),
        }
        if lang:
            lg = labels.language(lang)
            item["outcome_label"] = labels.outcome(wf, r[8], lg) if decided else None
            item["state_label"] = labels.state(wf, r[3], lg)
            item["purpose_label"] = labels.purpose(wf, lg)
            for party in item["decided_by"]:
                for voice in party["by"]:
                    voice["as_label"] = (
                        _PRIOR[lg]
                        if voice["as"] == "prior_position"
                        else (labels.attendance(voice["as"], lg))
                    )
        out[pid] = item
    return out


def _local(value: Any) -> str | None:
    at = as_datetime(value)
    return to_local(at).isoformat(timespec="minutes") if at else None


def deciders(tx: Tx, proposal_id: str, meeting_id: str) -> list[dict[str, Any]]:
    """Who spoke for each concerned party at the deciding meeting: a person with a mandate
    for the party in the body on the meeting day who was present, or stood in as a
    registered substitute, or gave a prior position with a stance. A party nobody spoke
    for has ``by == []`` (decided with the coordinator's override)."""
    return deciders_of(tx, [(proposal_id, meeting_id)]).get(proposal_id, [])


def deciders_of(tx: Tx, decided: Sequence[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """:func:`deciders` of many (proposal, deciding meeting) pairs, read in four queries."""
    if not decided:
        return {}
    pids = sorted({p for p, _m in decided})
    mids = sorted({m for _p, m in decided})
    pmarks, mmarks = ", ".join("?" for _ in pids), ", ".join("?" for _ in mids)
    meetings = {
        str(mid): (str(body), as_datetime(starts))
        for mid, body, starts in tx.all(
            f"SELECT id, body_id, starts_at FROM meeting WHERE id IN ({mmarks})", mids
        )
    }
    parties: dict[str, list[tuple[str, str]]] = {}
    for pid, party, name in tx.all(
        "SELECT pp.proposal_id, pp.party_id, pa.name FROM proposal_party pp JOIN party pa "
        f"ON pa.id = pp.party_id WHERE pp.proposal_id IN ({pmarks}) ORDER BY pp.party_id",
        pids,
    ):
        parties.setdefault(str(pid), []).append((str(party), str(name)))
    attended: dict[str, list[tuple[Any, ...]]] = {}
    for mid, *row in tx.all(
        "SELECT a.meeting_id, a.person_id, pe.name, a.party_id, a.status, a.substitute_for "
        "FROM attendance a JOIN person pe ON pe.id = a.person_id "
        f"WHERE a.meeting_id IN ({mmarks}) ORDER BY a.person_id",
        mids,
    ):
        attended.setdefault(str(mid), []).append(tuple(row))
    positions: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for pid, mid, *row in tx.all(
        "SELECT pp.proposal_id, pp.meeting_id, pp.party_id, pp.person_id, pe.name, pp.stance "
        "FROM prior_position pp JOIN person pe ON pe.id = pp.person_id "
        f"WHERE pp.proposal_id IN ({pmarks})",
        pids,
    ):
        positions.setdefault((str(pid), str(mid)), []).append(tuple(row))
    out: dict[str, list[dict[str, Any]]] = {}
    for pid, mid in decided:
        if mid not in meetings or meetings[mid][1] is None:
            out[pid] = []
            continue
        body, starts = meetings[mid]
        assert starts is not None
        out[pid] = _spoke(tx, body, to_local(starts).date(), parties.get(pid, []),
                          attended.get(mid, []), positions.get((pid, mid), []))  # fmt: skip
    return out


def _spoke(
    tx: Tx,
    body: str,
    day: date,
    parties: list[tuple[str, str]],
    attended: list[tuple[Any, ...]],
    positions: list[tuple[Any, ...]],
) -> list[dict[str, Any]]:
    out = []
    for party, party_name in parties:
        by: list[dict[str, Any]] = []
        for person, name, for_party, status, sub_for in attended:
            if for_party != party or status not in COVERING:
                continue
            if status == "substitute" and not is_registered_substitute(tx, person, party, body):
                continue
            if mandate_gap(tx, person, party, body, day, "attended") is None:
                by.append({"person": person, "person_name": name, "as": status,
                           "substitute_for": sub_for, "stance": None})  # fmt: skip
        for for_party, person, name, stance in positions:
            if (
                for_party == party
                and stance in STANCES
                and not mandate_gap(tx, person, party, body, day, "gave the prior position")
            ):
                by.append({"person": person, "person_name": name, "as": "prior_position",
                           "substitute_for": None, "stance": stance})  # fmt: skip
        out.append({"party": party, "party_name": party_name, "by": by})
    return out


_WORD_SPAN = re.compile(r"[^\W_]+", re.UNICODE)


def snippet(text: str, wanted: Sequence[str], *, before: int = 8, after: int = 16) -> str:
    """A few words of ``text`` around the first word whose stem is wanted (else its start),
    on one line, with an ellipsis where it was cut."""
    spans = [(m.start(), m.end(), m.group()) for m in _WORD_SPAN.finditer(text)]
    if not spans:
        return ""
    goal = set(wanted)
    at = next((i for i, (_, _, w) in enumerate(spans) if stem(fold(w)) in goal), 0)
    first, last = max(0, at - before), min(len(spans), at + after)
    start = 0 if first == 0 else spans[first][0]
    end = len(text) if last == len(spans) else spans[last - 1][1]
    shown = " ".join(text[start:end].split())
    return ("… " if start else "") + shown + (" …" if end < len(text) else "")
