"""Dossiers: the proof of what the audit trail says about some proposals, to hand over.

A dossier holds, per proposal, its facts (title, route, state, the decision versions with
their outcome, text and confirmation) and ALL its audit events, each with the exact content
its hash covers, its hash and the previous event's hash; and the head of the whole chain at
export time (and the anchor of that head, when the key is available). The JSON form is the
canonical one: :mod:`regie.dispute.dossier_check` checks it (``regie audit check-dossier``),
and docs/AUDIT.md describes it so that anyone can check it without regie. CSV (one row per
event, the head in leading ``#`` lines) and a printable HTML page are for reading.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regie import labels
from regie.clock import to_utc_naive
from regie.dispute.dossier_check import DossierCheck, check
from regie.dispute.dossier_format import EVENT_COLUMNS, FORMAT, event_record, hashed_text
from regie.dispute.dossier_html import page
from regie.engine import audit
from regie.engine import repository as repo
from regie.engine.storage import AnySession, Tx, as_datetime
from regie.errors import RegieError, UsageError
from regie.private_files import create_file
from regie.text_input import UNSAFE_IN_LINES

__all__ = [
    "Dossier", "DossierCheck", "check", "export", "export_search", "hashed_text", "write_file",
]  # fmt: skip

FORMATS = ("json", "csv", "html")
CSV_COLUMNS = (
    "id", "at", "actor", "acting_for", "action", "proposal", "meeting", "payload", "os_user",
    "host", "prev_hash", "hash", "mac", "key_id",
)  # fmt: skip


@dataclass(frozen=True)
class Dossier:
    data: dict[str, Any]  # the JSON layout (docs/AUDIT.md)
    lang: str

    @property
    def head(self) -> dict[str, Any]:
        return dict(self.data["head"])

    def render(self, form: str) -> str:
        if form == "json":
            return to_json(self)
        if form == "csv":
            return to_csv(self)
        if form == "html":
            return page(self.data, self.lang)
        raise UsageError(f"unknown dossier format {form!r}; use one of: {', '.join(FORMATS)}")


# -- export -------------------------------------------------------------------------------------


def export(
    session: AnySession,
    proposal_ids: list[str],
    *,
    title: str,
    lang: str | None,
    now: datetime | None = None,
    search: str | None = None,
) -> Dossier:
    """The dossier of ``proposal_ids`` (each must exist), read in one transaction: the head
    first, then each proposal's facts and its events up to that head."""
    lang = labels.language(lang)
    ids = list(dict.fromkeys(p.strip() for p in proposal_ids if p.strip()))
    if not ids:
        raise UsageError(
            "name at least one proposal to export, e.g. 'regie audit export P-2026-001'"
        )
    tx = Tx(session)
    head = _head(tx)
    proposals, events = [], {}
    for pid in ids:
        facts, own = _proposal(tx, pid, head["id"], lang)
        proposals.append(facts)
        events.update({e["id"]: e for e in own})
    exported = to_utc_naive(now) if now is not None else datetime.now(UTC).replace(tzinfo=None)
    data = {
        "format": FORMAT,
        "title": title,
        "lang": lang,
        "exported_at": audit._stamp(exported),
        "search": search,
        "head": head,
        "anchor": _anchor_text(session),
        "proposals": proposals,
        "events": [events[i] for i in sorted(events)],
    }
    return Dossier(data, lang)


def export_search(
    session: AnySession, text: str, *, title: str, lang: str | None, now: datetime | None = None
) -> Dossier:
    """The dossier of the proposals a search finds (``regie.dispute.search``)."""
    ids = proposals_found(session, text)
    if not ids:
        raise UsageError(f"the search {text!r} finds no proposal; nothing to export")
    return export(session, ids, title=title, lang=lang, now=now, search=text)


def proposals_found(session: AnySession, text: str) -> list[str]:
    """The ids of the proposals a search finds, in its order (one hit per proposal)."""
    from regie.dispute import search as searching

    return [str(hit["id"]) for hit in searching.search(session, text)]


def _head(tx: Tx) -> dict[str, Any]:
    row = tx.one("SELECT id, hash, at FROM audit_event ORDER BY id DESC LIMIT 1")
    if row is None:
        return {"id": 0, "hash": audit.GENESIS, "at": None}
    at = as_datetime(row[2])
    return {"id": int(row[0]), "hash": str(row[1]), "at": audit._stamp(at) if at else None}


def _anchor_text(session: AnySession) -> str | None:
    from regie.engine import anchor

    try:
        return anchor.make(session).text
    except RegieError:  # no key here: the head alone
        return None


