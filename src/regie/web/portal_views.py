"""What the portal's pages show, read from the engine's read services (plain dicts).

Every function runs in one read transaction of its caller and returns the values of one
template; an unknown proposal or meeting raises :class:`regie.errors.NotFound`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from regie import labels
from regie.clock import to_local
from regie.engine import agenda_view, queries
from regie.engine import repository as repo
from regie.engine.facts import region_facts
from regie.engine.storage import AnySession, Tx, as_datetime

CLOSED_STATES = ("decided", "noted", "withdrawn")


def document(value: Any) -> dict[str, str]:
    """A stored document: a link when it is an http(s) address, else plain text."""
    text = str(value.get("url") or value) if isinstance(value, dict) else str(value)
    scheme = urlsplit(text.strip()).scheme.lower() if "://" in text else ""
    return {"text": text, "url": text.strip() if scheme in ("http", "https") else ""}


def _people(tx: Tx) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in tx.all("SELECT id, name FROM person")}


def home(session: AnySession, lang: str, now: datetime) -> dict[str, Any]:
    """Open proposals grouped by stage (in the order of their workflow's stages), and
    the coming meetings."""
    tx = Tx(session)
    items = queries.proposal_page(session=session, limit=None, lang=lang, count=False)["items"]
    digests = dict(
        tx.all(
            "SELECT id, workflow_digest FROM proposal WHERE state NOT IN "
            f"({', '.join('?' for _ in CLOSED_STATES)})",
            CLOSED_STATES,
        )
    )
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["id"] not in digests:
            continue
        wf = repo.workflow_for(tx, digests[item["id"]]).workflow
        stages = [s.id for s in wf.stages]
        order = stages.index(item["stage"]) if item["stage"] in stages else len(stages)
        group = groups.setdefault(
            item["stage_label"], {"label": item["stage_label"], "order": order, "items": []}
        )
        group["order"] = min(group["order"], order)
        group["items"].append(item)
    meetings = queries.list_meetings(session=session, now=now, lang=lang, limit=20)
    return {
        "groups": sorted(groups.values(), key=lambda g: (g["order"], g["label"])),
        "open_count": sum(len(g["items"]) for g in groups.values()),
        "meetings": meetings,
    }


def proposal(session: AnySession, lang: str, proposal_id: str) -> dict[str, Any]:
    """Route, documents, timeline and decisions of one proposal."""
    tx = Tx(session)
    shown = queries.show_proposal(session=session, proposal_id=proposal_id, lang=lang)
    names = _people(tx)
    events = queries.timeline(session=session, proposal_id=proposal_id, lang=lang)
    for event in events:
        event["actor_name"] = names.get(str(event["actor"] or ""), event["actor"] or "")
    for decision in shown["decisions"]:
        for who in ("recorded_by", "confirmed_by"):
            decision[who + "_name"] = names.get(str(decision[who] or ""), decision[who] or "")
    route = [
        {"id": stage, "label": label, "current": stage == shown["stage"]}
        for stage, label in zip(shown["route"], shown["route_labels"], strict=True)
    ]
    return {
        "p": shown,
        "route": route,
        "documents": [document(d) for d in shown["documents"]],
        "events": events,
        "leads": [names.get(p, p) for p in (shown["admin_lead"], shown["official_lead"]) if p],
    }


def meeting(session: AnySession, lang: str, meeting_id: str, now: datetime) -> dict[str, Any]:
    """The agenda of a meeting and, once it has started, its decisions and the news that
    published them with the audit chain's head at that moment."""
    tx = Tx(session)
    agenda = agenda_view.agenda(session=session, meeting_id=meeting_id, lang=lang)
    row = tx.one("SELECT location, starts_at, ends_at FROM meeting WHERE id = ?", (meeting_id,))
    assert row is not None  # agenda() raised NotFound otherwise
    starts = as_datetime(row[1])
    held = starts is not None and starts <= now
    for item in agenda["items"]:
        item["documents"] = [document(d) for d in item["documents"]]
    return {
        "m": agenda,
        "location": row[0] or "",
        "starts_at": queries._local(row[1]),
        "ends_at": queries._local(row[2]),
        "held": held,
        "decisions": _decisions(tx, meeting_id, lang) if held else [],
        "publications": _publications(tx, meeting_id) if held else [],
        "is_top": agenda["body"] == region_facts(tx).roles.top_body,
    }


def _decisions(tx: Tx, meeting_id: str, lang: str) -> list[dict[str, Any]]:
    """The standing (latest, not retracted) decision of each proposal decided there."""
    rows = tx.all(
        "SELECT d.proposal_id, p.title, d.outcome, d.text, d.version, d.confirmed_at, "
        "p.workflow_digest FROM decision d JOIN proposal p ON p.id = d.proposal_id "
        "WHERE d.meeting_id = ? AND d.retracted_at IS NULL AND d.version = (SELECT "
        "MAX(v.version) FROM decision v WHERE v.proposal_id = d.proposal_id) "
        "ORDER BY d.proposal_id",
        (meeting_id,),
    )
    out = []
    for r in rows:
        wf = repo.workflow_for(tx, r[6]).workflow
        out.append(
            {
                "proposal": r[0],
                "title": r[1],
                "outcome_label": labels.outcome(wf, r[2], labels.language(lang)),
                "text": r[3] or "",
                "version": r[4],
                "confirmed_at": queries._local(r[5]),
            }
        )
    return out


def _publications(tx: Tx, meeting_id: str) -> list[dict[str, Any]]:
    """Each news of the meeting: when, the decisions it carried, and the anchor (the audit
    chain's head as it went out; ``regie audit verify --anchor`` checks it)."""
    out = []
    for at, payload in tx.all(
        "SELECT at, payload FROM audit_event WHERE action = 'oogo_news' AND meeting_id = ? "
        "ORDER BY id",
        (meeting_id,),
    ):
        found = json.loads(payload or "{}")
        stamp = as_datetime(at)
        out.append(
            {
                "at": to_local(stamp).isoformat() if stamp else "",
                "anchor": str(found.get("anchor") or ""),
                "addendum": bool(found.get("addendum")),
                "decisions": [
                    {"proposal": str(d.get("proposal")), "title": str(d.get("title") or "")}
                    for d in found.get("decisions", [])
                    if isinstance(d, dict)
                ],
            }
        )
    return out
