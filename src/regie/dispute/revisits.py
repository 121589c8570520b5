"""Does a new proposal revisit an earlier decision? (issue 19: "we already decided this").

What counts as an earlier decision: a *final* one, i.e. a proposal in state ``decided``
whose latest decision version is confirmed and not retracted. An information item that
was only noted is left out: it records no decision (no text, no mandate), so there is
nothing to reopen; a withdrawn proposal was never decided.

How similar two proposals are (and why):

* Texts become Snowball Dutch stems (:mod:`regie.dispute.stems`), so "besluit" and
  "besluiten", "wachtlijst" and "wachtlijsten" meet. Numbers are left out (a changed year
  or amount is the same subject once more), and the words of the region's party ids (the
  municipalities: "Ede", "Wageningen") weigh a quarter: a proposal for another
  municipality on the same subject is still a revisit.
* Each stem is weighted TF-IDF: in the title twice, in the summary and the decision text
  once (sublinear: 1 + log tf), times log((N + 1) / (df + 1)) + 1 over the N final
  decisions; a stem every decision has says little, a rare one much.
* The score is the cosine of the two weight vectors, and 0 when they share fewer than
  two stems (one word in common, "voorstel", is not a subject in common). Dutch glues
  words into compounds ("jeugdhulpverlener", "onderwijszorgarrangement"): a stem of one
  text that is part of a longer stem of the other (at least five letters) counts half,
  so "jeugdhulp" meets "jeugdhulpverlener".
* Similar is a score of at least :data:`THRESHOLD` and at least :data:`RELATIVE` times the
  best score: next to a close match, a much weaker one is the neighbouring subject (the
  evaluation of an arrangement next to the arrangement), not a second decision the
  proposal reopens. Both were chosen on the test set ``tests/data/similar_proposals.toml``
  (the quality test reports its recall and precision). On it the lowest score of a true
  revisit is 0.367 and the highest of an unrelated decision 0.348 (a thin margin, said
  so); three neighbouring subjects score 0.41–0.49, within 0.7 of the best, and are
  shown too.

So that a submit need not compare with every decision, each final decision has a stemmed
document in the decisions index (``search_decision``: its title twice, summary and
standing text; :mod:`regie.dispute.index` keeps it with every decision, confirmation,
amendment and retraction). How many index entries hold each of the new proposal's stems
is read from ``search_stem``; of its :data:`RAREST` rarest informative stems (not a
place, at least :data:`MIN_TERM` letters) every pair is asked as one query ("a and b, or a
and c, or …": FTS5 and bm25 on SQLite, a GIN index and ts_rank on PostgreSQL), since a
subject in common is at least two words in common (:data:`RAREST_WIDE` of them when that
finds fewer than :data:`MIN_CANDIDATES`); the best :data:`CANDIDATES` are scored in
Python from their documents. For their other stems the document frequency is estimated
from the candidates. ``bench/audit.py`` measures how often this finds what scoring many
more candidates finds.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from regie import text_input
from regie.clock import to_local
from regie.dispute import index
from regie.dispute.stems import stems
from regie.engine.storage import AnySession, Tx, as_datetime
from regie.errors import NotFound, RegieError, UsageError

THRESHOLD = 0.36  # a cosine at or above it is "similar" (chosen on the quality test set)
# a decision scoring below this share of the best one is its neighbouring subject, not a
# second decision the proposal revisits (chosen on the quality test set too)
RELATIVE = 0.7
RAREST = 4  # the new proposal's rarest informative stems whose pairs are asked for
RAREST_WIDE = 6  # as many when those find fewer than MIN_CANDIDATES proposals
MIN_CANDIDATES = 10
MIN_TERM = 3  # a shorter stem is not asked for
CANDIDATES = 100  # best-ranked final decisions scored per call
TITLE_WEIGHT = float(index.TITLE_REPEAT)  # as the decisions' documents count their titles
PLACE_WEIGHT = 0.25
COMPOUND_CREDIT = 0.5
MIN_COMPOUND_PART = 5
MIN_SHARED = 2  # one word in common is not yet a subject in common

_NUMBER = re.compile(r"\d")


@dataclass(frozen=True)
class Similar:
    """An earlier final decision like the new proposal."""

    id: str
    date: datetime | None  # start of the meeting that decided it (naive UTC)
    body: str
    outcome: str
    decision: str  # the first line of the decision text
    title: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "date": self.date.isoformat() if self.date else None,
            "body": self.body,
            "outcome": self.outcome,
            "decision": self.decision,
            "title": self.title,
            "score": round(self.score, 3),
        }


class SimilarDecisionsFound(RegieError):
    """A new proposal is like earlier final decisions and the coordinator has not said
    whether it reopens one of them (nothing is stored)."""

    def __init__(self, title: str, found: list[Similar], names: dict[str, str]) -> None:
        self.found = found
        listed = "; ".join(
            f"{s.id} ({to_local(s.date).date().isoformat() if s.date else '?'}, "
            f"{names.get(s.body, s.body)}, "
            f'{s.outcome}: "{_shorten(s.decision or s.title)}")'
            for s in found
        )
        super().__init__(
            f"'{_shorten(title)}' is like earlier decisions: {listed}; nothing was submitted. "
            'If it reopens one of them, submit again with --revisits P-… --reason "why '
            'again"; if it is a new subject, submit again with --not-related'
        )


@dataclass(frozen=True)
class RevisitChoice:
    """What the coordinator said at submission: the decision reopened (with the reason),
    or that the similar decisions shown are not related."""

    earlier: str | None = None
    reason: str = ""
    earlier_title: str = ""
    not_related: tuple[str, ...] = ()

    def payload(self) -> dict[str, Any]:
        """For the ``submitted`` audit event."""
        if self.earlier:
            revisits = {"proposal": self.earlier, "title": self.earlier_title}
            return {"revisits": {**revisits, "reason": self.reason}}
        if self.not_related:
            return {"not_related": list(self.not_related)}
        return {}


def choose(
    tx: Tx,
    *,
    title: str,
    summary: str,
    focus_point: str | None,
    revisits: str | None,
    reason: str | None,
    not_related: bool,
) -> RevisitChoice:
    """Check the coordinator's answer before anything is stored: ``--revisits`` names a
    final decision (with a reason), ``--not-related`` records the similar ones shown;
    without either, similar decisions stop the submission."""
    if revisits and not_related:
        raise UsageError(
            "--revisits and --not-related exclude each other: the proposal either reopens "
            "an earlier decision or is a new subject; give one of them"
        )
    if revisits:
        earlier = tx.one("SELECT title FROM proposal WHERE id = ?", (revisits,))
        if earlier is None:
            raise NotFound("proposal", revisits, "--revisits names an earlier decided proposal")
        if not is_final_decision(tx, revisits):
            raise UsageError(
                f"{revisits} is not a final decision (decided and confirmed), so there is "
                "nothing to reopen; leave out --revisits, or name the decided proposal"
            )
        why = text_input.line(reason or "", "the reason (--reason)", required=True)
        return RevisitChoice(earlier=revisits, reason=why, earlier_title=str(earlier[0]))
    if reason:
        raise UsageError("--reason goes with --revisits P-…: the reason to reopen a decision")
    found = similar_decisions(tx, title, summary, focus_point=focus_point)
    if found and not not_related:
        names = {str(b): str(n) for b, n in tx.all("SELECT id, name FROM body")}
        raise SimilarDecisionsFound(title, found, names)
    return RevisitChoice(not_related=tuple(s.id for s in found))


def record(tx: Tx, proposal_id: str, choice: RevisitChoice, now: datetime) -> None:
    """The link of a proposal to the decision it reopens (table ``revisit``)."""
    if choice.earlier:
        tx.execute(
            "INSERT INTO revisit (proposal_id, earlier_id, reason, recorded_at) "
            "VALUES (?, ?, ?, ?)",
            (proposal_id, choice.earlier, choice.reason, now),
        )


def links(tx: Tx, proposal_id: str) -> dict[str, list[dict[str, str]]]:
    """The decisions this proposal reopens and the proposals that reopen it."""
    reopens = tx.all(
        "SELECT r.earlier_id, r.reason, p.title FROM revisit r "
        "JOIN proposal p ON p.id = r.earlier_id WHERE r.proposal_id = ? ORDER BY r.earlier_id",
        (proposal_id,),
    )
    reopened = tx.all(
        "SELECT r.proposal_id, r.reason, p.title FROM revisit r "
        "JOIN proposal p ON p.id = r.proposal_id WHERE r.earlier_id = ? ORDER BY r.proposal_id",
        (proposal_id,),
    )
    return {
        "reopens": [{"proposal": a, "reason": b, "title": c} for a, b, c in reopens],
        "reopened_by": [{"proposal": a, "reason": b, "title": c} for a, b, c in reopened],
    }


def _shorten(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def is_final_decision(tx_or_session: Tx | AnySession, proposal_id: str) -> bool:
    tx = tx_or_session if isinstance(tx_or_session, Tx) else Tx(tx_or_session)
    return tx.one(f"SELECT 1 FROM ({index.FINAL}) f WHERE f.id = ?", (proposal_id,)) is not None


def similar_decisions(
    tx_or_session: Tx | AnySession,
    title: str,
    summary: str,
    *,
    focus_point: str | None = None,
    limit: int = 5,
    threshold: float = THRESHOLD,
) -> list[Similar]:
    """The earlier final decisions most like a proposal with this title and summary, best
    first, those scoring at least ``threshold``. ``focus_point``: decisions on the same
    focus point are preferred among equally good candidates."""
    tx = tx_or_session if isinstance(tx_or_session, Tx) else Tx(tx_or_session)
    places = _place_stems(tx)
    query = _vector_counts(((title, TITLE_WEIGHT), (summary, 1.0)))
    if not query:
        return []
    candidates, df_entries, entries = _candidates(tx, query, places)
    if not candidates:
        return []
    docs = [_doc_counts(stemmed) for _pid, stemmed in candidates]
    # the weights count index entries: a stem's share of them (exact for the new
    # proposal's stems, estimated from the candidates for the others)
    total = max(len(docs), entries)
    df = _document_frequencies(docs, {s: float(n) for s, n in df_entries.items()}, total)
    weigh = _weigher(df, total, places)
    q = weigh(query)
    scored = {}
    for (pid, _stemmed), doc in zip(candidates, docs, strict=True):
        score = _cosine(q, weigh(doc))
        if score >= threshold:
            scored[pid] = score
    best = max(scored.values(), default=0.0)
    kept = sorted(pid for pid, score in scored.items() if score >= RELATIVE * best)
    # by their ids (the primary key), the state checked here: a condition on p.state
    # would make SQLite walk every decided proposal by the state index instead
    rows = tx.all_in(f"{index.CONFIRMED} AND p.id IN ({{marks}})", kept)
    found = [(scored[str(r[0])], r) for r in rows if r[8] == "decided"]
    found.sort(key=lambda item: (-item[0], item[1][3] != focus_point, item[1][0]))
    return [_similar(row, score) for score, row in found[:limit]]


def _doc_counts(stemmed: str) -> dict[str, float]:
    """A final decision's stem counts from its document in the decisions index (its title
    there :data:`~regie.dispute.index.TITLE_REPEAT` times), numbers left out as in
    :func:`_vector_counts`."""
    counts: dict[str, float] = {}
    for stem in stemmed.split():
        if not _NUMBER.search(stem):
            counts[stem] = counts.get(stem, 0.0) + 1.0
    return counts


# -- candidates ---------------------------------------------------------------------------


def _candidates(
    tx: Tx, query: dict[str, float], places: frozenset[str]
) -> tuple[list[tuple[str, str]], dict[str, int], int]:
    """The candidates (proposal id, its document's stems), the document frequency of each
    of the query's stems and the number of index entries they are counted over."""
    total, df = index.entry_count(tx), index.stem_entries(tx, list(query))
    if not total:
        return [], {}, 0
    informative = sorted(
        (s for s in query if s not in places and len(s) >= MIN_TERM and df.get(s, 0) > 0),
        key=lambda s: (df[s], -len(s), s),
    )
    if len(informative) < MIN_SHARED:
        return [], df, total
    found = _ranked_decisions(tx, informative[:RAREST])
    if len(found) < MIN_CANDIDATES and len(informative) > RAREST:
        found = _ranked_decisions(tx, informative[:RAREST_WIDE])
    return found, df, total


def _ranked_decisions(tx: Tx, rarest: list[str]) -> list[tuple[str, str]]:
    """The :data:`CANDIDATES` final decisions whose documents (the decisions index) hold two
    of the ``rarest`` stems (any pair: a subject in common is at least two words in
    common, :data:`MIN_SHARED`), best first: (proposal id, stems). Asking for pairs, not
    for any one stem, keeps the ranking to the few documents that hold both (SQLite: FTS5
    and bm25; PostgreSQL: the GIN index and ts_rank)."""
    pairs = [(a, b) for i, a in enumerate(rarest) for b in rarest[i + 1 :]]
    if tx.dialect == "sqlite":
        match = " OR ".join(f'("{a}" AND "{b}")' for a, b in pairs)
        fts = index.DECISIONS_FTS
        rows = tx.all(  # the best documents first, then their rows
            f"SELECT d.proposal_id, d.stems FROM (SELECT rowid AS id, bm25({fts}) AS rank "
            f"FROM {fts} WHERE {fts} MATCH ? ORDER BY rank LIMIT ?) best "
            "JOIN search_decision d ON d.id = best.id ORDER BY best.rank",
            (match, CANDIDATES),
        )
    else:
        # stems are letters and digits only (``stems`` splits on the rest): safe operands
        query = " | ".join(f"({a} & {b})" for a, b in pairs)
        rows = tx.all(
            "SELECT d.proposal_id, d.stems FROM search_decision d, to_tsquery('simple', ?) q "
            "WHERE to_tsvector('simple', d.stems) @@ q "
            "ORDER BY ts_rank(to_tsvector('simple', d.stems), q) DESC LIMIT ?",
            (query, CANDIDATES),
        )
    return [(str(r[0]), str(r[1])) for r in rows]


def _place_stems(tx: Tx) -> frozenset[str]:
    """Stems of the parties' ids ("ede", "wageningen", "swv-po"): places and organisations,
    which say where, not what."""
    found: set[str] = set()
    for (ident,) in tx.all("SELECT id FROM party"):
        found.update(stems(str(ident).replace("-", " ")))
    return frozenset(found)


# -- weights ------------------------------------------------------------------------------


def _vector_counts(fields: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Each stem's count, a title's stems counting :data:`TITLE_WEIGHT` times."""
    counts: dict[str, float] = {}
    for text, weight in fields:
        for s in stems(text):
            if not _NUMBER.search(s):
                counts[s] = counts.get(s, 0.0) + weight
    return counts


def _document_frequencies(
    docs: list[dict[str, float]], df_query: dict[str, float], total: int
) -> dict[str, float]:
    """Exact counts for the query's looked-for stems; for other stems the share among the
    candidates, scaled to all final decisions."""
    seen: Counter[str] = Counter()
    for doc in docs:
        seen.update(doc.keys())
    scale = total / len(docs)
    df = {s: n * scale for s, n in seen.items()}
    df.update(df_query)
    return df


def _weigher(df: dict[str, float], total: int, places: frozenset[str]) -> Any:
    def weigh(counts: dict[str, float]) -> dict[str, float]:
        out = {}
        for s, tf in counts.items():
            idf = math.log((total + 1) / (df.get(s, 0.0) + 1)) + 1
            w = (1 + math.log(tf)) * idf if tf >= 1 else tf * idf
            out[s] = w * (PLACE_WEIGHT if s in places else 1.0)
        return out

    return weigh


def _cosine(q: dict[str, float], d: dict[str, float]) -> float:
    norm = math.sqrt(sum(w * w for w in q.values())) * math.sqrt(sum(w * w for w in d.values()))
    if not norm:
        return 0.0
    dot, shared = 0.0, 0
    for s, w in q.items():
        if s in d:
            dot, shared = dot + w * d[s], shared + 1
        elif len(s) >= MIN_COMPOUND_PART:
            part = _compound_match(s, d)
            if part:
                dot, shared = dot + COMPOUND_CREDIT * w * d[part], shared + 1
    if shared < MIN_SHARED:
        return 0.0
    return min(1.0, dot / norm)


def _compound_match(stem: str, doc: dict[str, float]) -> str | None:
    """A stem of the other text that contains this one or is contained in it (compounds)."""
    for other in doc:
        if len(other) >= MIN_COMPOUND_PART and (stem in other or other in stem):
            return other
    return None


def _similar(row: tuple[Any, ...], score: float) -> Similar:
    text = str(row[4] or "").strip()
    line = text.splitlines()[0] if text else ""
    return Similar(
        id=str(row[0]),
        date=as_datetime(row[7]),
        body=str(row[6]),
        outcome=str(row[5]),
        decision=line,
        title=str(row[1]),
        score=score,
    )
