"""The mandate rules (seed 002, rules of conduct 1, 2 and OOGO), in one place.

A concerned party of a proposal is **covered** at a meeting when one person who holds a
mandate *for that party in that meeting's body, valid on the meeting's local date D*
(``valid_from <= D <= valid_until``, both ends inclusive; no ``valid_until``: open-ended)

1. attended as ``present`` for the party, or
2. attended as ``substitute`` for the party and is a registered substitute for that party
   **in that body** ("a substitute with mandate": registration says who may stand in,
   the mandate says that they may decide, so a substitute needs both), or
3. gave a prior position on this proposal for this meeting with a stance (agree,
   disagree or abstain); :mod:`regie.engine.attendance` takes those only before the
   meeting starts and only for a proposal on its agenda.

``expected`` and ``absent`` never cover a party. A party whose prior position says
``disagree`` is **dissenting**: an adoption records its dissent.

:func:`coverage` applies these rules and gives, for every uncovered party, a reason a
person can act on; :func:`mandate_gap` tells why one person may not speak for a party.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from babel.dates import format_date

from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.engine.changes import Change
from regie.engine.repository import MeetingRow
from regie.engine.storage import Tx, as_date

STANCES = ("agree", "disagree", "abstain")
COVERING = ("present", "substitute")  # attendance statuses that can speak for a party


@dataclass(frozen=True)
class Gap:
    """A concerned party nobody speaks for, and why."""

    party_id: str
    party_name: str
    reason: str


@dataclass(frozen=True)
class Coverage:
    uncovered: list[Gap]
    dissenting: list[str]  # party ids whose prior position is "disagree"

    @property
    def uncovered_ids(self) -> list[str]:
        return [gap.party_id for gap in self.uncovered]


# -- the rules -------------------------------------------------------------------------------


def meeting_day(meeting: MeetingRow) -> date:
    """The date mandates are checked on: the meeting's date in the region's time zone."""
    return to_local(meeting.starts_at).date()


def day_starts(meeting: MeetingRow) -> datetime:
    """Local midnight of the meeting day, as stored (naive UTC)."""
    return to_utc_naive(datetime.combine(meeting_day(meeting), time(0), tzinfo=AMSTERDAM))


def in_force(valid_from: date, valid_until: date | None, day: date) -> bool:
    """A mandate's dates are inclusive: one ending on the meeting day still covers it."""
    return valid_from <= day and (valid_until is None or day <= valid_until)


Span = tuple[date, date | None]  # a mandate's valid_from, valid_until (None: open-ended)
Spans = dict[tuple[str, str], list[Span]]  # (person, party) -> the mandates in one body


def _spans(rows: Sequence[tuple[Any, ...]]) -> Spans:
    """``(person, party, valid_from, valid_until)`` rows, oldest first, as :data:`Spans`."""
    found: Spans = defaultdict(list)
    for person, party, valid_from, valid_until in rows:
        start = as_date(valid_from)
        if start is not None:
            found[(str(person), str(party))].append((start, as_date(valid_until)))
    return found


def _mandates(tx: Tx, person: str, party: str, body_id: str) -> list[Span]:
    rows = tx.all(
        "SELECT person_id, party_id, valid_from, valid_until FROM mandate WHERE person_id = ? "
        "AND party_id = ? AND body_id = ? ORDER BY valid_from",
        (person, party, body_id),
    )
    return _spans(rows).get((person, party), [])


def has_mandate(tx: Tx, person: str, party: str, body_id: str, day: date) -> bool:
    return any(in_force(f, u, day) for f, u in _mandates(tx, person, party, body_id))


def is_registered_substitute(tx: Tx, person: str, party: str, body_id: str) -> bool:
    """Registered (config ``[[substitutes]]``) for this party *in this body*."""
    return (
        tx.one(
            "SELECT 1 FROM substitute WHERE person_id = ? AND party_id = ? AND body_id = ?",
            (person, party, body_id),
        )
        is not None
    )


def mandate_gap(tx: Tx, person: str, party: str, body_id: str, day: date, did: str) -> str | None:
    """None when ``person`` has a mandate for ``party`` in the body on ``day``; else why
    not (``did``: what the person did, e.g. "attended")."""
    return _gap(tx, _mandates(tx, person, party, body_id), person, party, body_id, day, did)


def _gap(
    tx: Tx, spans: list[Span], person: str, party: str, body_id: str, day: date, did: str
) -> str | None:
    """:func:`mandate_gap` on the person's mandates for the party in the body, read."""
    if any(in_force(f, u, day) for f, u in spans):
        return None
    who, for_, in_ = _person(tx, person), _party(tx, party), _body(tx, body_id)
    ended = [u for _, u in spans if u is not None and u < day]
    if ended:
        return f"the mandate of {who} for {for_} in {in_} ended on {english_date(max(ended))}"
    later = [f for f, _ in spans if f > day]
    if later:
        return f"the mandate of {who} for {for_} in {in_} starts on {english_date(min(later))}"
    return f"{who} {did} but has no mandate for {for_} in {in_}"


