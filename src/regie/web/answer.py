"""Answering an invitation: the personal link in an ``agenda`` or ``meeting_changed`` mail,
and in the scheduler's ``absence_reminder`` (absent without a stand-in or positions).

GET and HEAD show the meeting, its agenda, the person's current answer and a form; they
never change anything (mail scanners open links). A POST (CSRF-checked) records the
answer with :func:`regie.engine.attendance.record_answer`: one transaction, and for each
part the row and audit event ``regie attend`` records:

- "I will come" is ``expected`` (``regie attend M P --expected``): before the meeting a
  person announces; ``present`` is recorded from the meeting day on, by who sees it;
- "I cannot come" is ``absent`` (``--absent``), and, as the rules of conduct ask (seed
  002, point 7), optionally
  - a stand-in: a registered substitute for the person's party in the body (config
    ``[[substitutes]]``), announced as ``expected`` for the person; a stand-in named
    before and not now is withdrawn (``absent`` for the person). On the day the stand-in
    attends as ``substitute`` (``regie attend M S --substitute-for P``);
  - a prior position on each item that concerns the person's party (``--prior-position
    PROPOSAL --stance STANCE --position TEXT``), when the person has a mandate for the
    party in the body on the meeting day. A stance for any other item refuses the whole
    answer (a form the page never showed); nothing is stored then.

With "I will come", a stand-in and stances in the form are ignored (they belong to the
absent case). The answer can be changed until the meeting starts; the link works until
then, and never longer than ``link_days`` after it was sent. A cancelled meeting, or a
person who is no longer a member of the body, gets a page that says so.

Extension point: a feasibility statement (``regie feasibility``, the scheduler's rule 8)
is not asked here yet; the page would show it in the ``feasibility`` block of
``answer.html`` and :func:`submit` pass it to :mod:`regie.engine.feasibility` next to
:func:`record_answer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from regie import labels
from regie.clock import to_utc_naive
from regie.engine import attendance
from regie.engine import repository as repo
from regie.engine.agenda_view import agenda
from regie.engine.mandate import STANCES, has_mandate, meeting_day
from regie.engine.storage import Tx
from regie.errors import RegieError
from regie.web import csrf
from regie.web.links import Link, UnknownLink
from regie.web.pages import message, page

ANSWERS = {"present": "expected", "absent": "absent"}  # form value -> attendance status
_OFF_AGENDA = ("deferred", "withdrawn")

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "nl": {
        "no_member": ("Geen lid meer", "U bent geen lid meer van {body}; deze uitnodiging "
                      "kunt u niet meer beantwoorden. Vragen? Neem contact op met de "
                      "netwerkcoördinator."),
        "cancelled": ("Vergadering afgelast", "De vergadering van {body} op {when} is "
                      "afgelast. U hoeft niets te laten weten."),
        "started": ("Vergadering begonnen", "De vergadering van {body} is begonnen; uw "
                    "antwoord kan niet meer worden gewijzigd. Meld u bij de voorzitter."),
        "expired": ("Link verlopen", "Deze link is verlopen. Laat de netwerkcoördinator "
                    "weten of u komt, of vraag om een nieuwe uitnodiging."),
        "refused": ("Antwoord niet opgeslagen", "Er is niets opgeslagen: {reason}"),
    },
    "en": {
        "no_member": ("No longer a member", "You are no longer a member of {body}; this "
                      "invitation can no longer be answered. Questions? Contact the network "
                      "coordinator."),
        "cancelled": ("Meeting cancelled", "The meeting of {body} on {when} has been "
                      "cancelled. There is nothing to answer."),
        "started": ("Meeting started", "The meeting of {body} has started; your answer can "
                    "no longer be changed. Tell the chair."),
        "expired": ("Link expired", "This link has expired. Tell the network coordinator "
                    "whether you will come, or ask for a new invitation."),
        "refused": ("Answer not saved", "Nothing was saved: {reason}"),
    },
}  # fmt: skip
REASONS = {
    "nl": {
        "answer": "kies of u komt of niet.",
        "substitute": "{who} mag uw partij niet vervangen in dit overleg; kies een van de "
        "genoemde vervangers.",
        "item": "{pid} gaat niet over uw partij of staat niet op de agenda.",
        "stance": "kies eens, oneens of onthouding bij {pid}.",
        "mandate": "u hebt op de vergaderdag geen mandaat voor uw partij in dit overleg, dus "
        "geen standpunt vooraf.",
        "engine": "{detail}",
    },
    "en": {
        "answer": "say whether you will come or not.",
        "substitute": "{who} may not stand in for your party in this body; choose one of "
        "the substitutes listed.",
        "item": "{pid} does not concern your party or is not on the agenda.",
        "stance": "choose agree, disagree or abstain for {pid}.",
        "mandate": "you have no mandate for your party in this body on the meeting day, so "
        "no prior position.",
        "engine": "{detail}",
    },
}


class Refused(RegieError):
    """An answer that is not recorded; the page says why in the person's language."""

    exit_code = 2

    def __init__(self, reason: str, **values: str) -> None:
        super().__init__(reason)
        self.reason, self.values = reason, values


