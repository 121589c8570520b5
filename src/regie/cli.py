"""The `regie` command: parse, call one service, print. No SQL and no rules here."""

from __future__ import annotations

from typing import Any

import click

from regie import cli_admin, cli_agenda, cli_mail, cli_read, labels
from regie import cli_words as w
from regie.cli_support import (
    Env,
    RegieGroup,
    as_option,
    emit_json,
    json_option,
    lang_option,
    meeting_option,
    pass_env,
    reader,
    say,
    service,
)
from regie.engine import attendance, decisions, moves, queries
from regie.engine.moves import MoveResult

PLACING = ("submitted", "advanced", "returned", "deferred")  # moves that name a meeting


@click.group(cls=RegieGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="REGIE_DB",
    metavar="URL|PATH",
    help="Database: SQLAlchemy URL or SQLite file (env REGIE_DB; default ./regie.db).",
)
@lang_option
@click.version_option(package_name="regie")
@click.pass_context
def cli(ctx: click.Context, db: str | None, lang: str | None) -> None:
    """regie routes policy proposals through the region's consultation bodies (in
    FoodValley: tables, the chairs' meeting, the AO and the OOGO) and keeps a
    tamper-evident record of every step."""
    env = Env(db, lang.lower() if lang else None)
    ctx.obj = env
    ctx.call_on_close(env.close)


def _words(env: Env, **kwargs: Any) -> dict[str, Any]:
    """The words to tell what a change did (read after it was committed)."""
    return dict(reader(env, queries.vocabulary, lang=env.lang, **kwargs))


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


@cli.command()
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
    """Create or upgrade the database and load the region config into it."""
    from regie.engine.setup import init_database
    from regie.region import load_region
    from regie.region_summary import summarize

    region = load_region(config_file)
    if check_only:
        summary = summarize(region)
        if as_json:
            emit_json(summary)
            return
        for line in summary["lines"]:
            say(line)
        return
    report = init_database(db=env.database(require=False), clock=env.clock, region=region)
    if as_json:
        emit_json(report.as_dict())
        return
    say(
        f"{report.database}: region {report.region} loaded ({report.people} people, "
        f"{report.bodies} bodies; meetings +{report.meetings_added} "
        f"~{report.meetings_changed} -{report.meetings_cancelled})"
    )
    for wf in report.workflows_added:
        say(f"workflow added: {wf}")


@cli.command()
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
@meeting_option
@as_option
@pass_env
def submit(env: Env, as_: str | None, **kwargs: Any) -> None:
    """Submit a new proposal to a table."""
    r = service(env, moves.submit, actor=env.acting(as_), **kwargs)
    _print_move(env, r)


@cli.command()
@click.argument("proposal")
@click.argument("stages", nargs=-1, required=True)
@as_option
@pass_env
def route(env: Env, proposal: str, stages: tuple[str, ...], as_: str | None) -> None:
    """Set a proposal's route (the routing body, e.g. the chairs' meeting), as stage ids:
    `route P-2026-001 table chairs oogo`."""
    r = service(
        env, moves.set_route, actor=env.acting(as_), proposal_id=proposal, route=list(stages)
    )
    v = _words(env, proposal_id=r.proposal_id)
    route = " → ".join(w.word(v["words"], "stage", s) for s in stages)
    say(w.line(env.lang, "route_set", pid=r.proposal_id, route=route))


@cli.command()
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


@cli.command(name="return")
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


@cli.command()
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


@cli.command()
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


