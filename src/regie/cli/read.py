"""Read commands of `regie`: show, list, meetings, agenda, people, audit, demo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from regie import labels
from regie.cli import words as w
from regie.cli.support import (
    Env,
    RegieClickError,
    emit_json,
    is_tty,
    json_option,
    pass_env,
    reader,
    say,
    table,
)
from regie.clock import to_local, to_utc_naive
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
    fields.append((names[7], w.moves(lang, p["moves"])))
    if p["proposed_route"]:
        fields.insert(4, (names[8], " → ".join(p["proposed_route_labels"])))
    width = max(len(name) for name, _ in fields)
    say(f"{p['id']}  {p['title']}")
    for name, value in fields:
        say(f"  {name.ljust(width)}  {value}")


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


@click.group(name="audit")
def audit_group() -> None:
    """The audit trail: a proposal's timeline, and the hash chain check."""


@audit_group.command(name="show")
@click.argument("proposal")
@json_option
@pass_env
def audit_show(env: Env, proposal: str, as_json: bool) -> None:
    """Print a proposal's timeline from the audit trail."""
    events = reader(env, queries.timeline, proposal_id=proposal, lang=env.lang)
    if as_json:
        emit_json(events)
        return
    table(
        w.title(env.lang, "audit", pid=proposal),
        w.headers(env.lang, "audit"),
        [
            (
                e["id"],
                w.stamp(e["at"], env.lang),
                e["actor"],
                f"{e['os_user']}@{e['host']}" if e["os_user"] else "",
                e["acting_for"],
                e["action_label"],
                e["meeting"],
                w.details(env.lang, e["payload"], e["payload_labels"]),
            )
            for e in events
        ],
    )


@audit_group.command(name="verify")
@click.option(
    "--anchor",
    "anchor_text",
    help="A published anchor ('regie audit anchor'): prove the trail up to it unchanged and "
    "list the events after it.",
)
@json_option
@pass_env
def audit_verify(env: Env, anchor_text: str | None, as_json: bool) -> None:
    """Walk the hash chain and check each event's MAC with the key outside the database;
    exit 1 naming the first event that does not match."""
    if anchor_text is not None:
        anchor.parse(anchor_text)  # a malformed anchor is a usage error, before any work
    db = env.database()
    with db.session(write=False) as session:
        total = audit.count_events(session)
        show_bar = is_tty() and not as_json and total > 5000
        from rich.progress import Progress

        with Progress(disable=not show_bar, transient=True) as bar:
            task = bar.add_task("verifying", total=total)
            report = audit.verify(session, progress=lambda n: bar.advance(task, n))
        found = anchor.check(session, anchor_text) if anchor_text is not None else None
    if as_json:
        emit_json(report.as_dict() | ({"anchor": found.as_dict()} if found else {}))
    else:
        for line in _verify_lines(report, found):
            say(line)
    _verify_outcome(report, found)


def _verify_lines(report: audit.ChainReport, found: anchor.AnchorCheck | None) -> list[str]:
    lines = []
    if report.ok:
        lines.append(f"audit chain intact: {report.events} events")
        if report.key_id is not None:
            lines.append(f"  {report.authenticated} authenticated with key {report.key_id}")
        elif report.unchecked:
            lines.append(
                f"  the key is not available here: the MACs of {report.unchecked} events were "
                "not checked, so the chain is only self-consistent (someone with write access "
                "to the database could have recomputed it); see docs/SECURITY.md"
            )
        if report.unauthenticated:
            lines.append(
                f"  {report.unauthenticated} events before the key existed are not authenticated"
            )
        if report.key_id is not None and report.events and not report.authenticated:
            lines.append(
                "  no event is authenticated although a key is available: if this database was "
                "ever written with this key, its MACs were removed; verify against an anchor"
            )
    if found is not None and found.ok:
        tag = "" if found.tag == "matches" else " (its tag was not checked: no key here)"
        lines.append(
            f"anchor {found.anchor}{tag}: the trail up to event #{found.events} is unchanged; "
            f"{len(found.after)} events after it"
        )
        for ev in found.after[:_AFTER_SHOWN]:
            who = f"{ev['actor']} ({ev['os_user']}@{ev['host']})" if ev["os_user"] else ev["actor"]
            what = " ".join(x for x in (ev["proposal"], ev["meeting"]) if x)
            lines.append(f"  #{ev['id']} {ev['at_utc']} {who} {ev['action']} {what}".rstrip())
        if len(found.after) > _AFTER_SHOWN:
            lines.append(f"  … {len(found.after) - _AFTER_SHOWN} more (--json lists all)")
    return lines


_AFTER_SHOWN = 100


def _verify_outcome(report: audit.ChainReport, found: anchor.AnchorCheck | None) -> None:
    if not report.ok:
        raise RegieClickError(
            f"audit chain broken at event {report.bad_event}: {report.problem}; the events from "
            "there on cannot be trusted: compare with a backup",
            1,
        )
    if report.workflow_problems:
        raise RegieClickError("; ".join(report.workflow_problems), 1)
    if found is not None and not found.ok:
        raise RegieClickError(f"anchor {found.anchor}: {found.problem}", 1)


@audit_group.command(name="anchor")
@json_option
@pass_env
def audit_anchor(env: Env, as_json: bool) -> None:
    """Print the head of the audit chain (events, hash, time) and an anchor to publish in
    minutes and mails; 'regie audit verify --anchor ANCHOR' checks the trail against it."""
    head = reader(env, anchor.make)
    if as_json:
        emit_json(head.as_dict())
        return
    say(f"audit anchor: {head.text}")
    when = w.stamp(to_local(head.at).isoformat(), env.lang) if head.at else "-"
    say(f"  {head.events} events; head {head.head}; last event {when}; key {head.key_id}")
    say("  publish it (minutes, mail); 'regie audit verify --anchor ANCHOR' proves the trail")
    say("  up to this head unchanged and lists what came after")


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


COMMANDS = [show, list_cmd, meetings, people, audit_group, demo]  # agenda: cli_agenda
