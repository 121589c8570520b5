"""Publishing a meeting's agenda, and the news from the top meeting.

The top meeting and who receives its news are the region's (``[structure] top_body`` and
``news_to``; FoodValley: the OOGO, and every municipality's LEA, rule of conduct 5).
Both are audit events recorded through :func:`regie.engine.changes.begin`; the mails
(with the agenda and a calendar invite, or the top meeting's decisions) follow as outbox rows
in the same transaction. The event payload holds what was published, so the audit
trail shows exactly which agenda or which decisions went out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from regie.clock import Clock, to_local
from regie.engine import agenda_history as history
from regie.engine import anchor, roles
from regie.engine import repository as repo
from regie.engine.changes import Change, begin
from regie.engine.ids import order_by_proposal
from regie.engine.repository import MeetingRow
from regie.engine.storage import Tx
from regie.errors import UsageError

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class PublishResult:
    meeting_id: str
    body_id: str
    items: int
    sequence: int
    republished: bool
    event_id: int
    awaiting: int = 0  # top meeting: items left out, awaiting the routing body's approval


@dataclass(frozen=True)
class NewsResult:
    meeting_id: str
    decisions: int
    bodies: int  # how many bodies' members get the news
    event_id: int


def _meeting_payload(meeting: MeetingRow, location: str) -> dict[str, Any]:
    return {
        "starts_at": to_local(meeting.starts_at).isoformat(),
        "ends_at": to_local(meeting.ends_at).isoformat(),
        "location": location,
    }


# on a meeting's agenda: still in one of the workflow's stages (not decided or withdrawn)
_OPEN = "p.state NOT IN ('awaiting_confirmation', 'decided', 'noted', 'withdrawn')"


def agenda_items(ch: Change, meeting_id: str) -> list[dict[str, Any]]:
    """The open items of a meeting: proposal, title, purpose, concerned parties, documents."""
    rows = ch.tx.all(
        "SELECT p.id, p.title, p.purpose, p.stage, p.documents FROM proposal p "
        f"WHERE p.meeting_id = ? AND {_OPEN} ORDER BY p.updated_at, {order_by_proposal('p.id')}",
        (meeting_id,),
    )
    parties: dict[str, list[str]] = {}
    for proposal_id, name in ch.tx.all(
        "SELECT pp.proposal_id, COALESCE(pa.short_name, pa.name) FROM proposal_party pp "
        "JOIN party pa "
        "ON pa.id = pp.party_id JOIN proposal p ON p.id = pp.proposal_id "
        f"WHERE p.meeting_id = ? AND {_OPEN} ORDER BY pa.name",
        (meeting_id,),
    ):
        parties.setdefault(proposal_id, []).append(name)
    return [
        {
            "proposal": r[0],
            "title": r[1],
            "purpose": r[2],
            "stage": r[3],
            "documents": json.loads(r[4] or "[]"),
            "parties": parties.get(r[0], []),
        }
        for r in rows
    ]


def publish_agenda(
    *, session: Session, clock: Clock, actor: str | None, meeting_id: str
) -> PublishResult:
    """Send the agenda of a coming meeting, with a calendar invite, to all its members.

    Publishing again (a changed agenda) raises the meeting's sequence, so calendars
    update the entry they already have. The top meeting's agenda is the one the routing
    body approved (:mod:`regie.engine.agenda_approval`): it is published only after an
    approval, with the items that approval covers.
    """
    ch = begin(session, clock, actor)
    meeting = repo.load_meeting(ch.tx, meeting_id)
    roles.require_chair_or_coordinator(ch, meeting.body_id, f"publish the agenda of {meeting_id}")
    if meeting.status != "scheduled":
        raise UsageError(f"meeting {meeting_id} is {meeting.status}; there is no agenda to publish")
    if meeting.starts_at <= ch.now:
        raise UsageError(
            f"meeting {meeting_id} has already started; publish an agenda before the meeting"
        )
    items = agenda_items(ch, meeting_id)
    awaiting = 0
    if meeting.body_id == ch.facts.roles.top_body:
        approved = _approved_items(ch, meeting_id)
        awaiting = len([i for i in items if i["proposal"] not in approved])
        items = [i for i in items if i["proposal"] in approved]
    result = record_publication(ch, meeting, items, awaiting=awaiting)
    ch.commit()
    return result


def routing_name(ch: Change) -> str:
    """The routing body as people call it (short name, else name), for messages."""
    routing = ch.facts.roles.routing_body
    if routing is None:
        return "the routing body"
    name = ch.tx.scalar("SELECT COALESCE(short_name, name) FROM body WHERE id = ?", (routing,))
    return str(name or routing)


def _approved_items(ch: Change, meeting_id: str) -> set[str]:
    if history.latest_approval(ch.tx, meeting_id) is None:
        raise UsageError(
            f"the agenda of {meeting_id} has not been approved by the {routing_name(ch)}, which "
            f"sets the agenda of the top meeting; approve it first: "
            f"regie agenda approve {meeting_id}"
        )
    return history.approved_items(ch.tx, meeting_id)


def record_publication(
    ch: Change, meeting: MeetingRow, items: list[dict[str, Any]], *, awaiting: int = 0
) -> PublishResult:
    """The ``agenda_published`` event (and its mails) for ``items``, in ``ch``'s
    transaction; a second publication raises the meeting's sequence (a calendar update)."""
    republished = (
        ch.tx.one(
            "SELECT 1 FROM audit_event WHERE action = 'agenda_published' "
            "AND meeting_id = ? LIMIT 1",
            (meeting.id,),
        )
        is not None
    )
    if republished:
        ch.tx.execute("UPDATE meeting SET sequence = sequence + 1 WHERE id = ?", (meeting.id,))
    sequence, location = ch.tx.one(
        "SELECT sequence, location FROM meeting WHERE id = ?", (meeting.id,)
    ) or (0, "")
    ev = ch.record(
        "agenda_published",
        meeting_id=meeting.id,
        payload={
            **_meeting_payload(meeting, location or ""),
            "body": meeting.body_id,
            "sequence": int(sequence),
            "republished": republished,
            "agenda": items,
        },
    )
    return PublishResult(
        meeting.id, meeting.body_id, len(items), int(sequence), republished, ev.id, awaiting
    )