@cli.command()
@click.argument("meeting")
@click.argument("person")
@click.option("--present", "status", flag_value="present", help="Attended.")
@click.option("--absent", "status", flag_value="absent", help="Did not attend.")
@click.option(
    "--substitute-for", metavar="PERSON", help="Attended as registered substitute for this person."
)
@click.option(
    "--prior-position",
    "item",
    metavar="PROPOSAL",
    help="Record PERSON's position on this item beforehand (with --position).",
)
@click.option("--position", default="", help="The prior position, e.g. 'agrees'.")
@as_option
@pass_env
def attend(
    env: Env,
    meeting: str,
    person: str,
    status: str | None,
    substitute_for: str | None,
    item: str | None,
    position: str,
    as_: str | None,
) -> None:
    """Record attendance at a meeting: present, absent, substitute, or a prior position."""
    actor = env.acting(as_)
    if item:
        r = service(
            env,
            attendance.record_prior_position,
            actor=actor,
            meeting_id=meeting,
            proposal_id=item,
            person=person,
            position=position,
        )
        v = _words(env, meeting_id=meeting, parties=[r.party_id])
        party = v["parties"].get(r.party_id, r.party_id)
        say(
            w.line(
                env.lang,
                "prior_position",
                party=party,
                pid=item,
                **w.meeting(env.lang, v["meeting"]),
            )
        )
        return
    if substitute_for:
        status = "substitute"
    if status is None:
        raise click.UsageError(
            "say --present, --absent, --substitute-for PERSON or --prior-position PROPOSAL"
        )
    r = service(
        env,
        attendance.record_attendance,
        actor=actor,
        meeting_id=meeting,
        person=person,
        status=status,
        substitute_for=substitute_for,
    )
    v = _words(env, meeting_id=meeting, people=[person, substitute_for or ""], parties=[r.party_id])
    names = v["people"]
    say(
        w.line(
            env.lang,
            r.status,
            person=names.get(person, person),
            party=v["parties"].get(r.party_id, r.party_id),
            absent=names.get(substitute_for or "", substitute_for),
            **w.meeting(env.lang, v["meeting"]),
        )
    )


@cli.command()
@click.argument("proposal")
@click.option("--outcome", required=True, help="adopted, rejected, noted, advice_given…")
@click.option("--text", default="", help="The decision text.")
@click.option(
    "--override",
    metavar="REASON",
    help="Coordinator only: record despite uncovered parties, with this reason.",
)
@as_option
@pass_env
def decide(
    env: Env, proposal: str, outcome: str, text: str, override: str | None, as_: str | None
) -> None:
    """Record the outcome at the deciding body's meeting (awaits the chair's confirmation)."""
    r = service(
        env,
        decisions.decide,
        actor=env.acting(as_),
        proposal_id=proposal,
        outcome=outcome,
        text=text,
        override=override,
    )
    v = _words(env, proposal_id=r.proposal_id, meeting_id=r.meeting_id, parties=r.uncovered)
    text = w.line(
        env.lang,
        "decided",
        pid=r.proposal_id,
        outcome=w.word(v["words"], "outcome", r.outcome),
        state=w.word(v["words"], "state", r.state),
        **w.meeting(env.lang, v["meeting"]),
    )
    if r.uncovered:
        parties = ", ".join(v["parties"].get(p, p) for p in r.uncovered)
        text += w.line(env.lang, "override", parties=parties, reason=r.override)
    say(text)


@cli.command()
@click.argument("proposal")
@click.option(
    "--amend",
    "amend_text",
    metavar="TEXT",
    help="Replace the decision text (a new version; confirmation starts again).",
)
@as_option
@pass_env
def confirm(env: Env, proposal: str, amend_text: str | None, as_: str | None) -> None:
    """Chair of the deciding body: confirm the recorded decision, or amend its text."""
    r = service(
        env,
        decisions.confirm,
        actor=env.acting(as_),
        proposal_id=proposal,
        amend_text=amend_text,
    )
    words = _words(env, proposal_id=r.proposal_id)["words"]
    say(
        w.line(
            env.lang,
            "amended" if amend_text is not None else "confirmed",
            pid=r.proposal_id,
            version=r.version,
            outcome=w.word(words, "outcome", r.outcome),
            state=w.word(words, "state", r.state),
        )
    )


for _command in [*cli_read.COMMANDS, *cli_mail.COMMANDS, *cli_agenda.COMMANDS, *cli_admin.COMMANDS]:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="regie")
