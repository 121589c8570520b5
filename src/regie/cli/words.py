"""The sentences and column headers the CLI prints, in Dutch and English.

Words for ids (states, stages, outcomes…) come from :mod:`regie.labels` through the read
services; dates and times from :func:`regie.dates.format_when`. This module only puts
them into lines: each template is a :meth:`str.format` pattern, keyed by what happened.
Ids a person types next (proposal, meeting) stay in the line, in brackets at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from regie.dates import DATE, DAY, TIME, WHEN, format_when
from regie.labels import language

LINES: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "submitted": "{pid} ingediend bij {body}, op {when} ({meeting})",
        "advanced": "{pid} doorgezet naar {body}, op {when} ({meeting})",
        "returned": "{pid} teruggestuurd naar {body}, op {when} ({meeting})",
        "deferred": "{pid} uitgesteld naar {body}, op {when} ({meeting})",
        "moved": "{pid} {action}",
        "now": "; stand: {state}",
        "late": "; de termijn voor de stukken was al verstreken, met de hand gekozen",
        "route_set": "{pid} route vastgesteld namens {body} op {day} ({meeting}): {route}",
        "route_proposed": "{pid} route voorgesteld: {route}; {body} beslist erover op {when} "
        "({meeting})",
        "route_proposed_later": "{pid} route voorgesteld: {route}; {routing} beslist erover "
        "zodra het voorstel op de agenda staat",
        "approved": "Agenda van {body} op {when} ({meeting}) goedgekeurd namens {routing}"
        "{held}: {items}",
        "held": " van {day} ({meeting})",
        "approved_again": "; de gewijzigde agenda is opnieuw gepubliceerd voor de leden, als "
        "agenda-update; de mails gaan uit met 'regie send'",
        "left_out": "; niet meegestuurd: {awaiting} nog op akkoord van {routing} "
        "(regie agenda approve {meeting})",
        "agenda_route": "{pid}: voorgestelde route {route}",
        "agenda_approval": "Goedgekeurd namens {routing}{held}, {stamp}",
        "agenda_awaiting": "{awaiting} op akkoord van {routing}: regie agenda approve {meeting}",
        "agenda_unapproved": "Nog niet goedgekeurd door {routing}: regie agenda approve {meeting}",
        "awaiting_approval": "wacht op akkoord",
        "parties": "{pid} betrokken partijen gecorrigeerd, nu: {parties} (erbij: {added}; eraf: "
        "{removed})",
        "decided": "{pid} besluit vastgelegd: {outcome}, in {body} op {day} ({meeting}); {state}"
        " (versie {version})",
        "noted": "{pid} {outcome} in {body} op {day} ({meeting}); afgesloten zonder besluit",
        "retracted": "{pid} besluit versie {version} ingetrokken; het voorstel staat weer op "
        "{body} op {day} ({meeting})",
        "override": "; geen gemandateerde stem voor {parties}, toch vastgelegd: {reason}",
        "amended": "{pid} besluittekst gewijzigd, versie {version}; {state}",
        "confirmed": "{pid} besluit bevestigd: {outcome}, versie {version}",
        "present": "{person} ({party}) aanwezig bij {body} op {day} ({meeting})",
        "absent": "{person} ({party}) afwezig bij {body} op {day} ({meeting})",
        "substitute": "{person} ({party}) aanwezig als vervanger van {absent} bij {body} "
        "op {day} ({meeting})",
        "expected": "{person} ({party}) verwacht bij {body} op {day} ({meeting})",
        "prior_position": "Standpunt vooraf van {party} over {pid} vastgelegd ({stance}), voor "
        "{body} op {day} ({meeting})",
        "no_mandate": "{person} heeft op {day} geen mandaat in {body} voor een partij waar de "
        "agendapunten over gaan ({parties}); vastgelegd, maar telt niet mee voor de mandaatcheck",
        "published": "Agenda van {body} op {when} ({meeting}) gepubliceerd voor de leden, "
        "{items}; de mails gaan uit met 'regie send'",
        "republished": "Agenda van {body} op {when} ({meeting}) opnieuw gepubliceerd voor de "
        "leden, als agenda-update, {items}; de mails gaan uit met 'regie send'",
        "news": "Nieuws uit {body} van {day} ({meeting}): {decisions} voor de leden van "
        "{bodies}; de mails gaan uit met 'regie send'",
        "meeting": "{body}, {when} ({meeting})",
        "confirmed_by": "bevestigd door {person}",
        "advance_to": "advance naar {stages}",
        "return_to": "return --to {stages}",
        "or": " of ",
        "none": "geen",
        "more": "nog {n}, niet getoond (de nieuwste {limit} staan hier; --limit N of --all "
        "voor meer)",
    },
    "en": {
        "submitted": "{pid} submitted to {body}, on {when} ({meeting})",
        "advanced": "{pid} advanced to {body}, on {when} ({meeting})",
        "returned": "{pid} sent back to {body}, on {when} ({meeting})",
        "deferred": "{pid} deferred to {body}, on {when} ({meeting})",
        "moved": "{pid} {action}",
        "now": "; state: {state}",
        "late": "; the deadline for documents had passed, chosen by hand",
        "route_set": "{pid} route set on behalf of {body} on {day} ({meeting}): {route}",
        "route_proposed": "{pid} route proposed: {route}; {body} decides on it on {when} "
        "({meeting})",
        "route_proposed_later": "{pid} route proposed: {route}; {routing} decides on it once "
        "the proposal is on its agenda",
        "approved": "Agenda of {body} on {when} ({meeting}) approved on behalf of {routing}"
        "{held}: {items}",
        "held": " of {day} ({meeting})",
        "approved_again": "; the changed agenda was published again to the members, as a "
        "calendar update; the mails go out with 'regie send'",
        "left_out": "; left out: {awaiting} approval by {routing} (regie agenda approve {meeting})",
        "agenda_route": "{pid}: proposed route {route}",
        "agenda_approval": "Approved on behalf of {routing}{held}, {stamp}",
        "agenda_awaiting": "{awaiting} approval by {routing}: regie agenda approve {meeting}",
        "agenda_unapproved": "Not yet approved by {routing}: regie agenda approve {meeting}",
        "awaiting_approval": "awaiting approval",
        "parties": "{pid} concerned parties corrected, now: {parties} (added: {added}; removed: "
        "{removed})",
        "decided": "{pid} decision recorded: {outcome}, at {body} on {day} ({meeting}); {state}"
        " (version {version})",
        "noted": "{pid} {outcome} at {body} on {day} ({meeting}); closed without a decision",
        "retracted": "{pid} decision version {version} retracted; the proposal is back on "
        "{body} on {day} ({meeting})",
        "override": "; no mandated voice for {parties}, recorded anyway: {reason}",
        "amended": "{pid} decision text amended, version {version}; {state}",
        "confirmed": "{pid} decision confirmed: {outcome}, version {version}",
        "present": "{person} ({party}) present at {body} on {day} ({meeting})",
        "absent": "{person} ({party}) absent from {body} on {day} ({meeting})",
        "substitute": "{person} ({party}) present as substitute for {absent} at {body} "
        "on {day} ({meeting})",
        "expected": "{person} ({party}) expected at {body} on {day} ({meeting})",
        "prior_position": "Prior position of {party} on {pid} recorded ({stance}), for {body} "
        "on {day} ({meeting})",
        "no_mandate": "{person} has no mandate in {body} on {day} for any party its items "
        "concern ({parties}); recorded, but it does not count in the mandate check",
        "published": "Agenda of {body} on {when} ({meeting}) published to the members, "
        "{items}; the mails go out with 'regie send'",
        "republished": "Agenda of {body} on {when} ({meeting}) published again to the "
        "members, as a calendar update, {items}; the mails go out with 'regie send'",
        "news": "News from {body} of {day} ({meeting}): {decisions} for the members of "
        "{bodies}; the mails go out with 'regie send'",
        "meeting": "{body}, {when} ({meeting})",
        "confirmed_by": "confirmed by {person}",
        "advance_to": "advance to {stages}",
        "return_to": "return --to {stages}",
        "or": " or ",
        "none": "none",
        "more": "{n} more, not shown (newest {limit} shown; --limit N or --all for more)",
    },
}

# the stance of a prior position (engine.mandate.STANCES)
STANCES: Final[dict[str, dict[str, str]]] = {
    "nl": {"agree": "stemt in", "disagree": "stemt niet in", "abstain": "onthoudt zich"},
    "en": {"agree": "agrees", "disagree": "disagrees", "abstain": "abstains"},
}

# (none, one, many) for counted things
COUNTS: Final[dict[str, dict[str, tuple[str, str, str]]]] = {
    "nl": {
        "items": ("geen agendapunten", "1 agendapunt", "{n} agendapunten"),
        "decisions": ("geen besluiten", "1 besluit", "{n} besluiten"),
        "bodies": ("geen overleggen", "1 overleg", "{n} overleggen"),
        "awaiting": ("geen agendapunten wachten", "1 agendapunt wacht", "{n} agendapunten wachten"),
    },
    "en": {
        "items": ("no items", "1 item", "{n} items"),
        "decisions": ("no decisions", "1 decision", "{n} decisions"),
        "bodies": ("no bodies", "1 body", "{n} bodies"),
        "awaiting": ("no items await", "1 item awaits", "{n} items await"),
    },
}

# table titles and column headers (`show`: no title, its field names); audit payload keys
TABLES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "nl": {
        "list": (
            "Voorstellen",
            "id",
            "titel",
            "doel",
            "stand",
            "vergadering",
        ),
        "meetings": ("Vergaderingen", "id", "overleg", "begint", "status", "punten"),
        "agenda": (
            "Agenda van {body}, {when} ({meeting}): {status}",
            "voorstel",
            "titel",
            "doel",
            "partijen",
            "resultaat",
        ),
        "people": ("Personen", "id", "naam", "partij", "taal", "e-mail"),
        "audit": (
            "Logboek van {pid}",
            "#",
            "wanneer",
            "wie",
            "account",
            "namens",
            "actie",
            "vergadering",
            "details",
        ),
        "show": (
            "",
            "doel",
            "gestart bij",
            "partijen",
            "route",
            "stand",
            "vergadering",
            "besluit v{version}",
            "mogelijk",
            "voorgestelde route",
        ),
    },
    "en": {
        "list": ("Proposals", "id", "title", "purpose", "state", "meeting"),
        "meetings": ("Meetings", "id", "body", "starts", "status", "items"),
        "agenda": (
            "Agenda of {body}, {when} ({meeting}): {status}",
            "proposal",
            "title",
            "purpose",
            "parties",
            "result",
        ),
        "people": ("People", "id", "name", "party", "language", "e-mail"),
        "audit": (
            "Audit trail of {pid}",
            "#",
            "when",
            "who",
            "account",
            "for",
            "action",
            "meeting",
            "details",
        ),
        "show": (
            "",
            "purpose",
            "started at",
            "parties",
            "route",
            "state",
            "meeting",
            "decision v{version}",
            "moves",
            "proposed route",
        ),
    },
}

DETAIL_KEYS: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "to": "naar",
        "outcome": "uitkomst",
        "text": "tekst",
        "reason": "reden",
        "route": "route",
        "override": "zonder mandaat",
        "status": "status",
        "person": "persoon",
        "after": "partijen nu",
    },
    "en": {
        "to": "to",
        "outcome": "outcome",
        "text": "text",
        "reason": "reason",
        "route": "route",
        "override": "override",
        "status": "status",
        "person": "person",
        "after": "parties now",
    },
}


def line(lang: str, key: str, **values: Any) -> str:
    return LINES[language(lang)][key].format(**values)


def stance(lang: str, stance_id: str) -> str:
    return STANCES[language(lang)].get(stance_id, stance_id)


def count(lang: str, what: str, n: int) -> str:
    none, one, many = COUNTS[language(lang)][what]
    return none if n == 0 else one if n == 1 else many.format(n=n)


def title(lang: str, key: str, **values: Any) -> str:
    return TABLES[language(lang)][key][0].format(**values)


def headers(lang: str, key: str) -> list[str]:
    return list(TABLES[language(lang)][key][1:])


def when(value: object, lang: str, part: int = WHEN) -> str:
    """A stored time in words (empty when there is none)."""
    return format_when(value, language(lang), part) if value else ""


def day(value: object, lang: str) -> str:
    return when(value, lang, DAY)


def stamp(value: object, lang: str) -> str:
    """Date and time without the weekday, for narrow columns: ``7 januari 2027, 09.30 uur``."""
    return f"{when(value, lang, DATE)}, {when(value, lang, TIME)}" if value else ""


def word(words: Mapping[str, str], kind: str, id_: str) -> str:
    """The word for ``kind:id`` from a workflow's words, a state also as its stage."""
    found = words.get(f"{kind}:{id_}")
    if found is None and kind == "state":
        found = words.get(f"stage:{id_}")
    return found if found is not None else id_


