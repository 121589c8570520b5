"""`regie init`, `submit`, `route`, `advance`, `return`, `defer`, `withdraw`: the moves of a
proposal. Parse, call one service, print."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from regie import labels
from regie.cli import words as w
from regie.cli.support import (
    Env,
    as_option,
    emit_json,
    json_option,
    meeting_option,
    one_line,
    pass_env,
    say,
    service,
    vocabulary,
)
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.engine import moves
    from regie.engine.moves import MoveResult
else:
    moves = lazy_module("regie.engine.moves")

PLACING = ("submitted", "advanced", "returned", "deferred")  # moves that name a meeting


_words = vocabulary


def _print_move(env: Env, r: MoveResult) -> None:
    v = _words(env, proposal_id=r.proposal_id, meeting_id=r.meeting_id)
    lang, action = env.lang, labels.action(r.action, env.lang)
    if r.meeting_id and r.action in PLACING:
        text = w.line(lang, r.action, pid=r.proposal_id, **w.meeting(lang, v["meeting"]))
    else:
        text = w.line(lang, "moved", pid=r.proposal_id, action=action)
        state = w.word(v["words"], "state", r.state)
        text += w.line(lang, "now", state=state) if state != action else ""
    say(text + (w.line(lang, "late") if r.late else ""))


@click.command()
@click.option(
    "--config",
    "config_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="Region config (TOML), e.g. config/foodvalley.toml.",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Only check the config (and its workflows); no database is opened.",
)
@json_option
@pass_env
def init(env: Env, config_file: str, check_only: bool, as_json: bool) -> None:
    """Create or upgrade the database and load the region config into it. Gaps in the
    rules of conduct (a focus point without leads, a partner at no table) are warnings
    on stderr; the config still loads."""
    from regie.engine.setup import init_database
    from regie.region import load_region
    from regie.region_summary import summarize
    from regie.region_warnings import warning_lines, warnings_json

    region = load_region(config_file)
    if check_only:
        summary = summarize(region)
        if as_json:
            emit_json(summary)
        else:
            for line in summary["lines"]:
                say(line)
    else:
        report = init_database(db=env.database(require=False), clock=env.clock, region=region)
        if as_json:
            emit_json({**report.as_dict(), "warnings": warnings_json(region)})
        else:
            say(
                f"{report.database}: region {report.region} loaded ({report.people} people, "
                f"{report.bodies} bodies; meetings +{report.meetings_added} "
                f"~{report.meetings_changed} -{report.meetings_cancelled})"
            )
            for wf in report.workflows_added:
                say(f"workflow added: {wf}")
            if report.key_created:
                say(
                    f"audit key created: {report.key} (mode 0600); back it up apart from the "
                    "database: without it the audit trail cannot be authenticated "
                    "(docs/SECURITY.md)"
                )
    for line in warning_lines(region):
        click.echo(f"regie: warning: {one_line(line)}", err=True)


@click.command()
@click.option("--title", required=True, help="Short title (max 200 characters).")
@click.option(
    "--purpose",
    required=True,
    type=click.Choice(["information", "adoption", "advice"]),
    help="Why it goes up: information, adoption or advice.",
)
@click.option(
    "--table",
    default=None,
    help="The table (body) it starts at; may be left out when the route starts at one body.",
)
@click.option(
    "--party",
    "parties",
    multiple=True,
    required=True,
    help="A concerned party (repeat for several).",
)
@click.option("--summary", default="", help="A few sentences on what is proposed.")
@click.option("--focus", "focus_point", help="Focus point id (sp1…sp5).")
@click.option("--admin-lead", help="Administrative lead (person id).")
@click.option("--official-lead", help="Official lead (person id).")
@click.option("--doc", "documents", multiple=True, help="Link to a document (repeatable).")
@click.option(
    "--addressee",
    metavar="PARTY|BODY",
    help="For advice: whom the advice is for, a party or body id (or party:ID / body:ID).",
)
@click.option(
    "--follow-up",
    is_flag=True,
    help="A decision with a follow-up: each concerned party states whether it is "
    "feasible (regie feasibility).",
)
@click.option(
    "--revisits",
    metavar="P-…",
    help="This proposal consciously reopens that earlier decision (give --reason).",
)
@click.option("--reason", help="Why the earlier decision is reopened (with --revisits).")
@click.option(
    "--not-related",
    is_flag=True,
    help="The similar earlier decisions shown are not this subject: submit anyway.",
)
@meeting_option
@as_option
@pass_env
def submit(env: Env, as_: str | None, **kwargs: Any) -> None:
    """Submit a new proposal to a table. When it is like earlier final decisions, they are
    listed and nothing is stored: submit again with --revisits P-… --reason "…" or with
    --not-related."""
    r = service(env, moves.submit, actor=env.acting(as_), **kwargs)
    _print_move(env, r)


@click.command()
@click.argument("proposal")
@click.argument("stages", nargs=-1, required=True)
@as_option
@pass_env
def route(env: Env, proposal: str, stages: tuple[str, ...], as_: str | None) -> None:
    """Give a proposal's route, as stage ids: `route P-2026-001 table chairs oogo`. From the
    start of the routing body's meeting (e.g. the chairs' meeting) the route is set on its
    behalf; before it, the route is proposed, on that meeting's agenda."""
    r = service(
        env, moves.set_route, actor=env.acting(as_), proposal_id=proposal, route=list(stages)
    )
    v = _words(env, proposal_id=r.proposal_id, meeting_id=r.meeting_id, bodies=[r.routing_body])
    route = " → ".join(w.word(v["words"], "stage", s) for s in r.route)
    key = r.action if r.meeting_id else "route_proposed_later"
    routing = v["bodies"].get(r.routing_body, r.routing_body)
    say(
        w.line(
            env.lang,
            key,
            pid=r.proposal_id,
            route=route,
            routing=routing,
            **w.meeting(env.lang, v["meeting"]),
        )
    )


