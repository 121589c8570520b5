"""`regie audit history P` (the whole timeline of a proposal) and `regie audit as-of DATE P`
(the proposal as it stood then). Registered on the `audit` group in cli/audit.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import click

from regie import labels
from regie.cli import words as w
from regie.cli.support import Env, emit_json, json_option, pass_env, reader, say, table
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.dispute import as_of, history
else:
    as_of = lazy_module("regie.dispute.as_of")
    history = lazy_module("regie.dispute.history")

# section titles and column headers; fields of the header block; lines
# fmt: off
WORDS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "nl": {
        "fields": ("doel", "gestart bij", "partijen", "route", "stand", "vergadering",
                   "ingediend", "besluit v{version}", "voorgestelde route", "laatste wijziging",
                   "gebeurtenissen", "besluit"),
        "route": ("Route van {pid}", "#", "wanneer", "wie", "actie", "route"),
        "meetings": ("Vergaderingen van {pid}", "vergadering", "overleg", "begint", "fase",
                     "resultaat", "besluit"),
        "attendance": ("Aanwezigheid: {body}, {day} ({meeting})", "persoon", "partij",
                       "status", "vervangt", "vastgelegd door"),
        "positions": ("Standpunten vooraf over {pid}: {body}, {day} ({meeting})", "partij",
                      "persoon", "standpunt", "toelichting"),
        "decisions": ("Besluit over {pid}", "versie", "uitkomst", "tekst", "vastgelegd",
                      "bevestigd", "ingetrokken"),
        "steps": ("Besluit over {pid}: stappen", "#", "wanneer", "wie", "actie", "versie",
                  "tekst", "opmerking"),
        "mails": ("Mails over {pid}", "bij", "soort", "aantal", "aan", "status",
                  "laatst verstuurd"),
        "events": ("Logboek van {pid}", "#", "wanneer", "wie", "namens", "actie",
                   "vergadering", "details"),
        "lines": ("heropent {other} ({title}): {reason}",
                  "heropend door {other} ({title}): {reason}",
                  "geen mails", "stand op {at}",
                  "{at} ligt in de toekomst: dit is de stand nu", "nog geen besluit",
                  "bevestigd door {person}, {at}", "{when}, door {person}",
                  "{n} gebeurtenissen tot dan, {after} daarna"),
    },
    "en": {
        "fields": ("purpose", "started at", "parties", "route", "state", "meeting",
                   "submitted", "decision v{version}", "proposed route", "last change",
                   "events", "decision"),
        "route": ("Route of {pid}", "#", "when", "who", "action", "route"),
        "meetings": ("Meetings of {pid}", "meeting", "body", "starts", "stage", "result",
                     "decision"),
        "attendance": ("Attendance: {body}, {day} ({meeting})", "person", "party", "status",
                       "stands in for", "recorded by"),
        "positions": ("Prior positions on {pid}: {body}, {day} ({meeting})", "party",
                      "person", "stance", "position"),
        "decisions": ("Decision on {pid}", "version", "outcome", "text", "recorded",
                      "confirmed", "retracted"),
        "steps": ("Decision on {pid}: steps", "#", "when", "who", "action", "version", "text",
                  "comment"),
        "mails": ("Mails about {pid}", "event", "kind", "mails", "to", "status", "last sent"),
        "events": ("Audit trail of {pid}", "#", "when", "who", "for", "action", "meeting",
                   "details"),
        "lines": ("reopens {other} ({title}): {reason}",
                  "reopened by {other} ({title}): {reason}",
                  "no mails", "as it stood at {at}",
                  "{at} lies in the future: this is the state now", "no decision yet",
                  "confirmed by {person}, {at}", "{when}, by {person}",
                  "{n} events until then, {after} after"),
    },
}
# fmt: on
_REOPENS, _REOPENED, _NO_MAILS, _AS_OF, _FUTURE, _NO_DECISION, _CONFIRMED, _BY, _COUNT = range(9)


def _words(lang: str, key: str) -> tuple[str, ...]:
    return WORDS[labels.language(lang)][key]


def _line(lang: str, index: int, **values: Any) -> str:
    return _words(lang, "lines")[index].format(**values)


def _table(lang: str, key: str, rows: Sequence[tuple[Any, ...]], **values: Any) -> None:
    title, *columns = _words(lang, key)
    table(title.format(**values), columns, rows)


@click.command(name="history")
@click.argument("proposal")
@json_option
@pass_env
def history_cmd(env: Env, proposal: str, as_json: bool) -> None:
    """A proposal's whole history: route, meetings, attendance, decisions, corrections,
    confirmations, mails sent and every audit event."""
    h = reader(env, history.history, proposal_id=proposal, lang=env.lang)
    if as_json:
        emit_json(h)
        return
    lang, pid = env.lang, h["proposal"]["id"]
    _header(lang, h["proposal"])
    for item in h["revisits"]["reopens"]:
        say("  " + _line(lang, _REOPENS, other=item["proposal"], **item))
    for item in h["revisits"]["reopened_by"]:
        say("  " + _line(lang, _REOPENED, other=item["proposal"], **item))
    _route(lang, pid, h["route"])
    _meetings(lang, pid, h["meetings"])
    _decisions(lang, pid, h["decisions"], h["decision_steps"])
    _mails(lang, pid, h["mails"])
    _events(lang, pid, h["events"])


def _header(lang: str, p: dict[str, Any]) -> None:
    names = _words(lang, "fields")
    submitted = _line(
        lang, _BY, when=w.stamp(p["submitted_at"], lang), person=p["submitted_by_name"]
    )
    fields = [
        (names[0], p["purpose_label"]),
        (names[1], p["table_name"]),
        (names[2], ", ".join(p["party_names"].get(x, x) for x in p["parties"])),
        (names[3], " → ".join(p["route_labels"])),
        (names[4], p["state_label"]),
        (names[6], submitted),
    ]
    _fields(f"{p['id']}  {p['title']}", fields)


def _fields(head: str, fields: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in fields)
    say(head)
    for name, value in fields:
        say(f"  {name.ljust(width)}  {value}")


def _route(lang: str, pid: str, changes: list[dict[str, Any]]) -> None:
    rows = [
        (
            c["event"],
            w.stamp(c["at"], lang),
            c["actor_name"],
            c["action_label"],
            " → ".join(c["route_labels"]),
        )
        for c in changes
    ]
    _table(lang, "route", rows, pid=pid)


def _meetings(lang: str, pid: str, meetings: list[dict[str, Any]]) -> None:
    rows: list[tuple[Any, ...]] = [
        (
            m["meeting"],
            m["body_name"],
            w.stamp(m["starts_at"], lang),
            m["stage_label"],
            m["result_label"] or "",
            ", ".join(f"v{v}" for v in m["decisions"]),
        )
        for m in meetings
    ]
    _table(lang, "meetings", rows, pid=pid)
    seen: set[str] = set()
    for m in meetings:
        if m["meeting"] in seen:
            continue
        seen.add(m["meeting"])
        where = {
            "body": m["body_name"],
            "day": w.day(m["starts_at"], lang),
            "meeting": m["meeting"],
        }
        if m["attendance"]:
            rows = [
                (
                    a["person_name"],
                    a["party_name"],
                    a["status_label"],
                    a["substitute_for_name"] or "",
                    a["recorded_by"],
                )
                for a in m["attendance"]
            ]
            _table(lang, "attendance", rows, **where)
        if m["prior_positions"]:
            rows = [
                (
                    x["party_name"],
                    x["person_name"],
                    w.stance(lang, x["stance"] or ""),
                    x["position"],
                )
                for x in m["prior_positions"]
            ]
            _table(lang, "positions", rows, pid=pid, **where)


def _decisions(
    lang: str, pid: str, decisions: list[dict[str, Any]], steps: list[dict[str, Any]]
) -> None:
    if decisions:
        rows = [
            (
                d["version"],
                d["outcome_label"],
                d["text"],
                _by(lang, d["recorded_at"], d["recorded_by_name"]),
                _by(lang, d["confirmed_at"], d["confirmed_by_name"]),
                _by(lang, d["retracted_at"], d["retracted_by"]),
            )
            for d in decisions
        ]
        _table(lang, "decisions", rows, pid=pid)
    if steps:
        _table(lang, "steps", [_step(lang, s) for s in steps], pid=pid)


def _by(lang: str, at: str | None, person: str | None) -> str:
    return _line(lang, _BY, when=w.stamp(at, lang), person=person) if person else ""


def _step(lang: str, s: dict[str, Any]) -> tuple[Any, ...]:
    return (
        s["event"],
        w.stamp(s["at"], lang),
        s["actor_name"],
        s["action_label"],
        s["version"] or "",
        s["text"] or "",
        s["comment"] or "",
    )


def _mails(lang: str, pid: str, mails: list[dict[str, Any]]) -> None:
    """One row per event and kind of notice: how many, to whom, their statuses."""
    if not mails:
        say(_line(lang, _NO_MAILS))
        return
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for m in mails:
        groups.setdefault((m["event"], m["kind"]), []).append(m)
    rows = []
    for (event, kind), found in groups.items():
        statuses = Counter(m["status"] for m in found)
        sent = max((m["sent_at"] for m in found if m["sent_at"]), default=None)
        rows.append(
            (
                f"#{event} {found[0]['action_label']}",
                kind,
                len(found),
                ", ".join(m["person_name"] for m in found),
                ", ".join(f"{status} {n}" for status, n in sorted(statuses.items())),
                w.stamp(sent, lang) if sent else "",
            )
        )
    _table(lang, "mails", rows, pid=pid)


def _events(lang: str, pid: str, events: list[dict[str, Any]]) -> None:
    rows = [
        (
            e["id"],
            w.stamp(e["at"], lang),
            e["actor_name"],
            e["acting_for"],
            e["action_label"],
            e["meeting"],
            w.details(lang, e["payload"], e["payload_labels"]),
        )
        for e in events
    ]
    _table(lang, "events", rows, pid=pid)


@click.command(name="as-of")
@click.argument("moment", metavar="DATE")
@click.argument("proposal")
@json_option
@pass_env
def as_of_cmd(env: Env, moment: str, proposal: str, as_json: bool) -> None:
    """A proposal as it stood at DATE (YYYY-MM-DD: the end of that day; or an ISO time,
    Europe/Amsterdam): state, route, meeting, parties and the decision text, from the audit
    trail. A moment after now shows the state now."""
    at = as_of.moment(moment)
    s = reader(env, as_of.as_of, proposal_id=proposal, at=at, lang=env.lang, now=env.clock.now())
    if as_json:
        emit_json(s)
        return
    lang = env.lang
    names = _words(lang, "fields")
    state = s["state_label"] + (f" ({s['stage_label']})" if s["state"] != s["stage"] else "")
    fields = [(names[4], state), (names[3], " → ".join(s["route_labels"]))]
    if s["proposed_route_labels"]:
        fields.append((names[8], " → ".join(s["proposed_route_labels"])))
    if s["meeting"]:
        fields.append((names[5], w.line(lang, "meeting", **w.meeting(lang, s["meeting"]))))
    fields.append((names[2], ", ".join(s["party_names"].get(x, x) for x in s["parties"])))
    d = s["decision"]
    if d:
        name = names[7].format(version=d["version"]) if d["version"] else names[11]
        fields.append((name, _standing(lang, d)))
    else:
        fields.append((names[11], _line(lang, _NO_DECISION)))
    last = s["last_change"]
    fields.append(
        (
            names[9],
            f"#{last['id']} {last['action_label']}, " + _by(lang, last["at"], last["actor_name"]),
        )
    )
    fields.append((names[10], _line(lang, _COUNT, n=s["events_until"], after=s["events_after"])))
    _fields(
        f"{s['id']}  {s['title']}: " + _line(lang, _AS_OF, pid=s["id"], at=s["at_label"]), fields
    )
    if s["future"]:
        say(_line(lang, _FUTURE, at=s["at_label"]))


def _standing(lang: str, d: dict[str, Any]) -> str:
    status = d["status_label"]
    if d["confirmed"]:
        status = _line(
            lang, _CONFIRMED, person=d["confirmed_by_name"], at=w.stamp(d["confirmed_at"], lang)
        )
    return " – ".join(str(x) for x in (d["outcome_label"], d["text"], status) if x)
