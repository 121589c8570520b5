"""Read commands of `regie`: show, list, meetings, agenda, people, audit, demo."""

from __future__ import annotations

from typing import Any

import click
from rich.progress import Progress

from regie.cli_support import (
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
from regie.clock import to_utc_naive
from regie.engine import audit, queries


def _when(iso: str | None) -> str:
    """ISO time with offset -> '2026-12-08 09:30' (local time) for tables."""
    return iso[:16].replace("T", " ") if iso else ""


@click.command()
@click.argument("proposal")
@json_option
@pass_env
def show(env: Env, proposal: str, as_json: bool) -> None:
    """Show one proposal: route, state, meeting, decisions, allowed moves."""
    p = reader(env, queries.show_proposal, proposal_id=proposal)
    if as_json:
        emit_json(p)
        return
    say(f"{p['id']}  {p['title']}")
    say(f"  purpose {p['purpose']}, table {p['table']}, parties {', '.join(p['parties'])}")
    say(f"  route   {' -> '.join(p['route'])}")
    say(f"  state   {p['state']} (stage {p['stage']})")
    if p["meeting"]:
        say(f"  meeting {p['meeting']} at {_when(p['meeting_starts_at'])}")
    for d in p["decisions"]:
        status = (
            f"confirmed by {d['confirmed_by']}" if d["confirmed_by"] else "awaiting confirmation"
        )
        say(f"  decision v{d['version']}: {d['outcome']}: {d['text']} ({status})")
    say(f"  moves   {', '.join(p['moves_allowed']) or 'none'}")


@click.command(name="list")
@click.option("--stage", help="table, chairs, ao, oogo")
@click.option("--body", help="Body the proposal's current meeting belongs to.")
@click.option(
    "--purpose",
    type=click.Choice(["information", "adoption", "advice"]),
    help="information, adoption or advice.",
)
@click.option("--party", help="Concerned party.")
@click.option("--state", help="e.g. awaiting_confirmation, decided, withdrawn.")
@json_option
@pass_env
def list_cmd(env: Env, as_json: bool, **filters: Any) -> None:
    """List proposals, optionally filtered."""
    rows = reader(env, queries.list_proposals, **filters)
    if as_json:
        emit_json(rows)
        return
    table(
        "Proposals",
        ["id", "title", "purpose", "state", "meeting", "when"],
        [
            (
                r["id"],
                r["title"],
                r["purpose"],
                r["state"],
                r["meeting"],
                _when(r["meeting_starts_at"]),
            )
            for r in rows
        ],
    )


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
    )
    if as_json:
        emit_json(rows)
        return
    table(
        "Meetings",
        ["id", "body", "starts", "status", "items"],
        [(r["id"], r["body_name"], _when(r["starts_at"]), r["status"], r["items"]) for r in rows],
    )


@click.command()
@click.argument("meeting")
@json_option
@pass_env
def agenda(env: Env, meeting: str, as_json: bool) -> None:
    """The agenda of a meeting: items with concerned parties and purpose."""
    a = reader(env, queries.agenda, meeting_id=meeting)
    if as_json:
        emit_json(a)
        return
    table(
        f"Agenda {a['meeting']} ({a['body']}, {_when(a['starts_at'])}, {a['status']})",
        ["proposal", "title", "purpose", "parties", "result"],
        [
            (i["proposal"], i["title"], i["purpose"], ", ".join(i["parties"]), i["result"])
            for i in a["items"]
        ],
    )


@click.command()
@json_option
@pass_env
def people(env: Env, as_json: bool) -> None:
    """The people of the region (ids to use with --as)."""
    rows = reader(env, queries.people)
    if as_json:
        emit_json(rows)
        return
    table(
        "People",
        ["id", "name", "party", "language", "e-mail"],
        [(r["id"], r["name"], r["party"], r["language"], r["email"]) for r in rows],
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
    events = reader(env, queries.timeline, proposal_id=proposal)
    if as_json:
        emit_json(events)
        return
    table(
        f"Audit trail of {proposal}",
        ["#", "when (Europe/Amsterdam)", "who", "for", "action", "meeting", "details"],
        [
            (
                e["id"],
                _when(e["at"]),
                e["actor"],
                e["acting_for"],
                e["action"],
                e["meeting"],
                _details(e["payload"]),
            )
            for e in events
        ],
    )


def _details(payload: dict[str, Any]) -> str:
    keys = ("to", "outcome", "text", "reason", "route", "override", "status", "person")

    def shown(value: Any) -> str:
        return " -> ".join(map(str, value)) if isinstance(value, list) else str(value)

    return "; ".join(f"{k}={shown(payload[k])}" for k in keys if payload.get(k))


@audit_group.command(name="verify")
@json_option
@pass_env
def audit_verify(env: Env, as_json: bool) -> None:
    """Walk the hash chain; exit 1 naming the first event that does not match."""
    db = env.database()
    with db.session(write=False) as session:
        total = audit.count_events(session)
        show_bar = is_tty() and not as_json and total > 5000
        with Progress(disable=not show_bar, transient=True) as bar:
            task = bar.add_task("verifying", total=total)
            report = audit.verify(session, progress=lambda n: bar.advance(task, n))
    if as_json:
        emit_json(report.as_dict())
    elif report.ok:
        say(f"audit chain intact: {report.events} events")
    if not report.ok:
        raise RegieClickError(
            f"audit chain broken at event {report.bad_event}: {report.problem}; the events from "
            "there on cannot be trusted: compare with a backup",
            1,
        )


@click.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False),
    help="Keep the demo database and mails in this folder.",
)
def demo(keep: str | None) -> None:
    """Route three proposals through the whole structure on a temporary database."""
    from regie.demo import run_demo

    run_demo(keep=keep)


COMMANDS = [show, list_cmd, meetings, agenda, people, audit_group, demo]
