"""`regie audit`: the audit trail. A proposal's timeline (``show``), the hash chain check
(``verify``, ``anchor``), and settling disputes (issue 19): search, decisions, history,
the state at a moment, dossiers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

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
from regie.clock import to_local
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.engine import anchor, audit, queries
else:
    anchor = lazy_module("regie.engine.anchor")
    audit = lazy_module("regie.engine.audit")
    queries = lazy_module("regie.engine.queries")


@click.group(name="audit")
def audit_group() -> None:
    """The audit trail: search decisions, a proposal's history, dossiers, the chain check."""


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


COMMANDS = [audit_group]

from regie.cli.audit_history import as_of_cmd, history_cmd  # noqa: E402

audit_group.add_command(history_cmd)
audit_group.add_command(as_of_cmd)

from regie.cli.audit_dossier import check_dossier_cmd, export_cmd  # noqa: E402

audit_group.add_command(export_cmd)
audit_group.add_command(check_dossier_cmd)

from regie.cli.audit_search import decisions_cmd, search_cmd  # noqa: E402

audit_group.add_command(search_cmd)
audit_group.add_command(decisions_cmd)
