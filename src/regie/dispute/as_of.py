"""``regie audit as-of DATE P``: a proposal as it stood at a moment, from its audit events.

The events up to the moment are replayed (:func:`regie.engine.replay.replay`, the same
replay ``regie check`` compares with the stored rows) into the state, stage, route and
meeting; the concerned parties follow from ``submitted`` and ``parties_changed``, the
decision standing then (text, version, outcome, confirmed or not) from ``decided``,
``amended``, ``confirmed``, ``decision_retracted`` and ``noted``.

A moment is an aware time, or a date: the end of that day in Europe/Amsterdam. A moment
before the proposal was submitted is refused (:class:`~regie.errors.UsageError`, naming the
submission). A moment after now is not refused: the answer is the state now (nothing later
is known), marked ``future``; a date of today is today so far, not marked. ``until`` says
which moment the answer describes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from regie import labels
from regie.clock import AMSTERDAM, SystemClock, to_local, to_utc_naive
from regie.dates import DATE, format_when
from regie.engine import audit, queries
from regie.engine import repository as repo
from regie.engine.audit import Event
from regie.engine.machine import AWAITING, DECIDED
from regie.engine.replay import STATE_ACTIONS, replay
from regie.engine.routing import may_route
from regie.engine.storage import AnySession, Tx
from regie.errors import UsageError
from regie.workflows.definition import Workflow


def moment(text: str) -> date | datetime:
    """``2027-01-28`` (that day) or an ISO time (``2027-01-28T21:00``, naive: local time)."""
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        at = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"'{text}' is not a date or time; give YYYY-MM-DD (the end of that day) or an ISO "
            "time such as 2027-01-28T21:00 (Europe/Amsterdam unless it names its offset)"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=AMSTERDAM)


def end_of(at: date | datetime) -> datetime:
    """The last moment ``at`` stands for, as naive UTC (how events are stored)."""
    if isinstance(at, datetime):
        return to_utc_naive(at if at.tzinfo else at.replace(tzinfo=AMSTERDAM))
    next_day = datetime.combine(at + timedelta(days=1), time(0), tzinfo=AMSTERDAM)
    return to_utc_naive(next_day) - timedelta(microseconds=1)


def _start_of(at: date | datetime) -> datetime:
    """The first moment ``at`` stands for, as naive UTC: a date of today is not future."""
    if isinstance(at, datetime):
        return end_of(at)
    return to_utc_naive(datetime.combine(at, time(0), tzinfo=AMSTERDAM))


def as_of(
    *,
    session: AnySession,
    proposal_id: str,
    at: date | datetime,
    lang: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The proposal as its events up to ``at`` say it was; see the module docstring.
    ``now`` (aware; default: the system clock) decides what lies in the future."""
    tx = Tx(session)
    p = repo.load_proposal(tx, proposal_id)  # NotFound: "see 'regie list'"
    cw = repo.workflow_for(tx, p.workflow_digest)
    wf = cw.workflow
    asked = end_of(at)
    current = to_utc_naive(now or SystemClock().now())
    until = min(asked, current)
    events = audit.events_for(session, p.id)
    upto = [ev for ev in events if ev.at <= until]
    if not upto:
        raise _before_submission(p.id, events, at)
    replayed, _findings = replay(upto, cw)  # findings are `regie check`'s business
    last = upto[-1]
    out: dict[str, Any] = {
        "id": p.id,
        "title": str(upto[0].payload.get("title", p.title)),
        "at": _moment_text(at),
        "until": to_local(until).isoformat(timespec="seconds"),
        "future": _start_of(at) > current,
        "state": replayed.state,
        "stage": replayed.stage,
        "route": list(replayed.route),
        "proposed_route": _proposed_route(upto, wf, replayed.state),
        "meeting": queries.meeting_brief(tx, replayed.meeting_id) if replayed.meeting_id else None,
        "parties": _parties(upto),
        "decision": _decision(upto),
        "retracted_versions": [
            int(ev.payload.get("version", 0)) for ev in upto if ev.action == "decision_retracted"
        ],
        "last_event": _brief(last),
        "last_change": _brief(next(ev for ev in reversed(upto) if ev.action in STATE_ACTIONS)),
        "events_until": len(upto),
        "events_after": len(events) - len(upto),
    }
    out["party_names"] = _names(tx, "party", out["parties"])
    people = _names(tx, "person", [str(x) for x in _people(out) if x])
    for item in (out["decision"], out["last_event"], out["last_change"]):
        for key in ("actor", "recorded_by", "confirmed_by"):
            if item and item.get(key):
                item[f"{key}_name"] = people.get(item[key], item[key])
    if lang:
        _add_labels(out, wf, labels.language(lang))
    return out


