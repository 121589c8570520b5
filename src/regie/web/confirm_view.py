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
from regie.engine.storage import Tx, as_datetime
from regie.errors import NotFound
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


# The proposal, the decision version the link names and the standing version, the
# meeting and its body, and the link's use: one row (no row: the proposal is unknown).
_MAIN = (
    "SELECT p.title, p.state, p.workflow_digest, p.meeting_id, d.meeting_id, d.outcome, "
    "d.text, d.override_reason, d.recorded_by, d.confirmed_by, d.confirmed_at, d.dissent, "
    "(SELECT MAX(v.version) FROM decision v "
    "WHERE v.proposal_id = p.id AND v.retracted_at IS NULL), "
    "m.id, m.body_id, m.starts_at, b.name, b.chair_id, u.used_at, u.person_id, u.outcome "
    "FROM proposal p "
    "LEFT JOIN decision d ON d.proposal_id = p.id AND d.version = ? "
    "LEFT JOIN meeting m ON m.id = COALESCE(d.meeting_id, CAST(? AS TEXT), p.meeting_id) "
    "LEFT JOIN body b ON b.id = m.body_id "
    "LEFT JOIN link_use u ON u.row_id = ? "
    "WHERE p.id = ?"
)
# Who attended the meeting (0), the prior positions on the proposal (1), the parties the
# proposal concerns (2): one query, ordered by party (then person).
_PEOPLE = (
    "SELECT 0, party_id, person_id, status, substitute_for FROM attendance "
    "WHERE meeting_id = ? "
    "UNION ALL SELECT 1, party_id, person_id, stance, position FROM prior_position "
    "WHERE meeting_id = ? AND proposal_id = ? "
    "UNION ALL SELECT 2, party_id, NULL, NULL, NULL FROM proposal_party WHERE proposal_id = ? "
    "ORDER BY 1, 2, 3"
)


@dataclass(frozen=True)
class _Names:
    """Names of people and parties, e-mail addresses: set by ``regie init`` only, so read
    once per config generation (:func:`regie.engine.facts.region_facts`)."""

    people: dict[str, str]
    emails: dict[str, str]
    parties: dict[str, str]


def _names_of(tx: Tx) -> tuple[_Names, str]:
    """The cached names and the coordinator's id."""
    facts = region_facts(tx)
    found = facts.cache.get("web.confirm_names")
    if not isinstance(found, _Names):
        people = tx.all("SELECT id, name, email FROM person")
        found = facts.cache["web.confirm_names"] = _Names(
            people={str(r[0]): str(r[1]) for r in people},
            emails={str(r[0]): str(r[2] or "") for r in people},
            parties={str(r[0]): str(r[1]) for r in tx.all("SELECT id, name FROM party")},
        )
    return found, facts.coordinator


def read(tx: Tx, link: Link, now: datetime, link_days: int, lang: str) -> DecisionView:
    """The page's facts and the link's status (``now``: aware or naive UTC), in two
    queries (after the first page of a config generation)."""
    pid, version = str(link.proposal_id), link.version or 0
    row = tx.one(_MAIN, (version, link.meeting_id or None, link.row_id, pid))
    if row is None:
        raise NotFound("proposal", pid, "see 'regie list'")
    (title, state, digest, p_meeting, d_meeting, outcome, text, override, recorded_by,
     confirmed_by, confirmed_at_raw, dissent_raw, latest, meeting_id, body_id, starts_at,
     body_name, chair_raw, used_at, used_by, used_for) = row  # fmt: skip
    decided = outcome is not None  # the decision row of the link's version exists
    if meeting_id is None:
        wanted = str(d_meeting) if decided else str(link.meeting_id or p_meeting or "")
        raise NotFound("meeting", wanted, "see 'regie meetings'")
    names, coordinator = _names_of(tx)
    person = names.people
    chair = str(chair_raw)
    wf = repo.workflow_for(tx, str(digest)).workflow
    dissent = json.loads(dissent_raw or "null") if decided else None
    confirmed_at = as_datetime(confirmed_at_raw) if decided else None
    expires = link.expires_at(link_days)
    use = uses.from_row(link.row_id, used_at, used_by, used_for)
    if confirmed_at is not None:
        status = CONFIRMED
    elif not decided or latest != version or state != AWAITING:
        status = SUPERSEDED
    elif to_utc_naive(now) > expires:
        status = EXPIRED
    elif link.person_id != chair:
        status = NOT_CHAIR
    elif use is not None and use.outcome == uses.CORRECTION_REQUESTED:
        status = REQUESTED
    else:
        status = OPEN
    starts = as_datetime(starts_at)
    assert starts is not None
    return DecisionView(
        status=status,
        proposal_id=pid,
        title=str(title),
        meeting_id=str(meeting_id),
        body_name=str(body_name) if body_name is not None else str(body_id),
        starts_at=starts,
        version=version,
        latest=int(latest) if latest is not None else None,
        outcome=labels.outcome(wf, str(outcome), lang) if decided else "",
        text=str(text) if decided else "",
        override=override if decided else None,
        dissent=str(dissent.get("text") or "") if isinstance(dissent, dict) else "",
        recorded_by=person.get(recorded_by, recorded_by) if decided else "",
        confirmed_by=person.get(confirmed_by, confirmed_by or "") if decided else "",
        confirmed_at=confirmed_at,
        chair=person.get(chair, chair),
        coordinator=person.get(coordinator, coordinator),
        coordinator_email=names.emails.get(coordinator, ""),
        expires_at=expires,
        parties=_parties(tx.all(_PEOPLE, (meeting_id, meeting_id, pid, pid)), names, lang),
        use=use,
    )


def _parties(rows: list[tuple[Any, ...]], names: _Names, lang: str) -> list[Party]:
    """The concerned parties first, then the others that attended, each with its people
    (who attended, present or as whose substitute) and its prior position."""
    concerned = [str(r[1]) for r in rows if r[0] == 2]
    attended = [r for r in rows if r[0] == 0]
    others = [str(r[1]) for r in attended if r[1] not in concerned]
    ids = list(dict.fromkeys([*concerned, *others]))
    person = names.people
    found = {i: Party(names.parties.get(i, i), i in concerned) for i in ids}
    for _, party, who, status, instead in attended:
        found[str(party)].people.append(
            {
                "name": person.get(who, who),
                "status": labels.attendance(str(status), lang),
                "for": person.get(instead, instead or "") if instead else "",
            }
        )
    for kind, party, who, stance, text in rows:
        if kind == 1 and party in found:
            found[str(party)].position = {
                "stance": str(stance or ""),
                "text": str(text or ""),
                "person": person.get(who, who),
            }
    return list(found.values())
