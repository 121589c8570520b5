"""The region's words in mails: stages, outcomes, purposes, the bodies that play a role,
and party names.

A mail is rendered later than its event and without the database, so the words it needs
travel in the notice's context (:func:`context_words`, called at event time inside the
write transaction)::

    "words": {"nl": {"stage:chairs": "voorzittersoverleg", "outcome:adopted": ...,
                     "purpose:adoption": ..., "state:decided": ...,
                     "role:routing": ..., "role:top": ..., "role:start": ...},
              "en": {...}},
    "party_names": {"barneveld": "Barneveld"},   # only the parties the mail lists
    "news_body": "LEA Ede",                       # per recipient, news mails only

Stage, outcome and purpose words are :func:`regie.labels.workflow_labels` of the proposal's
own workflow version (for events without a proposal: the purposes and outcomes of the
region's current workflows, which agendas and news list). A role's word
(``role:routing`` decides routes, ``role:top`` the top meeting) is the word of the stage
that meets in that body, in the mail's language, else the body's short name, else its
name; ``role:start`` is the proposal's first stage. A role the region does not have has
no key. Parties are named by their short name, else their name.

Everything per region is computed once per config generation (``RegionFacts.cache``),
per workflow version once per generation and digest: the hot path adds no query.

At render time the Jinja filters in :func:`install` look words up in the context for the
mail's language. A context without ``words`` (an outbox row queued before words
travelled with it) gets the words of regie's built-in workflows, which is what such rows
were rendered with before.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from regie import labels
from regie.engine import repository as repo
from regie.engine.facts import RegionFacts, region_facts
from regie.engine.storage import Tx
from regie.workflows.definition import PURPOSES, Workflow, bodies_for, builtin_workflows

if TYPE_CHECKING:
    from jinja2 import Environment
    from jinja2.runtime import Context

# What each notice kind is called in a daily digest; {top} is the top meeting's word.
KIND_NAMES: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "submitted": "ingediend",
        "submitted_receipt": "ontvangstbevestiging",
        "placed_lead": "geagendeerd, stukken aanleveren",
        "correction_requested": "correctie gevraagd",
        "sign_in": "inloglink portaal",
        "route_set": "route vastgesteld",
        "route_proposed": "route voorgesteld",
        "placed": "geagendeerd",
        "agenda": "agenda gepubliceerd",
        "meeting_changed": "vergadering verplaatst",
        "meeting_cancelled": "vergadering afgelast",
        "decision_recorded": "besluit vastgelegd",
        "decision_amended": "besluittekst gewijzigd",
        "decision_final": "besluit bevestigd",
        "advice": "advies aan u",
        "noted": "voor kennisgeving aangenomen",
        "decision_retracted": "vastgelegd besluit ingetrokken",
        "returned": "teruggestuurd",
        "deferred": "uitgesteld",
        "withdrawn": "ingetrokken",
        "oogo_news": "nieuws uit het {top}",
        "confirmation_reminder": "herinnering: besluit bevestigen",
        "confirmation_escalated": "besluit nog steeds niet bevestigd",
        "documents_reminder": "herinnering: stukken aanleveren",
        "agenda_unapproved": "agenda nog niet vastgesteld",
        "agenda_empty": "lege agenda: vergadering afgelasten?",
        "coverage_reminder": "herinnering: mandaat regelen",
        "coverage_escalated": "partijen zonder mandaat",
        "absence_reminder": "herinnering: afwezig zonder vervanging",
        "mandate_expiring": "mandaat loopt af",
        "feasibility_reminder": "herinnering: haalbaarheid aangeven",
        "feasibility_concern": "vervolg niet haalbaar",
    },
    "en": {
        "submitted": "submitted",
        "submitted_receipt": "receipt",
        "placed_lead": "placed on an agenda, documents due",
        "correction_requested": "correction requested",
        "sign_in": "portal sign-in link",
        "route_set": "route set",
        "route_proposed": "route proposed",
        "placed": "placed on an agenda",
        "agenda": "agenda published",
        "meeting_changed": "meeting moved",
        "meeting_cancelled": "meeting cancelled",
        "decision_recorded": "decision recorded",
        "decision_amended": "decision text amended",
        "decision_final": "decision confirmed",
        "advice": "advice to you",
        "noted": "noted",
        "decision_retracted": "recorded decision retracted",
        "returned": "sent back",
        "deferred": "deferred",
        "withdrawn": "withdrawn",
        "oogo_news": "news from the {top}",
        "confirmation_reminder": "reminder: confirm a decision",
        "confirmation_escalated": "decision still not confirmed",
        "documents_reminder": "reminder: documents due",
        "agenda_unapproved": "agenda not yet approved",
        "agenda_empty": "empty agenda: cancel the meeting?",
        "coverage_reminder": "reminder: arrange a mandate",
        "coverage_escalated": "parties without a mandate",
        "absence_reminder": "reminder: absent without stand-in",
        "mandate_expiring": "mandate ends",
        "feasibility_reminder": "reminder: state feasibility",
        "feasibility_concern": "follow-up not feasible",
    },
}
# The top meeting in a digest line when a notice names none.
_SOME_TOP: Final = {"nl": "overleg", "en": "meeting"}
_ORDER: Final = ("adoption", "advice", "information")  # whose stage names a role's body
_KINDS: Final = ("purpose", "outcome", "stage", "state")

Words = dict[str, dict[str, str]]  # lang -> "kind:id" -> word


# -- event time ----------------------------------------------------------------------------


class _RegionWords:
    """The words of one config generation (see the module docstring)."""

    def __init__(self, tx: Tx, facts: RegionFacts) -> None:
        self.bodies: dict[str, tuple[str, str]] = {}  # id -> (kind, short or name)
        self.parties: dict[str, str] = {}
        for table, ident, kind, name, short in tx.all(
            "SELECT 'body', id, kind, name, short_name FROM body WHERE active = ? UNION ALL "
            "SELECT 'party', id, kind, name, short_name FROM party",
            (True,),
        ):
            if table == "body":
                self.bodies[ident] = (kind, short or name)
            else:
                self.parties[ident] = short or name
        workflows = [_current(tx, facts, purpose) for purpose in _ORDER]
        current = [wf for wf in workflows if wf is not None]
        self.roles = self._roles(facts, current)
        self.general: Words = {}
        for lang in labels.LANGUAGES:
            words: dict[str, str] = {}
            for wf in reversed(current):  # adoption's words win
                words[f"purpose:{wf.purpose}"] = labels.purpose(wf, lang)
                words |= {f"outcome:{o.id}": labels.outcome(wf, o.id, lang) for o in wf.outcomes}
            self.general[lang] = words | self.roles[lang]

    def _roles(self, facts: RegionFacts, current: list[Workflow]) -> Words:
        pairs = [(ident, kind) for ident, (kind, _name) in self.bodies.items()]
        found = {"routing": facts.roles.routing_body, "top": facts.roles.top_body}
        out: Words = {lang: {} for lang in labels.LANGUAGES}
        for role, body in found.items():
            if body is None or body not in self.bodies:
                continue
            stage = next(
                (
                    (wf, s.id)
                    for wf in current
                    for s in wf.stages
                    if bodies_for(s.body, pairs) == [body]
                ),
                None,
            )
            for lang in labels.LANGUAGES:
                word = labels.stage(stage[0], stage[1], lang) if stage else self.bodies[body][1]
                out[lang][f"role:{role}"] = word
        return out

    def proposal(self, tx: Tx, facts: RegionFacts, digest: str) -> Words:
        key = ("notify.words", digest)
        cached = facts.cache.get(key)
        if cached is None:
            wf = repo.workflow_for(tx, digest).workflow
            cached = {  # mails name the state by its stage: no "state:" words needed
                lang: {k: v for k, v in words.items() if not k.startswith("state:")}
                for lang, words in labels.workflow_labels(wf).items()
            }
            for lang, words in cached.items():
                words["role:start"] = labels.stage(wf, wf.start, lang)
                words |= self.roles[lang]
            facts.cache[key] = cached
        return dict(cached)


def _current(tx: Tx, facts: RegionFacts, purpose: str) -> Workflow | None:
    value = facts.settings.get(f"workflow.{purpose}")
    return repo.workflow_for(tx, json.loads(value)).workflow if value else None


def _region_words(tx: Tx) -> tuple[RegionFacts, _RegionWords]:
    facts = region_facts(tx)
    found = facts.cache.get("notify.words")
    if not isinstance(found, _RegionWords):
        found = facts.cache["notify.words"] = _RegionWords(tx, facts)
    return facts, found


def context_words(tx: Tx, *, digest: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """The words a notice's context carries (keys ``words`` and, when the payload lists
    parties by id, ``party_names``)."""
    facts, region = _region_words(tx)
    words = region.proposal(tx, facts, digest) if digest else region.general
    out: dict[str, Any] = {"words": words}
    listed = payload.get("uncovered")
    if isinstance(listed, list) and listed:
        out["party_names"] = {p: region.parties.get(p, p) for p in listed if isinstance(p, str)}
    return out


# -- render time ---------------------------------------------------------------------------


@cache
def builtin_words() -> Words:
    """The words of regie's built-in workflows: for contexts that carry none."""
    flows = builtin_workflows()
    out: Words = {lang: {} for lang in labels.LANGUAGES}
    for purpose in PURPOSES:
        for lang, words in labels.workflow_labels(flows[purpose]).items():
            out[lang] |= words
    adoption = flows["adoption"]
    for lang, words in out.items():
        words["role:routing"] = labels.stage(adoption, adoption.route_setter, lang)
        words["role:top"] = labels.stage(adoption, adoption.final, lang)
        words["role:start"] = labels.stage(adoption, adoption.start, lang)
    return out