def coverage(on: Change | Tx, proposal_id: str, meeting: MeetingRow) -> Coverage:
    """Which concerned parties of the proposal nobody speaks for at the meeting, and which
    are on record as disagreeing (see the module docstring for the rules)."""
    tx = on.tx if isinstance(on, Change) else on
    day, body = meeting_day(meeting), meeting.body_id
    # the concerned parties with all their mandates in the body, in one read
    rows = tx.all(
        "SELECT pp.party_id, m.person_id, m.valid_from, m.valid_until FROM proposal_party pp "
        "LEFT JOIN mandate m ON m.party_id = pp.party_id AND m.body_id = ? "
        "WHERE pp.proposal_id = ? ORDER BY pp.party_id, m.valid_from",
        (body, proposal_id),
    )
    parties = list(dict.fromkeys(str(r[0]) for r in rows))
    spans = _spans([(person, party, f, u) for party, person, f, u in rows if person is not None])
    attended = tx.all(
        "SELECT person_id, party_id, status FROM attendance WHERE meeting_id = ? "
        "ORDER BY recorded_at, person_id",
        (meeting.id,),
    )
    positions = {
        party: (person, stance)
        for party, person, stance in tx.all(
            "SELECT party_id, person_id, stance FROM prior_position WHERE meeting_id = ? "
            "AND proposal_id = ?",
            (meeting.id, proposal_id),
        )
    }
    uncovered, dissenting = [], []
    for party in parties:
        voices = [(person, status) for person, p, status in attended if p == party]
        voice_gaps = [
            _voice_gap(tx, spans, person, status, party, body, day) for person, status in voices
        ]
        position = positions.get(party)
        position_gap = _position_gap(tx, spans, position, party, body, day)
        if position is not None and position_gap is None and position[1] == "disagree":
            dissenting.append(party)
        if None in voice_gaps or position_gap is None:
            continue  # covered
        reason = next((gap for gap in [*voice_gaps, position_gap] if gap), "")
        uncovered.append(Gap(party, _party(tx, party), reason or _nobody(tx, party, voices)))
    return Coverage(uncovered, dissenting)


def _voice_gap(
    tx: Tx, spans: Spans, person: str, status: str, party: str, body_id: str, day: date
) -> str | None:
    """None when this attendance speaks for the party; "" when it never could (expected,
    absent); else why it does not (``spans``: the mandates in the body, read)."""
    if status not in COVERING:
        return ""
    if status == "substitute" and not is_registered_substitute(tx, person, party, body_id):
        return _not_registered(tx, person, party, body_id)
    did = "attended as substitute" if status == "substitute" else "attended"
    return _gap(tx, spans.get((person, party), []), person, party, body_id, day, did)


def _position_gap(
    tx: Tx,
    spans: Spans,
    position: tuple[str, str | None] | None,
    party: str,
    body_id: str,
    day: date,
) -> str | None:
    if position is None:
        return ""
    person, stance = position
    if stance not in STANCES:
        return (
            f"the prior position of {_party(tx, party)} has no stance (agree, disagree or "
            "abstain); record it again with --stance"
        )
    gave = "gave the prior position"
    return _gap(tx, spans.get((person, party), []), person, party, body_id, day, gave)


def unmandated_warning(
    tx: Tx, person: str, body_id: str, day: date, parties: Sequence[str]
) -> str | None:
    """Why an attendance will not count: ``person`` has a mandate in the body on ``day``
    for none of ``parties`` (the parties the meeting's items concern); None when it can."""
    if not parties:
        return None
    rows = tx.all(
        "SELECT person_id, party_id, valid_from, valid_until FROM mandate WHERE person_id = ? "
        "AND body_id = ? ORDER BY valid_from",
        (person, body_id),
    )
    spans = _spans(rows)
    if any(in_force(f, u, day) for party in parties for f, u in spans.get((person, party), [])):
        return None
    names = ", ".join(_party(tx, party) for party in parties)
    return (
        f"{_person(tx, person)} has no mandate in {_body(tx, body_id)} on {english_date(day)} "
        f"for any party its items concern ({names}); recorded, but it does not count in the "
        "mandate check"
    )


# -- words ------------------------------------------------------------------------------------


def english_date(day: date) -> str:
    return format_date(day, "d MMMM y", locale="en_GB")


def _name(tx: Tx, sql: str, ident: str) -> str:
    found = tx.scalar(sql, (ident,))
    return str(found) if found else ident


def _person(tx: Tx, person: str) -> str:
    return _name(tx, "SELECT name FROM person WHERE id = ?", person)


def _party(tx: Tx, party: str) -> str:
    return _name(tx, "SELECT name FROM party WHERE id = ?", party)


def _body(tx: Tx, body_id: str) -> str:
    short = tx.scalar("SELECT short_name FROM body WHERE id = ?", (body_id,))
    return f"the {short}" if short else _name(tx, "SELECT name FROM body WHERE id = ?", body_id)


def _not_registered(tx: Tx, person: str, party: str, body_id: str) -> str:
    elsewhere = [
        _body(tx, str(b))
        for (b,) in tx.all(
            "SELECT body_id FROM substitute WHERE person_id = ? AND party_id = ? ORDER BY body_id",
            (person, party),
        )
    ]
    who, in_ = _person(tx, person), _body(tx, body_id)
    if elsewhere:
        return f"{who} is a registered substitute for {' and '.join(elsewhere)}, not for {in_}"
    return f"{who} attended as substitute but is not registered for {_party(tx, party)} in {in_}"


def _nobody(tx: Tx, party: str, voices: list[tuple[str, str]]) -> str:
    told = [f"{_person(tx, person)} announced {status}" for person, status in voices]
    note = f" ({'; '.join(told)})" if told else ""
    return f"nobody attended for {_party(tx, party)}{note} and it gave no prior position"
