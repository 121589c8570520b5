"""The `regie` command: parse, call one service, print. No SQL and no rules here."""

from __future__ import annotations

from typing import Any

import click

from regie import cli_admin, cli_agenda, cli_mail, cli_parties, cli_read, labels
from regie import cli_words as w
from regie.cli_support import (
    Env,
    RegieGroup,
    as_option,
    emit_json,
    json_option,
    lang_option,
    meeting_option,
    one_line,
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
    for line in warning_lines(region):
        click.echo(f"regie: warning: {one_line(line)}", err=True)


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
@click.option(
    "--addressee",
    metavar="PARTY|BODY",
    help="For advice: whom the advice is for, a party or body id (or party:ID / body:ID).",
)
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
@click.option("--present", "status", flag_value="present", help="Attended (on the meeting day).")
@click.option("--absent", "status", flag_value="absent", help="Did not attend, or will not.")
@click.option("--expected", "status", flag_value="expected", help="Will attend (announced ahead).")
@click.option(
    "--substitute-for", metavar="PERSON", help="Attended as registered substitute for this person."
)
@click.option(
    "--prior-position",
    "item",
    metavar="PROPOSAL",
    help="Record the party's position on this item before the meeting (with --stance).",
)
@click.option(
    "--stance",
    type=click.Choice(attendance.STANCES),
    help="With --prior-position: whether the party can agree.",
)
@click.option("--position", default="", help="With --prior-position: an optional explanation.")
@as_option
@pass_env
def attend(
    env: Env,
    meeting: str,
    person: str,
    status: str | None,
    substitute_for: str | None,
    item: str | None,
    stance: str | None,
    position: str,
    as_: str | None,
) -> None:
    """Record attendance at a meeting: present, absent, expected, substitute, or a prior
    position (agree, disagree or abstain) of a party that cannot come."""
    actor = env.acting(as_)
    if item:
        if stance is None:
            raise click.UsageError(
                f"a prior position needs --stance {', '.join(attendance.STANCES[:-1])} or "
                f"{attendance.STANCES[-1]}"
            )
        r = service(env, attendance.record_prior_position, actor=actor, meeting_id=meeting,
                    proposal_id=item, person=person, stance=stance, position=position)  # fmt: skip
        v = _words(env, meeting_id=meeting, parties=[r.party_id])
        party = v["parties"].get(r.party_id, r.party_id)
        words = w.meeting(env.lang, v["meeting"])
        say(w.line(env.lang, "prior_position", party=party, pid=item,
                   stance=w.stance(env.lang, stance), **words))  # fmt: skip
        return
    if substitute_for:
        status = "substitute"
    if status is None:
        raise click.UsageError(
            "say --present, --absent, --expected, --substitute-for PERSON or "
            "--prior-position PROPOSAL --stance STANCE"
        )
    r = service(env, attendance.record_attendance, actor=actor, meeting_id=meeting,
                person=person, status=status, substitute_for=substitute_for)  # fmt: skip
    v = _words(env, meeting_id=meeting, people=[person, substitute_for or ""],
               parties=[r.party_id, *r.unmandated_for])  # fmt: skip
    names, parties, where = v["people"], v["parties"], w.meeting(env.lang, v["meeting"])
    say(w.line(env.lang, r.status, person=names.get(person, person),
               party=parties.get(r.party_id, r.party_id),
               absent=names.get(substitute_for or "", substitute_for), **where))  # fmt: skip
    if r.warning:
        listed = ", ".join(parties.get(p, p) for p in r.unmandated_for)
        warning = w.line(env.lang, "no_mandate", person=names.get(person, person),
                         parties=listed, **where)  # fmt: skip
        click.echo(f"regie: warning: {one_line(warning)}", err=True)


@cli.command()
@click.argument("proposal")
@click.option("--outcome", help="adopted, rejected, noted, positive, negative, no_consensus…")
@click.option("--text", default="", help="The decision text.")
@click.option(
    "--override",
    metavar="REASON",
    help="Coordinator only: record despite uncovered parties, with this reason.",
)
@click.option(
    "--dissent",
    metavar="TEXT",
    help="Who disagrees and why; required when a party gave the prior position 'disagree'.",
)
@click.option(
    "--retract",
    is_flag=True,
    help="Withdraw the recorded decision (awaiting confirmation) for a new one; with --reason.",
)
@click.option("--reason", default="", help="Why the decision is retracted.")
@as_option
@pass_env
def decide(env: Env, proposal: str, as_: str | None, **options: Any) -> None:
    """Record the outcome at the meeting where the route ends (a decision then awaits the
    chair's confirmation; an information item is noted), or --retract it."""
    if options["retract"]:
        _retract(env, proposal, as_, options["reason"])
        return
    if not options["outcome"]:
        raise click.UsageError("give the outcome with --outcome (or --retract)")
    r = service(
        env,
        decisions.decide,
        actor=env.acting(as_),
        proposal_id=proposal,
        outcome=options["outcome"],
        text=options["text"],
        override=options["override"],
        dissent=options["dissent"],
    )
    v = _words(env, proposal_id=r.proposal_id, meeting_id=r.meeting_id, parties=r.uncovered)
    text = w.line(
        env.lang,
        "decided" if r.version else "noted",
        pid=r.proposal_id,
        outcome=w.word(v["words"], "outcome", r.outcome),
        state=w.word(v["words"], "state", r.state),
        version=r.version,
        **w.meeting(env.lang, v["meeting"]),
    )
    if r.uncovered:
        parties = ", ".join(v["parties"].get(p, p) for p in r.uncovered)
        text += w.line(env.lang, "override", parties=parties, reason=r.override)
    say(text)


def _retract(env: Env, proposal: str, as_: str | None, reason: str) -> None:
    r = service(
        env, decisions.retract, actor=env.acting(as_), proposal_id=proposal, reason=reason
    )
    v = _words(env, proposal_id=r.proposal_id, meeting_id=r.meeting_id)
    say(
        w.line(
            env.lang,
            "retracted",
            pid=r.proposal_id,
            version=r.version,
            **w.meeting(env.lang, v["meeting"]),
        )
    )


@cli.command()
@click.argument("proposal")
@click.option(
    "--version",
    "version",
    type=int,
    help="The decision text version you confirm (or amend); see 'regie show'.",
)
@click.option(
    "--amend",
    "amend_text",
    metavar="TEXT",
    help="Replace the decision text (a new version; it needs its own confirmation).",
)
@as_option
@pass_env
def confirm(
    env: Env, proposal: str, version: int | None, amend_text: str | None, as_: str | None
) -> None:
    """Chair of the deciding body: confirm decision text version N, or amend it."""
    r = service(
        env,
        decisions.confirm,
        actor=env.acting(as_),
        proposal_id=proposal,
        version=version,
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


for _command in [
    *cli_read.COMMANDS,
    *cli_mail.COMMANDS,
    *cli_agenda.COMMANDS,
    *cli_admin.COMMANDS,
    *cli_parties.COMMANDS,
]:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="regie")