# The standing decisions (``d``) recorded at one meeting (the parameter): the latest
# version of each proposal's, unless retracted (the scheduler's news rule reads them too).
STANDING_AT_MEETING = (
    "d.meeting_id = ? AND d.retracted_at IS NULL AND d.version = (SELECT MAX(v.version) "
    "FROM decision v WHERE v.proposal_id = d.proposal_id)"
)


def meeting_decisions(ch: Change, meeting_id: str) -> list[dict[str, Any]]:
    """The standing (not retracted) latest version of every decision recorded at a meeting,
    with its override (and the parties it covered) and its dissent."""
    rows = ch.tx.all(
        "SELECT d.proposal_id, p.title, d.outcome, d.text, d.version, d.confirmed_at, "
        "d.override_reason, d.dissent FROM decision d JOIN proposal p ON p.id = d.proposal_id "
        f"WHERE {STANDING_AT_MEETING} ORDER BY {order_by_proposal('d.proposal_id')}",
        (meeting_id,),
    )
    names = dict(ch.tx.all("SELECT id, COALESCE(short_name, name) FROM party"))
    out = []
    for r in rows:
        item: dict[str, Any] = {
            "proposal": r[0],
            "title": r[1],
            "outcome": r[2],
            "text": r[3],
            "version": r[4],
            "confirmed": r[5] is not None,
        }
        if r[6]:
            uncovered = _uncovered_at_decision(ch, r[0], r[4])
            item["override"] = {"reason": r[6], "parties": [names.get(u, u) for u in uncovered]}
        dissent = json.loads(r[7]) if r[7] else None
        if dissent:
            parties = [names.get(u, u) for u in dissent.get("parties", [])]
            item["dissent"] = {"parties": parties, "text": dissent.get("text", "")}
        out.append(item)
    return out


def _uncovered_at_decision(ch: Change, proposal_id: str, version: int) -> list[str]:
    """The parties a decision was recorded without (its 'decided' event says; an amendment
    keeps the override of the version it amends)."""
    for (payload,) in ch.tx.all(
        "SELECT payload FROM audit_event WHERE proposal_id = ? AND action = 'decided' "
        "ORDER BY id DESC",
        (proposal_id,),
    ):
        found = json.loads(payload)
        if int(found.get("version", 1)) <= version:
            return [str(u) for u in found.get("uncovered", [])]
    return []