def _proposal(
    tx: Tx, pid: str, head: int, lang: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    p = repo.load_proposal(tx, pid)
    wf = repo.workflow_for(tx, p.workflow_digest).workflow
    row = tx.one(
        "SELECT summary, focus_point, submitted_by, submitted_at FROM proposal WHERE id = ?",
        (pid,),
    )
    assert row is not None
    rows = tx.all(
        f"SELECT {EVENT_COLUMNS} FROM audit_event WHERE proposal_id = ? AND id <= ? ORDER BY id",
        (pid, head),
    )
    events = [event_record(r) for r in rows]
    decisions = _decisions(tx, pid, events, wf, lang)
    facts = {
        "id": p.id,
        "title": p.title,
        "summary": row[0],
        "purpose": p.purpose,
        "purpose_label": labels.purpose(wf, lang),
        "table": p.table_id,
        "parties": repo.concerned_parties(tx, pid),
        "focus_point": row[1],
        "route": p.route,
        "route_label": labels.route(wf, p.route, lang),
        "stage": p.stage,
        "state": p.state,
        "state_label": labels.state(wf, p.state, lang),
        "meeting": p.meeting_id,
        "submitted_by": row[2],
        "submitted_at": _utc(row[3]),
        "decisions": decisions,
        "events": [e["id"] for e in events],
    }
    return facts, events


def _decisions(
    tx: Tx, pid: str, events: list[dict[str, Any]], wf: Any, lang: str
) -> list[dict[str, Any]]:
    recorded: dict[int, int] = {}  # version -> the event that recorded it
    for e in events:
        if e["content"]["action"] in ("decided", "amended"):
            version = json.loads(e["content"]["payload"]).get("version")
            if isinstance(version, int):
                recorded[version] = e["id"]
    rows = tx.all(
        "SELECT version, meeting_id, outcome, text, override_reason, recorded_by, recorded_at, "
        "confirmed_by, confirmed_at, retracted_at FROM decision WHERE proposal_id = ? "
        "ORDER BY version",
        (pid,),
    )
    return [
        {
            "version": int(r[0]),
            "meeting": r[1],
            "outcome": r[2],
            "outcome_label": labels.outcome(wf, r[2], lang),
            "text": r[3],
            "override": r[4],
            "recorded_by": r[5],
            "recorded_at": _utc(r[6]),
            "confirmed_by": r[7],
            "confirmed_at": _utc(r[8]),
            "retracted_at": _utc(r[9]),
            "event": recorded.get(int(r[0])),
        }
        for r in rows
    ]


def _utc(value: Any) -> str | None:
    at = as_datetime(value)
    return at.isoformat(timespec="seconds") + "Z" if at else None


# -- writers -----------------------------------------------------------------------------------


def to_json(d: Dossier) -> str:
    """The canonical form. Characters a terminal acts on are written as \\u escapes (JSON
    readers read back the same text, so every hash still recomputes)."""
    text = json.dumps(d.data, indent=2, ensure_ascii=False)
    return UNSAFE_IN_LINES.sub(lambda found: f"\\u{ord(found.group()):04x}", text) + "\n"


def to_csv(d: Dossier) -> str:
    """One row per event (the hashed content in columns, ``payload`` as its canonical JSON
    text); the dossier, its head and anchor first, in lines that start with ``#``."""
    out = io.StringIO()
    head = d.data["head"]
    out.write(f"# {FORMAT}: {_one_line(d.data['title'])}\n")
    out.write(f"# proposals: {' '.join(p['id'] for p in d.data['proposals'])}\n")
    out.write(f"# head: id={head['id']} hash={head['hash']} at={head['at']}\n")
    out.write(f"# anchor: {d.data['anchor'] or '-'}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in d.data["events"]:
        c = e["content"]
        writer.writerow(
            [e["id"], c["at"], c["actor"], c["acting_for"], c["action"], c["proposal"],
             c["meeting"], c["payload"], c.get("os_user"), c.get("host"), e["prev_hash"],
             e["hash"], e["mac"], e["key_id"]]
        )  # fmt: skip
    return UNSAFE_IN_LINES.sub(lambda found: f"\\u{ord(found.group()):04x}", out.getvalue())


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- files -------------------------------------------------------------------------------------


def write_file(path: str | os.PathLike[str], text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` (0600); an existing file is replaced only with ``force``
    (written next to it first, then moved over it: never half a dossier)."""
    dest = Path(path)
    if os.path.lexists(dest) and not force:
        raise UsageError(
            f"{dest} exists already; choose another file or pass --force to replace it"
        )
    if dest.is_dir():
        raise UsageError(f"{dest} is a folder; give a file name, e.g. {dest / 'dossier.json'}")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        fd = create_file(partial)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(partial, dest)
    except OSError as exc:
        if os.path.lexists(partial):
            partial.unlink()
        raise UsageError(f"cannot write the dossier to {dest}: {exc.strerror or exc}") from None
    return dest