def meeting(lang: str, brief: Mapping[str, Any] | None, part: int = WHEN) -> dict[str, str]:
    """``body``, ``when``/``day`` and ``meeting`` (id) of a meeting, for a template."""
    if not brief:
        return {"body": "", "when": "", "day": "", "meeting": ""}
    at = brief.get("starts_at")
    return {
        "body": str(brief["body_name"]),
        "when": when(at, lang, part),
        "day": day(at, lang),
        "meeting": str(brief["id"]),
    }


def moves(lang: str, allowed: Sequence[Mapping[str, Any]]) -> str:
    """``advance naar voorzittersoverleg, return --to table of chairs, defer``: the
    commands, with the words of advance's target and the ids return takes."""
    out = []
    for m in allowed:
        if m["move"] == "return" and m["to"]:
            out.append(line(lang, "return_to", stages=line(lang, "or").join(m["to"])))
        elif m["move"] == "advance" and m["to_labels"]:
            out.append(line(lang, "advance_to", stages=line(lang, "or").join(m["to_labels"])))
        else:
            out.append(str(m["move"]))
    return ", ".join(out) or line(lang, "none")


def details(lang: str, payload: Mapping[str, Any], words: Mapping[str, str]) -> str:
    """An audit event's payload: ``naar: voorzittersoverleg; reden: …``."""

    def shown(key: str) -> str:
        if key in words:
            return words[key]
        value = payload[key]
        sep = ", " if key == "after" else " → "  # parties are a list, a route a path
        return sep.join(map(str, value)) if isinstance(value, list) else str(value)

    names = DETAIL_KEYS[language(lang)]
    return "; ".join(f"{names[k]}: {shown(k)}" for k in names if payload.get(k))