def oogo_news(*, session: Session, clock: Clock, actor: str | None, meeting_id: str) -> NewsResult:
    """After a meeting of the top body: one news mail to every member of the bodies the
    region names in ``[structure] news_to``, with the meeting's confirmed decisions (rule of
    conduct 5: the LEAs put "news from the OOGO" on their agenda), overrides and dissent
    named. Decisions confirmed (or amended and confirmed) after earlier news go out as an
    addendum. The audit action keeps its name ``oogo_news`` whatever the region calls its
    top meeting."""
    ch = begin(session, clock, actor)
    meeting = repo.load_meeting(ch.tx, meeting_id)
    top, news_bodies = ch.facts.roles.top_body, ch.facts.roles.news_bodies
    if top is None or meeting.body_id != top:
        raise UsageError(
            f"meeting {meeting_id} is not a meeting of the top body "
            f"({top or 'none: set [structure] top_body in the region config'}); news goes out "
            f"after its meetings (see 'regie meetings --body {top or 'BODY'}')"
        )
    if not news_bodies:
        raise UsageError(
            "the region names no bodies to receive the news; set [structure] news_to in the "
            "region config (e.g. news_to = [\"lea\"]) and run 'regie init --config FILE'"
        )
    roles.require_chair_or_coordinator(ch, meeting.body_id, f"send the news of {meeting_id}")
    result = record_news(ch, meeting)
    ch.commit()
    return result


def record_news(ch: Change, meeting: MeetingRow) -> NewsResult:
    """The ``oogo_news`` event (and its mails) of a top meeting, in ``ch``'s transaction
    (no commit: :func:`oogo_news` commits, the scheduler's sweep commits its firing): the
    confirmed decisions no earlier news carried. Raises :class:`UsageError` when the
    meeting has not taken place or there is nothing (new) to send."""
    meeting_id = meeting.id
    news_bodies = ch.facts.roles.news_bodies
    if meeting.starts_at > ch.now:
        raise UsageError(
            f"meeting {meeting_id} has not taken place yet; send its news after the meeting"
        )
    recorded = meeting_decisions(ch, meeting_id)
    if not recorded:
        raise UsageError(
            f"no decisions were recorded at {meeting_id}; record them with 'regie decide' first"
        )
    sent = news_sent(ch.tx, meeting_id)
    decisions = [
        d for d in recorded if d["confirmed"] and (d["proposal"], d["version"]) not in sent
    ]
    if not decisions:
        waiting = [d["proposal"] for d in recorded if not d["confirmed"]]
        why = (
            f"{', '.join(waiting)} await{'s' if len(waiting) == 1 else ''} the chair's "
            "confirmation ('regie confirm P --version N'); news carries confirmed decisions"
            if waiting
            else "every confirmed decision of it was in earlier news"
        )
        raise UsageError(f"no news to send for {meeting_id}: {why}")
    location = ch.tx.scalar("SELECT location FROM meeting WHERE id = ?", (meeting_id,)) or ""
    bodies = len([b for b in news_bodies if b in ch.facts.bodies])
    waiting = [d["proposal"] for d in recorded if not d["confirmed"]]
    ev = ch.record(
        "oogo_news",
        meeting_id=meeting_id,
        payload={
            **_meeting_payload(meeting, location),
            "decisions": decisions,
            "addendum": bool(sent),
            "awaiting_confirmation": waiting,
            "anchor": anchor.current(ch.tx),  # the audit head as the news goes out
        },
    )
    return NewsResult(meeting_id, len(decisions), bodies, ev.id)


def news_sent(tx: Tx, meeting_id: str) -> set[tuple[str, int]]:
    """(proposal, version) of every decision earlier news of this meeting carried."""
    sent: set[tuple[str, int]] = set()
    for (payload,) in tx.all(
        "SELECT payload FROM audit_event WHERE action = 'oogo_news' AND meeting_id = ?",
        (meeting_id,),
    ):
        for d in json.loads(payload).get("decisions", []):
            sent.add((str(d.get("proposal")), int(d.get("version", 0))))
    return sent
