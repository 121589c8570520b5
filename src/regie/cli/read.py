"""Read commands of `regie`: show, list, meetings, people, demo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from regie import labels
from regie.cli import words as w
from regie.cli.support import (
    Env,
    emit_json,
    json_option,
    pass_env,
    reader,
    say,
    table,
)
from regie.clock import to_utc_naive
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.engine import agenda_view, anchor, audit, queries
else:
    agenda_view = lazy_module("regie.engine.agenda_view")
    anchor = lazy_module("regie.engine.anchor")
    audit = lazy_module("regie.engine.audit")
    queries = lazy_module("regie.engine.queries")


@click.command()
@click.argument("proposal")
@json_option
@pass_env
def show(env: Env, proposal: str, as_json: bool) -> None:
    """Show one proposal: route, state, meeting, decisions, allowed moves."""
    p = reader(env, queries.show_proposal, proposal_id=proposal, lang=env.lang)
    if as_json:
        emit_json(p)
        return
    lang = env.lang
    names = w.headers(lang, "show")
    state = p["state_label"]
    if p["state"] != p["stage"]:
        state += f" ({p['stage_label']})"
    fields = [
        (names[0], p["purpose_label"]),
        (names[1], p["table_name"]),
        (names[2], ", ".join(p["party_names"].get(x, x) for x in p["parties"])),
        (names[3], " → ".join(p["route_labels"])),
        (names[4], state),
    ]
    if p["meeting"]:
        where = _meeting(lang, p["meeting"], p["meeting_body_name"], p["meeting_starts_at"])
        fields.append((names[5], where))
    for d in p["decisions"]:
        fields.append((names[6].format(version=d["version"]), _decision(lang, d)))
    fields += _revisit_fields(lang, p)
    fields.append((names[7], w.moves(lang, p["moves"])))
    if p["proposed_route"]:
        fields.insert(4, (names[8], " → ".join(p["proposed_route_labels"])))
    width = max(len(name) for name, _ in fields)
    say(f"{p['id']}  {p['title']}")
    for name, value in fields:
        say(f"  {name.ljust(width)}  {value}")


# the links of a revisit (issue 19): this proposal reopens an earlier decision, or is
# reopened by a later proposal
_REVISIT_WORDS = {"nl": ("heropent", "heropend door"), "en": ("reopens", "reopened by")}


def _revisit_fields(lang: str, p: dict[str, Any]) -> list[tuple[str, str]]:
    words = _REVISIT_WORDS["nl" if lang == "nl" else "en"]
    return [
        (word, f"{r['proposal']} {r['title']} ({r['reason']})")
        for word, key in zip(words, ("reopens", "reopened_by"), strict=True)
        for r in p[key]
    ]


def _decision(lang: str, d: dict[str, Any]) -> str:
    status = (
        w.line(lang, "confirmed_by", person=d["confirmed_by"])
        if d["confirmed_by"]
        else labels.STATES[lang]["awaiting_confirmation"]
    )
    return " – ".join(x for x in (d["outcome_label"], d["text"], status) if x)


@click.command(name="list")
@click.option("--stage", help="A stage id of the workflows, e.g. table, chairs, ao, oogo.")
@click.option("--body", help="Body the proposal's current meeting belongs to.")
@click.option(
    "--purpose",
    type=click.Choice(["information", "adoption", "advice"]),
    help="information, adoption or advice.",
)
@click.option("--party", help="Concerned party.")
@click.option("--state", help="e.g. awaiting_confirmation, decided, withdrawn.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="At most this many, newest first (also with --json).",
)
@click.option("--all", "show_all", is_flag=True, help="All of them (also with --json).")
@json_option
@pass_env
def list_cmd(env: Env, as_json: bool, limit: int, show_all: bool, **filters: Any) -> None:
    """List proposals, newest first, optionally filtered: a page of --limit (50), and how
    many more there are; --all lists every one. --json prints the same page as a list."""
    page = reader(
        env,
        queries.proposal_page,
        lang=env.lang,
        limit=None if show_all else limit,
        count=not as_json,
        **filters,
    )
    rows = page["items"]
    if as_json:
        emit_json(rows)
        return
    table(
        w.title(env.lang, "list"),
        w.headers(env.lang, "list"),
        [
            (
                r["id"],
                r["title"],
                r["purpose_label"],
                r["state_label"],
                _meeting(env.lang, r["meeting"], r["body_name"], r["meeting_starts_at"]),
            )
            for r in rows
        ],
    )
    if page["total"] > len(rows):
        say(w.line(env.lang, "more", n=page["total"] - len(rows), limit=limit))


def _meeting(lang: str, meeting: str | None, body_name: str | None, starts_at: str | None) -> str:
    """``Tafel Model…, dinsdag 8 december 2026, 09.30 uur (tafel-model-2026-12-08)``."""
    if not meeting:
        return ""
    brief = {"id": meeting, "body_name": body_name or meeting, "starts_at": starts_at}
    return w.line(lang, "meeting", **w.meeting(lang, brief))


@click.command()
@click.option("--body", help="Only this body's meetings.")
@click.option("--all", "include_past", is_flag=True, help="Include past meetings.")
@click.option("--limit", default=50, show_default=True, help="At most this many.")
@json_option
@pass_env
def meetings(env: Env, body: str | None, include_past: bool, limit: int, as_json: bool) -> None:
    """List meetings (upcoming by default)."""
    rows = reader(
        env,
        queries.list_meetings,
        now=to_utc_naive(env.clock.now()),
        body=body,
        include_past=include_past,
        limit=limit,
        lang=env.lang,
    )
    if as_json:
        emit_json(rows)
        return
    table(
        w.title(env.lang, "meetings"),
        w.headers(env.lang, "meetings"),
        [
            (
                r["id"],
                r["body_name"],
                w.when(r["starts_at"], env.lang),
                r["status_label"],
                r["items"],
            )
            for r in rows
        ],  # fmt: skip
    )


@click.command(name="show")
@click.argument("meeting")
@json_option
@pass_env
def agenda(env: Env, meeting: str, as_json: bool) -> None:
    """The agenda of a meeting: items with concerned parties and purpose, routes proposed to
    the routing body, and for the top meeting the routing body's approval."""
    a = reader(env, agenda_view.agenda, meeting_id=meeting, lang=env.lang)
    if as_json:
        emit_json(a)
        return
    lang = env.lang
    brief = {"id": a["meeting"], "body_name": a["body_name"], "starts_at": a["starts_at"]}
    awaiting = w.line(lang, "awaiting_approval")
    table(
        w.title(lang, "agenda", status=a["status_label"], **w.meeting(lang, brief)),
        w.headers(lang, "agenda"),
        [
            (
                i["proposal"],
                i["title"],
                i["purpose_label"],
                ", ".join(i["party_names"].get(x, x) for x in i["parties"]),
                awaiting if i["awaiting_approval"] else i["result_label"],
            )
            for i in a["items"]
        ],
    )
    for i in a["items"]:
        if i["proposed_route"]:
            route = " → ".join(i["proposed_route_labels"])
            say(w.line(lang, "agenda_route", pid=i["proposal"], route=route))
    if a["needs_approval"]:
        _approval_lines(lang, a)


