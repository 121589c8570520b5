"""`regie audit search "TEXT"` (the decisions, proposals, corrections and prior positions
that mention it, ranked) and `regie audit decisions` (the standing decisions across
meetings, newest first). Registered on the `audit` group in cli/audit.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import click

from regie.cli import words as w
from regie.cli.support import Env, emit_json, json_option, pass_env, reader, say
from regie.labels import language
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.dispute import search
else:
    search = lazy_module("regie.dispute.search")

# fmt: off
WORDS: Final[dict[str, dict[str, Any]]] = {
    "nl": {
        "found": "Gevonden voor {text}, beste eerst ({n}):",
        "listed": "Besluiten, nieuwste eerst ({n}):",
        "decided_for": "besloten namens",
        "kinds": {"title": "titel", "summary": "samenvatting", "decision": "besluit v{ref}",
                  "noted": "notitie", "correction": "correctieverzoek v{ref}",
                  "position": "standpunt vooraf {ref}"},
        "none": "Niets gevonden voor {text}.",
        "no_decisions": "Geen besluiten.",
        "nobody": "niemand (overruled)", "unconfirmed": "nog niet bevestigd", "open": "open",
    },
    "en": {
        "found": "Found for {text}, best first ({n}):",
        "listed": "Decisions, newest first ({n}):",
        "decided_for": "decided for",
        "kinds": {"title": "title", "summary": "summary", "decision": "decision v{ref}",
                  "noted": "noted", "correction": "correction request v{ref}",
                  "position": "prior position {ref}"},
        "none": "Nothing found for {text}.",
        "no_decisions": "No decisions.",
        "nobody": "nobody (override)", "unconfirmed": "not yet confirmed", "open": "open",
    },
}
# fmt: on


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The filters both commands take (and a dossier of a search may take too)."""
    options = [
        click.option("--party", metavar="PARTY", help="Only proposals that concern this party."),
        click.option(
            "--body",
            metavar="BODY",
            help="Only what was decided in this body (else: is on its agenda).",
        ),
        click.option("--focus-point", metavar="ID", help="Only proposals on this focus point."),
        click.option("--outcome", metavar="OUTCOME", help="Only this outcome (e.g. adopted)."),
        click.option("--since", metavar="YYYY-MM-DD", help="Meetings on or after this day."),
        click.option("--until", metavar="YYYY-MM-DD", help="Meetings on or before this day."),
        click.option(
            "--limit", type=int, default=50, show_default=True, metavar="N", help="At most N."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command(name="search")
@click.argument("text")
@filter_options
@json_option
@pass_env
def search_cmd(env: Env, text: str, as_json: bool, **filters: Any) -> None:
    """Search proposal titles and summaries, decision texts, correction requests and prior
    positions (Dutch stemming: "besluiten" finds "besluit"), best match first, with the
    body, date, outcome and who decided for which party."""
    hits = reader(env, search.search, text=text, lang=env.lang, **filters)
    if as_json:
        emit_json(hits)
        return
    lang = language(env.lang)
    words = WORDS[lang]
    if not hits:
        say(words["none"].format(text=text))
        return
    say(words["found"].format(n=len(hits), text=text))
    for h in hits:
        _block(lang, h, f"{_kind(lang, h['kind'], h['ref'])}: {h['snippet']}")


@click.command(name="decisions")
@filter_options
@json_option
@pass_env
def decisions_cmd(env: Env, as_json: bool, **filters: Any) -> None:
    """The standing decision of each decided proposal, across meetings, newest first: body,
    date, outcome, text and who decided for which party."""
    found = reader(env, search.decisions, lang=env.lang, **filters)
    if as_json:
        emit_json(found)
        return
    lang = language(env.lang)
    words = WORDS[lang]
    if not found:
        say(words["no_decisions"])
        return
    say(words["listed"].format(n=len(found)))
    for d in found:
        _block(lang, d, f"v{d['version']}: {' '.join(str(d['decision_text']).split())}")


def _block(lang: str, item: dict[str, Any], line: str) -> None:
    """One proposal: id and title; what was found (or the decision); where, when and the
    outcome; who decided for which party."""
    say("")
    say(f"{item['id']}  {item['title']}")
    say(f"  {line}")
    where = ", ".join(x for x in (item["body_name"] or item["body"],
                                  w.day(item["meeting_starts_at"], lang)) if x)  # fmt: skip
    say(f"  {where}: {_outcome(lang, item)}")
    if item["decided_by"]:
        say(f"  {WORDS[lang]['decided_for']}: {_deciders(lang, item)}")


def _kind(lang: str, kind: str, ref: str) -> str:
    kinds = WORDS[lang]["kinds"]
    key = ref if kind == "proposal" else "noted" if kind == "decision" and not ref else kind
    return str(kinds.get(key, kind)).format(ref=ref)


def _outcome(lang: str, item: dict[str, Any]) -> str:
    if not item["decided"]:
        return f"{WORDS[lang]['open']} ({item.get('state_label') or item['state']})"
    shown = str(item.get("outcome_label") or item["outcome"])
    if item["version"] is not None and not item["confirmed"]:
        shown += f" ({WORDS[lang]['unconfirmed']})"
    return shown


def _deciders(lang: str, item: dict[str, Any]) -> str:
    """``Ede: Jan Jansen (aanwezig); SWV VO: Piet Smit (standpunt vooraf, eens)``."""
    parts = []
    for party in item["decided_by"]:
        voices = [
            f"{v['person_name']} ({v.get('as_label') or v['as']}"
            + (f", {w.stance(lang, v['stance'])}" if v["stance"] else "")
            + ")"
            for v in party["by"]
        ]
        parts.append(f"{party['party_name']}: {', '.join(voices) or WORDS[lang]['nobody']}")
    return "; ".join(parts)
