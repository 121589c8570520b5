"""``regie audit history P``: the whole timeline of one proposal, for settling a dispute.

Fuller than ``regie audit show`` (the proposal's own events): besides every audit event
it puts together the route and its changes, each meeting the proposal was on (what became
of it there), the attendance and prior positions recorded at those meetings, the decision
versions and what happened to them (confirmations, correction requests, amendments,
retractions), the mails sent about it (outbox rows), and the decisions it reopens or that
reopen it (``revisit``, as ``regie show`` gives them). Agenda mails and news of its
meetings are events of the meeting, not of the proposal: those that name the proposal are
included, with their mails.

Plain dicts ready for JSON; ids and ISO times (Europe/Amsterdam) always, the words people
read (``*_label``) when ``lang`` is given, names of people, parties and bodies always.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from regie import labels
from regie.clock import to_local
from regie.engine import audit, queries
from regie.engine import repository as repo
from regie.engine.agenda_history import placements
from regie.engine.storage import AnySession, Tx, as_datetime
from regie.workflows.definition import Workflow

ROUTE_ACTIONS = ("submitted", "route_proposed", "route_set")
DECISION_STEPS = ("decided", "noted", "correction_requested", "amended", "confirmed",
                  "decision_retracted")  # fmt: skip
# meeting events (no proposal id) that may name the proposal: the key of its list in the
# payload, and the key of the proposal id in each item (None: the items are ids)
MEETING_EVENTS: dict[str, tuple[str, str | None]] = {
    "agenda_published": ("agenda", "proposal"),
    "agenda_approved": ("proposals", None),
    "oogo_news": ("decisions", "proposal"),
}


def history(*, session: AnySession, proposal_id: str, lang: str | None = None) -> dict[str, Any]:
    """Everything the trail holds about ``proposal_id``; see the module docstring."""
    tx = Tx(session)
    p = repo.load_proposal(tx, proposal_id)  # NotFound: "see 'regie list'"
    wf = repo.workflow_for(tx, p.workflow_digest).workflow
    lang = labels.language(lang) if lang else None
    names = _Names(tx)
    shown = queries.show_proposal(session=session, proposal_id=p.id, lang=lang)
    own = queries.timeline(session=session, proposal_id=p.id, lang=lang)
    visits = placements(tx, proposal_id=p.id)
    meeting_ids = list(dict.fromkeys(pl.meeting_id for pl in visits))
    about = _meeting_events(tx, p.id, meeting_ids, lang)
    events = sorted(own + about, key=lambda e: int(e["id"]))
    decisions = _decisions(tx, p.id, wf, lang, names)
    out = {
        "proposal": _proposal(shown, names),
        "route": _route_changes(own, wf, lang, names),
        "meetings": _meetings(tx, p.id, visits, decisions, wf, lang, names),
        "decisions": decisions,
        "decision_steps": _decision_steps(own, wf, lang, names),
        "mails": _mails(tx, p.id, [int(e["id"]) for e in about], names, lang),
        "revisits": {k: shown.get(k, []) for k in ("reopens", "reopened_by")},
        "events": events,
    }
    for e in events:
        e["actor_name"] = names.person(e["actor"])
    return out


class _Names:
    """Names of people, parties and bodies (a region has hundreds at most: read once)."""

    def __init__(self, tx: Tx) -> None:
        self._of = {
            table: {str(i): str(n) for i, n in tx.all(f"SELECT id, name FROM {table}")}
            for table in ("person", "party", "body")
        }

    def person(self, ident: str | None) -> str | None:
        return self._of["person"].get(ident, ident) if ident else None

    def party(self, ident: str | None) -> str | None:
        return self._of["party"].get(ident, ident) if ident else None

    def body(self, ident: str | None) -> str | None:
        return self._of["body"].get(ident, ident) if ident else None


def _proposal(shown: dict[str, Any], names: _Names) -> dict[str, Any]:
    keep = ("id", "title", "summary", "purpose", "purpose_label", "table", "table_name",
            "parties", "party_names", "focus_point", "admin_lead", "official_lead", "route",
            "route_labels", "stage", "stage_label", "state", "state_label", "meeting",
            "meeting_starts_at", "meeting_body_name", "submitted_by", "submitted_at",
            "workflow")  # fmt: skip
    out = {k: shown[k] for k in keep if k in shown}
    out["submitted_by_name"] = names.person(shown["submitted_by"])
    return out


def _route_changes(
    events: list[dict[str, Any]], wf: Workflow, lang: str | None, names: _Names
) -> list[dict[str, Any]]:
    """The route at submission and each proposal or setting of a new one."""
    out = []
    for e in events:
        if e["action"] not in ROUTE_ACTIONS:
            continue
        pl = e["payload"]
        route = [str(s) for s in pl.get("route", [])]
        item = {
            "event": e["id"],
            "at": e["at"],
            "actor": e["actor"],
            "actor_name": names.person(e["actor"]),
            "action": e["action"],
            "route": route,
            "previous": pl.get("previous"),
            "meeting": pl.get("meeting") or pl.get("routing_meeting") or e["meeting"],
            "routing_body": pl.get("routing_body"),
        }
        if lang:
            item["action_label"] = labels.action(e["action"], lang)
            item["route_labels"] = [labels.stage(wf, s, lang) for s in route]
        out.append(item)
    return out


def _meetings(
    tx: Tx,
    pid: str,
    visits: Sequence[Any],
    decisions: list[dict[str, Any]],
    wf: Workflow,
    lang: str | None,
    names: _Names,
) -> list[dict[str, Any]]:
    """Each time the proposal was on a meeting: the stage, how it left the meeting, the
    decision versions recorded there, attendance and prior positions as recorded."""
    out = []
    for pl in visits:
        brief = queries.meeting_brief(tx, pl.meeting_id)
        item = {
            "meeting": pl.meeting_id,
            "body": brief["body"],
            "body_name": brief["body_name"],
            "starts_at": brief["starts_at"],
            "placed_by_event": pl.event_id,
            "stage": pl.stage,
            "result": pl.result,  # None: still on it
            "decisions": [d["version"] for d in decisions if d["meeting"] == pl.meeting_id],
            "attendance": _attendance(tx, pl.meeting_id, names, lang),
            "prior_positions": _prior_positions(tx, pl.meeting_id, pid, names),
        }
        if lang:
            item["stage_label"] = labels.stage(wf, pl.stage, lang)
            item["result_label"] = labels.action(pl.result, lang) if pl.result else None
        out.append(item)
    return out


def _attendance(tx: Tx, meeting_id: str, names: _Names, lang: str | None) -> list[dict[str, Any]]:
    rows = tx.all(
        "SELECT person_id, party_id, status, substitute_for, recorded_by, recorded_at "
        "FROM attendance WHERE meeting_id = ? ORDER BY party_id, person_id",
        (meeting_id,),
    )
    return [
        {
            "person": r[0],
            "person_name": names.person(r[0]),
            "party": r[1],
            "party_name": names.party(r[1]),
            "status": r[2],
            "substitute_for": r[3],
            "substitute_for_name": names.person(r[3]),
            "recorded_by": r[4],
            "recorded_at": _local(r[5]),
        }
        | ({"status_label": labels.attendance(r[2], lang)} if lang else {})
        for r in rows
    ]


def _prior_positions(tx: Tx, meeting_id: str, pid: str, names: _Names) -> list[dict[str, Any]]:
    rows = tx.all(
        "SELECT party_id, person_id, stance, position, recorded_at FROM prior_position "
        "WHERE meeting_id = ? AND proposal_id = ? ORDER BY party_id",
        (meeting_id, pid),
    )
    return [
        {
            "party": r[0],
            "party_name": names.party(r[0]),
            "person": r[1],
            "person_name": names.person(r[1]),
            "stance": r[2],
            "position": r[3],
            "recorded_at": _local(r[4]),
        }
        for r in rows
    ]


def _decisions(
    tx: Tx, pid: str, wf: Workflow, lang: str | None, names: _Names
) -> list[dict[str, Any]]:
    rows = tx.all(
        "SELECT version, meeting_id, outcome, text, override_reason, dissent, recorded_by, "
        "recorded_at, confirmed_by, confirmed_at, retracted_by, retracted_at FROM decision "
        "WHERE proposal_id = ? ORDER BY version",
        (pid,),
    )
    return [
        {
            "version": r[0],
            "meeting": r[1],
            "outcome": r[2],
            "text": r[3],
            "override": r[4],
            "dissent": json.loads(r[5]) if r[5] else None,
            "recorded_by": r[6],
            "recorded_by_name": names.person(r[6]),
            "recorded_at": _local(r[7]),
            "confirmed_by": r[8],
            "confirmed_by_name": names.person(r[8]),
            "confirmed_at": _local(r[9]),
            "retracted_by": r[10],
            "retracted_at": _local(r[11]),
        }
        | ({"outcome_label": labels.outcome(wf, r[2], lang)} if lang else {})
        for r in rows
    ]


def _decision_steps(
    events: list[dict[str, Any]], wf: Workflow, lang: str | None, names: _Names
) -> list[dict[str, Any]]:
    """Recording, correction requests, amendments, confirmations and retractions of the
    decision, in order, with the text each step concerned."""
    out = []
    for e in events:
        if e["action"] not in DECISION_STEPS:
            continue
        pl = e["payload"]
        item = {
            "event": e["id"],
            "at": e["at"],
            "actor": e["actor"],
            "actor_name": names.person(e["actor"]),
            "action": e["action"],
            "version": pl.get("version"),
            "outcome": pl.get("outcome"),
            "text": pl.get("text"),
            "previous_text": pl.get("previous_text"),
            "comment": pl.get("comment") or pl.get("reason"),
            "meeting": e["meeting"],
        }
        if lang:
            item["action_label"] = labels.action(e["action"], lang)
            outcome = pl.get("outcome")
            item["outcome_label"] = labels.outcome(wf, outcome, lang) if outcome else None
        out.append(item)
    return out


def _meeting_events(
    tx: Tx, pid: str, meeting_ids: list[str], lang: str | None
) -> list[dict[str, Any]]:
    """Agenda mails, approvals and news of the proposal's meetings that name it."""
    if not meeting_ids:
        return []
    actions = tuple(MEETING_EVENTS)
    rows = tx.all(
        f"SELECT {_EVENT_COLUMNS} FROM audit_event WHERE meeting_id IN "
        f"({', '.join('?' for _ in meeting_ids)}) AND action IN "
        f"({', '.join('?' for _ in actions)}) ORDER BY id",
        (*meeting_ids, *actions),
    )
    found = []
    for r in rows:
        at = as_datetime(r[1])
        assert at is not None
        ev = audit.Event(int(r[0]), at, r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8],
                         r[9], r[10], r[11], r[12], r[13])  # fmt: skip
        if _names_proposal(ev.action, ev.payload, pid):
            e = queries.event_dict(ev)
            if lang:
                e["action_label"] = labels.action(ev.action, lang)
                e["payload_labels"] = {}
            found.append(e)
    return found