def _words(context: Any, lang: str) -> dict[str, str]:
    """The words of a context (a Jinja context or a plain dict) for ``lang``."""
    found = context.get("words") if context is not None else None
    if isinstance(found, dict):
        words = found.get(lang)
        return words if isinstance(words, dict) else {}
    return builtin_words()[lang]


def word(context: Any, lang: str, value: object, kind: str | None = None) -> str:
    """The word for an id: the context's, else the built-in workflows', else the id."""
    ident = str(value)
    kinds = (kind,) if kind else _KINDS
    for words in (_words(context, lang), builtin_words()[lang]):
        for k in kinds:
            found = words.get(f"{k}:{ident}")
            if found:
                return found
    return ident


def role(context: Any, lang: str, name: str) -> str:
    """The word for a role (routing, top, start); "" when the region has none."""
    return _words(context, lang).get(f"role:{name}", "")


def kind_name(lang: str, kind: object, context: Any = None) -> str:
    name = KIND_NAMES[lang].get(str(kind), str(kind))
    if "{top}" in name:
        name = name.format(top=role(context or {}, lang, "top") or _SOME_TOP[lang])
    return name


def party_names(context: Any, ids: object) -> list[str]:
    names = context.get("party_names") if context is not None else None
    names = names if isinstance(names, dict) else {}
    items = ids if isinstance(ids, list | tuple) else []
    return [str(names.get(i) or i) for i in items]


def upfirst(value: object) -> str:
    text = str(value)
    return text[:1].upper() + text[1:]


def compat(context: dict[str, Any]) -> dict[str, Any]:
    """Older contexts under their current keys (``lea`` became ``news_body``)."""
    if "news_body" not in context and context.get("lea"):
        return {**context, "news_body": context["lea"]}
    return context


def install(env: Environment, lang: str) -> None:
    """The word filters of one language's template environment (Jinja2 is loaded here:
    the write path captures words in the outbox row and renders nothing)."""
    from jinja2 import pass_context

    @pass_context
    def label(ctx: Context, value: object, kind: str | None = None) -> str:
        return word(ctx, lang, value, kind)

    @pass_context
    def role_word(ctx: Context, name: str) -> str:
        return role(ctx, lang, name)

    @pass_context
    def parties(ctx: Context, ids: object) -> list[str]:
        return party_names(ctx, ids)

    env.filters["label"] = label
    env.filters["parties"] = parties
    env.filters["upfirst"] = upfirst
    env.filters["kind_name"] = lambda kind, context=None: kind_name(lang, kind, context)
    env.globals["role"] = role_word