def _before_submission(pid: str, events: list[Event], at: date | datetime) -> UsageError:
    if not events:  # `regie check` reports a proposal without events
        return UsageError(f"{pid} has no audit events; run 'regie check'")
    first = events[0].at
    day = to_local(first).date().isoformat()
    return UsageError(
        f"{pid} was submitted on {to_local(first):%Y-%m-%d %H:%M}, after {_moment_text(at)}; "
        f"choose a later date ({day} or after)"
    )


def _moment_text(at: date | datetime) -> str:
    if isinstance(at, datetime):
        return to_local(at).isoformat(timespec="seconds")
    return at.isoformat()


def _parties(events: list[Event]) -> list[str]:
    parties: list[str] = []
    for ev in events:
        if ev.action == "submitted":
            parties = [str(x) for x in ev.payload.get("parties", [])]
        elif ev.action == "parties_changed":
            parties = [str(x) for x in ev.payload.get("after", [])]
    return parties


def _proposed_route(events: list[Event], wf: Workflow, state: str) -> list[str] | None:
    """A route proposed to the routing body and not set (yet), while it could still be."""
    pending: list[str] | None = None
    for ev in events:
        if ev.action == "route_proposed":
            pending = [str(s) for s in ev.payload.get("route", [])]
        elif ev.action in ("route_set", "submitted"):
            pending = None
    return pending if pending is not None and may_route(wf, state) else None


def _decision(events: list[Event]) -> dict[str, Any] | None:
    """The decision standing after ``events``: recorded, amended, confirmed; a retraction
    takes it away; an information item is noted (no version)."""
    standing: dict[str, Any] | None = None
    for ev in events:
        pl = ev.payload
        when = to_local(ev.at).isoformat(timespec="seconds")
        if ev.action in ("decided", "noted"):
            standing = {
                "version": int(pl.get("version", 0)),
                "outcome": pl.get("outcome"),
                "text": pl.get("text"),
                "meeting": ev.meeting_id,
                "recorded_by": ev.actor,
                "recorded_at": when,
                "noted": ev.action == "noted",
                "confirmed": False,
                "confirmed_by": None,
                "confirmed_at": None,
                "event": ev.id,
            }
        elif ev.action == "amended" and standing is not None:
            standing |= {"version": int(pl.get("version", 0)), "text": pl.get("text"),
                         "recorded_by": ev.actor, "recorded_at": when, "event": ev.id}  # fmt: skip
        elif ev.action == "confirmed" and standing is not None:
            standing |= {"confirmed": True, "confirmed_by": ev.actor, "confirmed_at": when}
        elif ev.action == "decision_retracted":
            standing = None
    return standing


def _brief(ev: Event) -> dict[str, Any]:
    return {"id": ev.id, "at": to_local(ev.at).isoformat(timespec="seconds"),
            "actor": ev.actor, "action": ev.action}  # fmt: skip


def _people(out: dict[str, Any]) -> list[Any]:
    d = out["decision"] or {}
    return [d.get("recorded_by"), d.get("confirmed_by"), out["last_event"]["actor"],
            out["last_change"]["actor"]]  # fmt: skip


def _names(tx: Tx, table: str, ids: list[str]) -> dict[str, str]:
    """``id -> name`` of parties or people (``table``)."""
    assert table in ("party", "person")
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = tx.all(f"SELECT id, name FROM {table} WHERE id IN ({marks})", ids)
    return {str(i): str(n) for i, n in rows}


def _add_labels(out: dict[str, Any], wf: Workflow, lang: str) -> None:
    out["state_label"] = labels.state(wf, out["state"], lang)
    out["stage_label"] = labels.stage(wf, out["stage"], lang)
    out["route_labels"] = [labels.stage(wf, s, lang) for s in out["route"]]
    proposed = out["proposed_route"]
    out["proposed_route_labels"] = [labels.stage(wf, s, lang) for s in proposed or []] or None
    d = out["decision"]
    if d is not None:
        d["outcome_label"] = labels.outcome(wf, str(d["outcome"]), lang)
        d["status_label"] = _status(d, lang)
    for key in ("last_event", "last_change"):
        out[key]["action_label"] = labels.action(out[key]["action"], lang)
    out["at_label"] = (
        format_when(out["at"], lang, DATE) if len(out["at"]) == 10 else format_when(out["at"], lang)
    )


def _status(d: dict[str, Any], lang: str) -> str:
    if d["noted"]:
        return labels.action("noted", lang)
    return labels.STATES[lang][DECIDED if d["confirmed"] else AWAITING]