@click.command()
@click.argument("proposal")
@meeting_option
@as_option
@pass_env
def advance(env: Env, proposal: str, meeting: str | None, as_: str | None) -> None:
    """Move a proposal to the next stage of its route."""
    _print_move(
        env,
        service(env, moves.advance, actor=env.acting(as_), proposal_id=proposal, meeting=meeting),
    )


@click.command(name="return")
@click.argument("proposal")
@click.option("--to", "to", required=True, help="The earlier stage, e.g. table.")
@click.option("--reason", default="", help="Why it goes back.")
@meeting_option
@as_option
@pass_env
def return_cmd(
    env: Env, proposal: str, to: str, reason: str, meeting: str | None, as_: str | None
) -> None:
    """Send a proposal back to an earlier stage."""
    _print_move(
        env,
        service(
            env,
            moves.return_,
            actor=env.acting(as_),
            proposal_id=proposal,
            to=to,
            reason=reason,
            meeting=meeting,
        ),
    )


@click.command()
@click.argument("proposal")
@click.option("--reason", default="", help="Why it waits.")
@meeting_option
@as_option
@pass_env
def defer(env: Env, proposal: str, reason: str, meeting: str | None, as_: str | None) -> None:
    """Move a proposal to the next meeting of the same body."""
    _print_move(
        env,
        service(
            env,
            moves.defer,
            actor=env.acting(as_),
            proposal_id=proposal,
            reason=reason,
            meeting=meeting,
        ),
    )


@click.command()
@click.argument("proposal")
@click.option("--reason", required=True, help="Why it is withdrawn.")
@as_option
@pass_env
def withdraw(env: Env, proposal: str, reason: str, as_: str | None) -> None:
    """Withdraw a proposal for good."""
    _print_move(
        env,
        service(env, moves.withdraw, actor=env.acting(as_), proposal_id=proposal, reason=reason),
    )


COMMANDS: list[click.Command] = [init, submit, route, advance, return_cmd, defer, withdraw]
