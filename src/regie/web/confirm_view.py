"""What the confirmation page shows, read in one transaction: the proposal, the meeting,
the decision text version the link names and how it stands now, who attended for which
party (present, substitute, prior position), and whether the link may still be used.

What a link may do is decided here, in this order: a version that was confirmed shows
who confirmed it and when (also after the link expired); a version that is no longer the
latest (amended, retracted) says the link was replaced; then the link's age; then
whether its person is (still) the chair of the deciding body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from regie import labels
from regie.clock import to_utc_naive
from regie.engine import repository as repo
from regie.engine.facts import region_facts
from regie.engine.machine import AWAITING
from regie.engine.queries import _names
from regie.engine.storage import Tx, as_datetime
from regie.web import uses
from regie.web.links import Link

OPEN = "open"  # the chair may confirm or request a correction
REQUESTED = "requested"  # a correction was requested through this link: confirm still can
CONFIRMED = "confirmed"
SUPERSEDED = "superseded"
EXPIRED = "expired"
NOT_CHAIR = "not_chair"
ACTIONABLE = (OPEN, REQUESTED)


@dataclass
class Party:
    name: str
    concerned: bool
    people: list[dict[str, str]] = field(default_factory=list)  # name, status, for
    position: dict[str, str] | None = None  # stance, text, person


@dataclass
class DecisionView:
    status: str
    proposal_id: str
    title: str
    meeting_id: str
    body_name: str
    starts_at: datetime
    version: int
    latest: int | None  # the standing version now (None: retracted, none standing)
    outcome: str
    text: str
    override: str | None
    dissent: str
    recorded_by: str
    confirmed_by: str
    confirmed_at: datetime | None
    chair: str
    coordinator: str
    coordinator_email: str
    expires_at: datetime
    parties: list[Party]
    use: uses.Use | None

    def values(self) -> dict[str, Any]:
        return {"d": self}


def read(tx: Tx, link: Link, now: datetime, link_days: int, lang: str) -> DecisionView:
    """The page's facts and the link's status (``now``: aware or naive UTC)."""
    p = repo.load_proposal(tx, str(link.proposal_id))
    version = link.version or 0
    row = tx.one(
        "SELECT meeting_id, outcome, text, override_reason, recorded_by, confirmed_by, "
        "confirmed_at, dissent FROM decision WHERE proposal_id = ? AND version = ?",
        (p.id, version),
    )
    latest = tx.scalar(
        "SELECT MAX(version) FROM decision WHERE proposal_id = ? AND retracted_at IS NULL",
        (p.id,),
    )
    meeting_id = str(row[0]) if row else str(link.meeting_id or p.meeting_id or "")
    meeting = repo.load_meeting(tx, meeting_id)
    chair = repo.body_chair(tx, meeting.body_id)
    coordinator = region_facts(tx).coordinator
    people = _people(tx, meeting_id, p.id, [chair, coordinator, *(row[4:6] if row else [])])
    wf = repo.workflow_for(tx, p.workflow_digest).workflow
    dissent = json.loads(row[7] or "null") if row else None
    confirmed_at = as_datetime(row[6]) if row else None
    expires = link.expires_at(link_days)
    use = uses.find(tx, link.row_id)
    if confirmed_at is not None:
        status = CONFIRMED
    elif row is None or latest != version or p.state != AWAITING:
        status = SUPERSEDED
    elif to_utc_naive(now) > expires:
        status = EXPIRED
    elif link.person_id != chair:
        status = NOT_CHAIR
    elif use is not None and use.outcome == uses.CORRECTION_REQUESTED:
        status = REQUESTED
    else:
        status = OPEN
    email = tx.scalar("SELECT email FROM person WHERE id = ?", (coordinator,))
    return DecisionView(
        status=status,
        proposal_id=p.id,
        title=p.title,
        meeting_id=meeting.id,
        body_name=_names(tx, "body", [meeting.body_id]).get(meeting.body_id, meeting.body_id),
        starts_at=meeting.starts_at,
        version=version,
        latest=int(latest) if latest is not None else None,
        outcome=labels.outcome(wf, str(row[1]), lang) if row else "",
        text=str(row[2]) if row else "",
        override=row[3] if row else None,
        dissent=str(dissent.get("text") or "") if isinstance(dissent, dict) else "",
        recorded_by=people["names"].get(row[4], row[4]) if row else "",
        confirmed_by=people["names"].get(row[5], row[5] or "") if row else "",
        confirmed_at=confirmed_at,
        chair=people["names"].get(chair, chair),
        coordinator=people["names"].get(coordinator, coordinator),
        coordinator_email=str(email or ""),
        expires_at=expires,
        parties=_parties(tx, p.id, people, lang),
        use=use,
    )


def _people(tx: Tx, meeting_id: str, proposal_id: str, more: list[Any]) -> dict[str, Any]:
    """Who attended the meeting, the prior positions on the proposal, and the names of
    everyone the page names."""
    attended = tx.all(
        "SELECT person_id, party_id, status, substitute_for FROM attendance "
        "WHERE meeting_id = ? ORDER BY party_id, person_id",
        (meeting_id,),
    )
    positions = tx.all(
        "SELECT party_id, person_id, stance, position FROM prior_position "
        "WHERE meeting_id = ? AND proposal_id = ? ORDER BY party_id",
        (meeting_id, proposal_id),
    )
    ids = [r[0] for r in attended] + [r[3] for r in attended] + [r[1] for r in positions]
    return {
        "attended": attended,
        "positions": positions,
        "names": _names(tx, "person", [str(i) for i in [*ids, *more] if i]),
    }


def _parties(tx: Tx, proposal_id: str, people: dict[str, Any], lang: str) -> list[Party]:
    """The concerned parties first, then the others that attended, each with its people."""
    concerned = repo.concerned_parties(tx, proposal_id)
    others = [str(r[1]) for r in people["attended"] if r[1] not in concerned]
    ids = list(dict.fromkeys([*concerned, *others]))
    names, person = _names(tx, "party", ids), people["names"]
    found = {i: Party(names.get(i, i), i in concerned) for i in ids}
    for who, party, status, instead in people["attended"]:
        found[str(party)].people.append(
            {
                "name": person.get(who, who),
                "status": labels.attendance(str(status), lang),
                "for": person.get(instead, instead or "") if instead else "",
            }
        )
    for party, who, stance, text in people["positions"]:
        if party in found:
            found[str(party)].position = {
                "stance": str(stance or ""),
                "text": str(text or ""),
                "person": person.get(who, who),
            }
    return list(found.values())
