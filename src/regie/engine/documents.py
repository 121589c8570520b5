"""A proposal's documents and the chair's exceptions to a document deadline (issue 18,
rule 1), kept in the audit trail like the agendas (:mod:`agenda_history`): no second
table to keep in step.

``document_added`` records one document for the meeting the proposal is on: a link
(http or https) or a file, recorded by name, size and SHA-256 (the file itself is not
copied: it goes round by mail or the region's shared drive). ``deadline_exception``
records that the chair of a meeting's body let an item stay on that meeting without its
documents by the deadline. The scheduler's documents rule (:mod:`regie.scheduler.documents`)
reads both. Links given with ``regie submit --doc`` count as documents for the meeting
the proposal was first placed on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from regie import text_input
from regie.clock import Clock, to_local
from regie.engine import repository as repo
from regie.engine import roles
from regie.engine.changes import Change, begin
from regie.engine.machine import CLOSED_STATES
from regie.engine.storage import AnySession, Tx, as_datetime
from regie.errors import NotAllowed, UsageError

DOCUMENT_ADDED = "document_added"
DEADLINE_EXCEPTION = "deadline_exception"


@dataclass(frozen=True)
class Document:
    event_id: int
    proposal_id: str
    meeting_id: str | None
    at: datetime  # naive UTC
    actor: str
    url: str  # "" for a file
    file: dict[str, Any]  # {"name", "size", "sha256"}; {} for a link
    title: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event_id,
            "proposal": self.proposal_id,
            "meeting": self.meeting_id,
            "at": to_local(self.at).isoformat(),
            "by": self.actor,
            "url": self.url or None,
            "file": self.file or None,
            "title": self.title,
        }


@dataclass(frozen=True)
class Exception_:
    event_id: int
    proposal_id: str
    meeting_id: str
    actor: str
    reason: str


def _url(value: str) -> str:
    url = text_input.line(value, "the link (--url)", required=True, limit=text_input.LINK_MAX)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"the link (--url) {url!r} is not a web address; give one that starts with "
            "https:// or http://, e.g. https://example.org/stukken/voorstel.pdf"
        )
    return url


def _file(value: str) -> dict[str, Any]:
    path = Path(value)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise UsageError(f"the file (--file) {value!r} {what}; give the path of one document")
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise UsageError(
            f"the file (--file) {value!r} cannot be read ({exc.strerror}); check its permissions"
        ) from None
    name = text_input.line(path.name, "the file name (--file)", required=True)
    return {"name": name, "size": size, "sha256": digest.hexdigest()}


def _leads(ch: Change, proposal_id: str) -> list[str]:
    row = ch.tx.one("SELECT admin_lead, official_lead FROM proposal WHERE id = ?", (proposal_id,))
    return [lead for lead in (row or ()) if lead]


def add_document(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    url: str | None = None,
    file: str | None = None,
    title: str = "",
) -> Document:
    """Record one document (a link or a file) for the meeting the proposal is on. Its
    leads, the chair of its table or the coordinator may."""
    if (url is None) == (file is None):
        raise UsageError("give one document: either --url URL or --file PATH")
    link = _url(url) if url is not None else ""
    described = _file(file) if file is not None else {}
    title = text_input.line(title, "the title (--title)", limit=text_input.TITLE_MAX)
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    if p.state in CLOSED_STATES or p.meeting_id is None:
        raise UsageError(
            f"{p.id} is {p.state} and on no meeting; documents are recorded for a coming "
            "meeting of an open proposal"
        )
    chair = ch.facts.bodies[p.table_id].chair if p.table_id in ch.facts.bodies else None
    if not (ch.is_coordinator or ch.actor.id == chair or ch.actor.id in _leads(ch, p.id)):
        raise NotAllowed(
            ch.actor.id,
            f"add documents to {p.id}",
            f"only its leads, the chair of '{p.table_id}' or the network coordinator may",
        )
    payload: dict[str, Any] = {"title": title}
    payload |= {"url": link} if link else {"file": described}
    ev = ch.record(DOCUMENT_ADDED, proposal_id=p.id, meeting_id=p.meeting_id, payload=payload)
    ch.commit()
    return Document(ev.id, p.id, p.meeting_id, ch.now, ch.actor.id, link, described, title)


def grant_exception(
    *,
    session: AnySession,
    clock: Clock,
    actor: str | None,
    proposal_id: str,
    meeting_id: str,
    reason: str,
) -> Exception_:
    """The chair of the meeting's body (or the coordinator) lets the proposal stay on that
    meeting without documents by the deadline: the scheduler does not defer it."""
    reason = text_input.line(reason, "the reason (--reason)", required=True)
    ch = begin(session, clock, actor)
    p = repo.load_proposal(ch.tx, proposal_id)
    meeting = repo.load_meeting(ch.tx, meeting_id)
    roles.require_chair_or_coordinator(
        ch, meeting.body_id, f"grant {p.id} an exception to the document deadline"
    )
    if p.meeting_id != meeting.id:
        where = f"on meeting {p.meeting_id}" if p.meeting_id else "on no meeting"
        raise UsageError(
            f"{p.id} is {where}, not on {meeting.id}; give the meeting it is on (see "
            f"'regie show {p.id}')"
        )
    ev = ch.record(
        DEADLINE_EXCEPTION, proposal_id=p.id, meeting_id=meeting.id, payload={"reason": reason}
    )
    ch.commit()
    return Exception_(ev.id, p.id, meeting.id, ch.actor.id, reason)


def documents_for(tx: Tx, proposal_id: str, meeting_id: str | None = None) -> list[Document]:
    """The documents recorded for the proposal (for one meeting), oldest first; links given
    at submission count for the meeting it was first placed on."""
    rows = tx.all(
        "SELECT id, meeting_id, at, actor, action, payload FROM audit_event "
        "WHERE proposal_id = ? AND action IN (?, ?) ORDER BY id",
        (proposal_id, DOCUMENT_ADDED, "submitted"),
    )
    found = []
    for ev_id, mid, at, actor, action, text in rows:
        if meeting_id is not None and mid != meeting_id:
            continue
        payload = json.loads(text)
        when = as_datetime(at)
        assert when is not None
        if action == "submitted":
            found += [
                Document(int(ev_id), proposal_id, mid, when, actor, str(u), {}, "")
                for u in payload.get("documents") or []
            ]
        else:
            found.append(
                Document(int(ev_id), proposal_id, mid, when, actor, str(payload.get("url", "")),
                         dict(payload.get("file") or {}), str(payload.get("title", "")))
            )  # fmt: skip
    return found


def covered(
    tx: Tx, pairs: Sequence[tuple[str, str]]
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Of (proposal, meeting) pairs: those with a document for that meeting, and those
    with a deadline exception for it. One query per 400 proposals."""
    with_documents: set[tuple[str, str]] = set()
    excepted: set[tuple[str, str]] = set()
    ids = sorted({pid for pid, _ in pairs})
    rows = tx.all_in(
        "SELECT proposal_id, meeting_id, action, payload FROM audit_event WHERE proposal_id "
        "IN ({marks}) AND action IN (?, ?, ?)",
        ids,
        (DOCUMENT_ADDED, DEADLINE_EXCEPTION, "submitted"),
    )
    for pid, mid, action, text in rows:
        if action == DEADLINE_EXCEPTION:
            excepted.add((pid, mid))
        elif action == DOCUMENT_ADDED or json.loads(text).get("documents"):
            with_documents.add((pid, mid))
    return with_documents, excepted


def list_documents(*, session: AnySession, proposal_id: str) -> list[Document]:
    """Every document recorded for the proposal (a read service for ``regie docs list``)."""
    tx = Tx(session)
    repo.load_proposal(tx, proposal_id)  # NotFound for an unknown id
    return documents_for(tx, proposal_id)