@dataclass
class View:
    """What the page shows, read in one read transaction."""

    meeting: dict[str, Any]
    person: dict[str, Any]
    items: list[dict[str, Any]]
    substitutes: dict[str, str]  # person id -> name, in name order
    may_position: bool
    current: dict[str, Any] | None
    stand_in: dict[str, Any] | None
    closed: str | None  # None (open), or "no_member", "cancelled", "started", "expired"


def show(request: Request, link: Link) -> Response:
    view = _read(request, link)
    if view.closed in (None, "started"):
        return _page(request, link, view)
    return _closed(request, link, view, 200 if view.closed == "cancelled" else None)


def submit(request: Request, link: Link, form: dict[str, str]) -> Response:
    state = request.app.state.regie
    csrf.check(state.key, request.cookies.get(csrf.COOKIE), form.get(csrf.FIELD), request.url.path)
    view = _read(request, link)
    if view.closed is not None:
        return _closed(request, link, view, None)
    try:
        status, stand_in, positions = _parse(form, view)
        _record(request, link, view, status, stand_in, positions)
    except Refused as exc:
        title, text = TEXTS[link.language]["refused"]
        reason = REASONS[link.language][exc.reason].format(**exc.values)
        return message(request, link.language, title, text.format(reason=reason), status=400)
    # the scheduler's feasibility statement would be passed on here (module docstring)
    return _page(request, link, _read(request, link), saved=True)


def _record(
    request: Request,
    link: Link,
    view: View,
    status: str,
    stand_in: str | None,
    positions: list[tuple[str, str, str]],
) -> None:
    from regie.engine.warmup import prepare

    state = request.app.state.regie
    with state.db.transaction(write=False) as ahead:
        prepare(ahead, state.clock)
    try:
        with state.db.transaction() as session:
            attendance.record_answer(
                session=session, clock=state.clock, actor=link.person_id,
                meeting_id=view.meeting["id"], person=link.person_id, status=status,
                stand_in=stand_in, positions=positions,
            )  # fmt: skip
    except RegieError as exc:  # e.g. a decision at the meeting fixed the attendance
        raise Refused("engine", detail=str(exc)) from exc


def _parse(form: dict[str, str], view: View) -> tuple[str, str | None, list[tuple[str, str, str]]]:
    """The answer in the form, checked against what the page offered."""
    status = ANSWERS.get(form.get("answer", ""))
    if status is None:
        raise Refused("answer")
    if status != "absent":
        return status, None, []
    stand_in = form.get("substitute", "").strip() or None
    if stand_in is not None and stand_in not in view.substitutes:
        raise Refused("substitute", who=stand_in)
    concerned = {item["proposal"] for item in view.items if item["concerns"]}
    positions = []
    for field, stance in sorted(form.items()):
        if not field.startswith("stance:") or not stance:
            continue
        pid = field.removeprefix("stance:")
        if pid not in concerned:
            raise Refused("item", pid=pid)
        if stance not in STANCES:
            raise Refused("stance", pid=pid)
        if not view.may_position:
            raise Refused("mandate")
        positions.append((pid, stance, form.get(f"position:{pid}", "").strip()))
    for field, text in form.items():
        pid = field.removeprefix("position:")
        if field.startswith("position:") and text.strip() and not form.get(f"stance:{pid}"):
            raise Refused("stance" if pid in concerned else "item", pid=pid)
    return status, stand_in, positions


def _read(request: Request, link: Link) -> View:
    state = request.app.state.regie
    with state.db.transaction(write=False) as session:
        return _view(Tx(session), link, to_utc_naive(state.clock.now()), state.settings.link_days)