def _approval_lines(lang: str, a: dict[str, Any]) -> None:
    """Whether the routing body approved the top meeting's agenda, and what awaits it."""
    routing, approval = a["routing_body_name"] or a["routing_body"], a["approval"]
    if approval is None:
        say(w.line(lang, "agenda_unapproved", routing=routing, meeting=a["meeting"]))
        return
    held = approval["routing_meeting"]
    say(
        w.line(
            lang,
            "agenda_approval",
            routing=routing,
            held=w.line(lang, "held", **w.meeting(lang, held)) if held else "",
            stamp=w.stamp(approval["at"], lang),
        )
    )
    n = len([i for i in a["items"] if i["awaiting_approval"]])
    if n:
        awaiting = w.count(lang, "awaiting", n)
        say(
            w.line(
                lang, "agenda_awaiting", awaiting=awaiting, routing=routing, meeting=a["meeting"]
            )
        )


@click.command()
@json_option
@pass_env
def people(env: Env, as_json: bool) -> None:
    """The people of the region (ids to use with --as)."""
    rows = reader(env, queries.people, lang=env.lang)
    if as_json:
        emit_json(rows)
        return
    table(
        w.title(env.lang, "people"),
        w.headers(env.lang, "people"),
        [(r["id"], r["name"], r["party"], r["language_label"], r["email"]) for r in rows],
    )


@click.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False),
    help="Keep the demo database and mails in this folder.",
)
def demo(keep: str | None) -> None:
    """Route five proposals through the whole structure on a temporary database."""
    from regie.demo import run_demo

    run_demo(keep=keep)


COMMANDS = [show, list_cmd, meetings, people, demo]  # agenda: cli_agenda; audit: cli/audit.py