_EVENT_COLUMNS = (  # the fields of audit.Event, in order
    "id, at, actor, acting_for, action, proposal_id, meeting_id, payload, prev_hash, hash, "
    "os_user, host, mac, key_id"
)


def _names_proposal(action: str, payload: dict[str, Any], pid: str) -> bool:
    key, item_key = MEETING_EVENTS[action]
    items = payload.get(key) or []
    if item_key is None:
        return pid in items
    return any(isinstance(i, dict) and i.get(item_key) == pid for i in items)


def _mails(
    tx: Tx, pid: str, meeting_events: list[int], names: _Names, lang: str | None
) -> list[dict[str, Any]]:
    """The outbox rows about the proposal and those of its meetings' events that name it."""
    extra = (
        f" OR o.event_id IN ({', '.join('?' for _ in meeting_events)})" if meeting_events else ""
    )
    rows = tx.all(
        "SELECT o.id, o.event_id, e.action, o.kind, o.person_id, o.email, o.language, "
        "o.status, o.attempts, o.created_at, o.sent_at, o.last_error, o.digest_id, o.message_id "
        "FROM outbox o JOIN audit_event e ON e.id = o.event_id "
        f"WHERE o.proposal_id = ?{extra} ORDER BY o.id",
        (pid, *meeting_events),
    )
    return [
        {
            "id": r[0],
            "event": r[1],
            "action": r[2],
            "kind": r[3],
            "person": r[4],
            "person_name": names.person(r[4]),
            "email": r[5],
            "language": r[6],
            "status": r[7],
            "attempts": r[8],
            "created_at": _local(r[9]),
            "sent_at": _local(r[10]),
            "last_error": r[11],
            "digest": r[12],
            "message_id": r[13],
        }
        | ({"action_label": labels.action(r[2], lang)} if lang else {})
        for r in rows
    ]


def _local(value: Any) -> str | None:
    at = as_datetime(value)
    return to_local(at).isoformat(timespec="minutes") if at else None
