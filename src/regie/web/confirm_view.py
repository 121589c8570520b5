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
    reopens: list[dict[str, str]] = field(default_factory=list)  # decisions it reopens

    def values(self) -> dict[str, Any]:
        return {"d": self}


# Everything the page shows, in ONE row (none: the proposal is unknown): the proposal,
# the decision version the link names and the standing version, the meeting and its
# body, the link's use, the config generation (the names are cached per generation), as
# JSON arrays who attended the meeting, the prior positions on the proposal and the
# parties it concerns, and the earlier decision it reopens, if any (issue 19: `regie
# submit --revisits` names one). Each statement and each row fetched lets go of the GIL,
# and under load each such moment may cost a thread switch: one statement keeps the page
# lean.
_ONE_ROW = (
    "SELECT p.title, p.state, p.workflow_digest, p.meeting_id, d.meeting_id, d.outcome, "
    "d.text, d.override_reason, d.recorded_by, d.confirmed_by, d.confirmed_at, d.dissent, "
    "(SELECT MAX(v.version) FROM decision v "
    "WHERE v.proposal_id = p.id AND v.retracted_at IS NULL), "
    "m.id, m.body_id, m.starts_at, b.name, b.chair_id, u.used_at, u.person_id, u.outcome, "
    "(SELECT value FROM region_setting WHERE key = 'generation'), "
    "(SELECT {agg}(a.party_id, a.person_id, a.status, a.substitute_for{end} FROM attendance a "
    "WHERE a.meeting_id = m.id), "
    "(SELECT {agg}(pp.party_id, pp.person_id, pp.stance, pp.position{end} "
    "FROM prior_position pp WHERE pp.meeting_id = m.id AND pp.proposal_id = p.id), "
    "(SELECT {agg}(pc.party_id{end} FROM proposal_party pc WHERE pc.proposal_id = p.id), "
    "r.earlier_id, e.title, r.reason "
    "FROM proposal p "
    "LEFT JOIN decision d ON d.proposal_id = p.id AND d.version = ? "
    "LEFT JOIN meeting m ON m.id = COALESCE(d.meeting_id, CAST(? AS TEXT), p.meeting_id) "
    "LEFT JOIN body b ON b.id = m.body_id "
    "LEFT JOIN link_use u ON u.row_id = ? "
    "LEFT JOIN revisit r ON r.proposal_id = p.id LEFT JOIN proposal e ON e.id = r.earlier_id "
    "WHERE p.id = ?"
)
_SQL = {
    "sqlite": _ONE_ROW.format(agg="json_group_array(json_array", end="))"),
    "postgresql": _ONE_ROW.format(agg="json_agg(json_build_array", end="))"),
}


@dataclass(frozen=True)
class _Names:
    """Who the page names: people and parties by name, the coordinator by name and
    e-mail address. ``regie init`` alone sets them, and each init starts a new config
    generation: read once per generation (and database), as
    :func:`regie.engine.facts.region_facts` is."""

    people: dict[str, str]
    parties: dict[str, str]
    coordinator: str
    coordinator_email: str


_NAMES: dict[tuple[str, str], _Names] = {}


def _names_of(tx: Tx, generation: Any) -> _Names:
    db = getattr(tx.session, "db", None)
    key = (str(db.url) if db is not None else "", str(generation))
    found = _NAMES.get(key) if db is not None and generation is not None else None
    if found is None:
        coordinator = region_facts(tx).coordinator  # refuses a database without a region
        people = tx.all("SELECT id, name, email FROM person")
        found = _Names(
            people={str(r[0]): str(r[1]) for r in people},
            parties={str(r[0]): str(r[1]) for r in tx.all("SELECT id, name FROM party")},
            coordinator=coordinator,
            coordinator_email=next((str(r[2] or "") for r in people if r[0] == coordinator), ""),
        )
        if db is not None and generation is not None:
            _NAMES[key] = found
    return found


def _rows(value: Any) -> list[list[Any]]:
    """A JSON array of arrays (SQLite: text; PostgreSQL: parsed already, NULL if none)."""
    if value is None:
        return []
    return list(json.loads(value) if isinstance(value, str) else value)


def read(tx: Tx, link: Link, now: datetime, link_days: int, lang: str) -> DecisionView:
    """The page's facts and the link's status (``now``: aware or naive UTC): one query."""
    pid, version = str(link.proposal_id), link.version or 0
    row = tx.one(_SQL[tx.dialect], (version, link.meeting_id or None, link.row_id, pid))
    if row is None:
        raise NotFound("proposal", pid, "see 'regie list'")
    (title, state, digest, p_meeting, d_meeting, outcome, text, override, recorded_by,
     confirmed_by, confirmed_at_raw, dissent_raw, latest, meeting_id, body_id, starts_at,
     body_name, chair_raw, used_at, used_by, used_for, generation, attended, positions,
     concerned, earlier, earlier_title, reason) = row  # fmt: skip
    decided = outcome is not None  # the decision row of the link's version exists
    if meeting_id is None:
        wanted = str(d_meeting) if decided else str(link.meeting_id or p_meeting or "")
        raise NotFound("meeting", wanted, "see 'regie meetings'")
    names = _names_of(tx, generation)
    person = names.people
    chair = str(chair_raw)
    wf = repo.workflow_for(tx, str(digest)).workflow
    dissent = json.loads(dissent_raw) if decided and dissent_raw else None
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
    coordinator = names.coordinator
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
        coordinator_email=names.coordinator_email,
        expires_at=expires,
        parties=_parties(_rows(attended), _rows(positions), _rows(concerned), names, lang),
        use=use,
        reopens=[{"proposal": str(earlier), "title": str(earlier_title), "reason": str(reason)}]
        if earlier
        else [],
    )


def _parties(
    attended: list[list[Any]],
    positions: list[list[Any]],
    concerned_rows: list[list[Any]],
    names: _Names,
    lang: str,
) -> list[Party]:
    """The concerned parties first, then the others that attended (each in order of their
    ids), each with its people (by id: who attended, present or as whose substitute) and
    its prior position."""
    concerned = sorted(str(r[0]) for r in concerned_rows)
    attended = sorted(attended, key=lambda r: (str(r[0]), str(r[1])))
    others = [str(r[0]) for r in attended if r[0] not in concerned]
    ids = list(dict.fromkeys([*concerned, *others]))
    person = names.people
    found = {i: Party(names.parties.get(i, i), i in concerned) for i in ids}
    for party, who, status, instead in attended:
        found[str(party)].people.append(
            {
                "name": person.get(who, who),
                "status": labels.attendance(str(status), lang),
                "for": person.get(instead, instead or "") if instead else "",
            }
        )
    for party, who, stance, text in positions:
        if party in found:
            found[str(party)].position = {
                "stance": str(stance or ""),
                "text": str(text or ""),
                "person": person.get(who, who),
            }
    return list(found.values())