def _view(tx: Tx, link: Link, now: Any, link_days: int) -> View:
    if (
        link.meeting_id is None
        or tx.one("SELECT 1 FROM meeting WHERE id = ?", (link.meeting_id,)) is None
    ):
        raise UnknownLink()
    meeting = repo.load_meeting(tx, link.meeting_id)
    body_name, location = tx.one(
        "SELECT b.name, m.location FROM meeting m JOIN body b ON b.id = m.body_id WHERE m.id = ?",
        (meeting.id,),
    ) or (meeting.body_id, "")
    person = link.person_id
    name, party, party_name = tx.one(
        "SELECT p.name, p.party_id, COALESCE(y.short_name, y.name) FROM person p "
        "JOIN party y ON y.id = p.party_id WHERE p.id = ?",
        (person,),
    ) or (person, "", "")
    positions = {
        str(r[0]): {"stance": r[1], "text": r[2], "by": r[3]}
        for r in tx.all(
            "SELECT pp.proposal_id, pp.stance, pp.position, p.name FROM prior_position pp "
            "JOIN person p ON p.id = pp.person_id WHERE pp.meeting_id = ? AND pp.party_id = ?",
            (meeting.id, party),
        )
    }
    items = []
    for item in agenda(session=tx.session, meeting_id=meeting.id, lang=link.language)["items"]:
        if item["result"] in _OFF_AGENDA or item["awaiting_approval"]:
            continue
        item["concerns"] = party in item["parties"]
        item["position"] = positions.get(item["proposal"])
        items.append(item)
    subs = tx.all(
        "SELECT s.person_id, p.name FROM substitute s JOIN person p ON p.id = s.person_id "
        "WHERE s.party_id = ? AND s.body_id = ? AND s.person_id <> ? ORDER BY p.name, p.id",
        (party, meeting.body_id, person),
    )
    return View(
        meeting={"id": meeting.id, "body_name": body_name, "starts_at": meeting.starts_at,
                 "ends_at": meeting.ends_at, "location": location, "status": meeting.status},
        person={"id": person, "name": name, "party": party, "party_name": party_name},
        items=items,
        substitutes={str(r[0]): str(r[1]) for r in subs},
        may_position=bool(party) and has_mandate(tx, person, party, meeting.body_id,
                                                 meeting_day(meeting)),
        current=_current(tx, meeting.id, person, link.language),
        stand_in=_stand_in(tx, meeting.id, person, link.language),
        closed=_closed_because(tx, link, meeting, now, link_days),
    )  # fmt: skip


def _closed_because(tx: Tx, link: Link, meeting: Any, now: Any, link_days: int) -> str | None:
    if not repo.is_member(tx, meeting.body_id, link.person_id):
        return "no_member"
    if meeting.status != "scheduled":
        return "cancelled"
    if now >= meeting.starts_at:
        return "started"
    if now >= link.expires_at(link_days):
        return "expired"
    return None


def _current(tx: Tx, meeting_id: str, person: str, lang: str) -> dict[str, Any] | None:
    row = tx.one(
        "SELECT a.status, a.recorded_at, p.name FROM attendance a LEFT JOIN person p "
        "ON p.id = a.recorded_by WHERE a.meeting_id = ? AND a.person_id = ?",
        (meeting_id, person),
    )
    if row is None:
        return None
    answer = "absent" if row[0] == "absent" else "present"
    return {"status": row[0], "label": labels.attendance(str(row[0]), lang), "answer": answer,
            "at": row[1], "by": row[2]}  # fmt: skip


def _stand_in(tx: Tx, meeting_id: str, person: str, lang: str) -> dict[str, Any] | None:
    row = tx.one(
        "SELECT a.person_id, p.name, a.status FROM attendance a JOIN person p "
        "ON p.id = a.person_id WHERE a.meeting_id = ? AND a.substitute_for = ? "
        "AND a.status IN ('expected', 'substitute') ORDER BY a.recorded_at DESC",
        (meeting_id, person),
    )
    if row is None:
        return None
    return {"id": row[0], "name": row[1], "label": labels.attendance(str(row[2]), lang)}


def _page(request: Request, link: Link, view: View, *, saved: bool = False) -> Response:
    return page(
        request, "answer.html", link.language, meeting=view.meeting, person=view.person,
        items=view.items, substitutes=view.substitutes, may_position=view.may_position,
        current=view.current, stand_in=view.stand_in, open=view.closed is None, saved=saved,
        stances=STANCES,
    )  # fmt: skip


def _closed(request: Request, link: Link, view: View, status: int | None) -> Response:
    reason = view.closed or "expired"
    title, text = TEXTS[link.language][reason]
    when = _when(view.meeting["starts_at"], link.language)
    codes = {"no_member": 403, "cancelled": 409, "started": 409, "expired": 410}
    return message(
        request, link.language, title,
        text.format(body=view.meeting["body_name"], when=when),
        status=status or codes[reason],
    )  # fmt: skip


def _when(value: Any, lang: str) -> str:
    from regie.dates import format_when

    return format_when(value, lang)
