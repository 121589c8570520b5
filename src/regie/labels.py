"""Words people read for the ids the engine stores: states, stages, outcomes, purposes,
actions, attendance, meeting statuses and languages, in Dutch and English.

Stage, outcome and purpose names come from the workflow a proposal follows (so a region
with its own workflows sees its own words); the closed states, actions, attendance and
meeting statuses and language names are regie's own vocabulary below.
:func:`workflow_labels` packs a workflow's words into a JSON-able mapping, keyed
``"stage:<id>"``, ``"outcome:<id>"``, ``"purpose:<id>"``, ``"state:<id>"``, so a mail
rendered later (from the outbox row's context) uses the words that held when the event
happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from regie.workflows.definition import Workflow

LANGUAGES: Final = ("nl", "en")

STATES: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "awaiting_confirmation": "wacht op bevestiging",
        "decided": "besloten",
        "withdrawn": "ingetrokken",
    },
    "en": {
        "awaiting_confirmation": "awaiting confirmation",
        "decided": "decided",
        "withdrawn": "withdrawn",
    },
}

ACTIONS: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "submitted": "ingediend",
        "route_set": "route vastgesteld",
        "route_proposed": "route voorgesteld",
        "parties_changed": "partijen gecorrigeerd",
        "agenda_approved": "agenda goedgekeurd",
        "advanced": "doorgezet",
        "returned": "teruggestuurd",
        "deferred": "uitgesteld",
        "withdrawn": "ingetrokken",
        "decided": "besluit vastgelegd",
        "amended": "besluittekst gewijzigd",
        "confirmed": "besluit bevestigd",
        "noted": "voor kennisgeving aangenomen",
        "correction_requested": "correctie gevraagd",
        "decision_retracted": "besluit ingetrokken",
        "attendance": "aanwezigheid geregistreerd",
        "prior_position": "standpunt vooraf geregistreerd",
        "agenda_published": "agenda verstuurd",
        "oogo_news": "nieuws verstuurd",
        "meeting_changed": "vergadering verplaatst",
        "meeting_cancelled": "vergadering afgelast",
        "config_loaded": "configuratie geladen",
    },
    "en": {
        "submitted": "submitted",
        "route_set": "route set",
        "route_proposed": "route proposed",
        "parties_changed": "parties corrected",
        "agenda_approved": "agenda approved",
        "advanced": "advanced",
        "returned": "sent back",
        "deferred": "deferred",
        "withdrawn": "withdrawn",
        "decided": "decision recorded",
        "amended": "decision text amended",
        "confirmed": "decision confirmed",
        "noted": "noted",
        "correction_requested": "correction requested",
        "decision_retracted": "decision retracted",
        "attendance": "attendance recorded",
        "prior_position": "prior position recorded",
        "agenda_published": "agenda sent",
        "oogo_news": "news sent",
        "meeting_changed": "meeting moved",
        "meeting_cancelled": "meeting cancelled",
        "config_loaded": "configuration loaded",
    },
}

ATTENDANCE: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "present": "aanwezig",
        "absent": "afwezig",
        "substitute": "vervanger",
        "expected": "verwacht",
    },
    "en": {
        "present": "present",
        "absent": "absent",
        "substitute": "substitute",
        "expected": "expected",
    },
}


MEETING_STATUS: Final[dict[str, dict[str, str]]] = {
    "nl": {"scheduled": "gepland", "cancelled": "afgelast"},
    "en": {"scheduled": "scheduled", "cancelled": "cancelled"},
}

LANGUAGE_NAMES: Final[dict[str, dict[str, str]]] = {
    "nl": {"nl": "Nederlands", "en": "Engels"},
    "en": {"nl": "Dutch", "en": "English"},
}


def language(lang: str | None) -> str:
    """``lang`` if regie speaks it, else Dutch."""
    return lang if lang in LANGUAGES else "nl"


def stage(wf: Workflow, stage_id: str, lang: str) -> str:
    """The stage's name in the workflow (the region's word), or the id if unknown."""
    try:
        return wf.stage(stage_id).label.get(language(lang)) or stage_id
    except KeyError:
        return stage_id


def state(wf: Workflow, state_id: str, lang: str) -> str:
    """A proposal's state in words: the stage it is at, or a closed state."""
    closed = STATES[language(lang)].get(state_id)
    return closed if closed is not None else stage(wf, state_id, lang)


def outcome(wf: Workflow, outcome_id: str, lang: str) -> str:
    try:
        return wf.outcome(outcome_id).label.get(language(lang)) or outcome_id
    except KeyError:
        return outcome_id


def purpose(wf: Workflow, lang: str) -> str:
    return wf.label.get(language(lang)) or wf.purpose


def action(action_id: str, lang: str) -> str:
    return ACTIONS[language(lang)].get(action_id, action_id)


def attendance(status: str, lang: str) -> str:
    return ATTENDANCE[language(lang)].get(status, status)


def meeting_status(status: str, lang: str) -> str:
    return MEETING_STATUS[language(lang)].get(status, status)


def language_name(code: str, lang: str) -> str:
    """``nl`` -> ``Nederlands`` / ``Dutch``."""
    return LANGUAGE_NAMES[language(lang)].get(code, code)


def route(wf: Workflow, stages: list[str], lang: str) -> str:
    """``tafel → voorzittersoverleg → OOGO``."""
    return " → ".join(stage(wf, s, lang) for s in stages)


def workflow_labels(wf: Workflow) -> dict[str, dict[str, str]]:
    """Every word of ``wf`` per language, keyed ``kind:id`` (see the module docstring)."""
    out: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        words = {f"purpose:{wf.purpose}": purpose(wf, lang)}
        words |= {f"stage:{s.id}": stage(wf, s.id, lang) for s in wf.stages}
        words |= {f"outcome:{o.id}": outcome(wf, o.id, lang) for o in wf.outcomes}
        words |= {f"state:{k}": v for k, v in STATES[lang].items()}
        out[lang] = words
    return out
