"""`regie attend`, `regie decide` and `regie confirm`: attendance and prior positions, the
outcome at the end of a route (or its retraction), and the chair's confirmation of a named
decision version. Parse, call one service, print."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from regie.cli import words as w
from regie.cli.support import Env, as_option, one_line, pass_env, say, service, vocabulary
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.engine import attendance, decisions
else:
    attendance = lazy_module("regie.engine.attendance")
    decisions = lazy_module("regie.engine.decisions")

_words = vocabulary


@click.command()
@click.argument("meeting")
@click.argument("person")
@click.option("--present", is_flag=True, help="Attended (on the meeting day).")
@click.option("--absent", is_flag=True, help="Did not attend, or will not.")
@click.option("--expected", is_flag=True, help="Will attend (announced ahead).")
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
    type=click.Choice(tuple(w.STANCES["en"])),  # the ids; a test keeps them the engine's
    help="With --prior-position: whether the party can agree.",
)
@click.option("--position", default="", help="With --prior-position: an optional explanation.")
@as_option
@pass_env
def attend(
    env: Env,
    meeting: str,
    person: str,
    present: bool,
    absent: bool,
    expected: bool,
    substitute_for: str | None,
    item: str | None,
    stance: str | None,
    position: str,
    as_: str | None,
) -> None:
    """Record attendance at a meeting: present, absent, expected, substitute, or a prior
    position (agree, disagree or abstain) of a party that cannot come. Give one of them."""
    actor = env.acting(as_)
    status = _one_status(present, absent, expected, substitute_for, item, stance, position)
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


def _one_status(
    present: bool,
    absent: bool,
    expected: bool,
    substitute_for: str | None,
    item: str | None,
    stance: str | None,
    position: str,
) -> str | None:
    """The one thing `attend` records; two of them at once (``--present --absent``) is a
    usage error, as are --stance and --position without --prior-position."""
    given = [name for name, on in (("--present", present), ("--absent", absent),
             ("--expected", expected), ("--substitute-for", substitute_for is not None),
             ("--prior-position", item is not None)) if on]  # fmt: skip
    if given == ["--present", "--substitute-for"]:  # present, as a substitute: one fact
        given = ["--substitute-for"]
    if len(given) > 1:
        raise click.UsageError(
            f"{' and '.join(given)} contradict each other; give one of --present, --absent, "
            "--expected, --substitute-for PERSON, --prior-position PROPOSAL"
        )
    if item is None and (stance is not None or position):
        raise click.UsageError("--stance and --position go with --prior-position PROPOSAL")
    if substitute_for is not None:
        return "substitute"
    return next((s for s, on in (("present", present), ("absent", absent),
                                 ("expected", expected)) if on), None)  # fmt: skip


@click.command()
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
    r = service(env, decisions.retract, actor=env.acting(as_), proposal_id=proposal, reason=reason)
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


@click.command()
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
    """Chair of the deciding body: confirm decision text version N; the chair or the
    coordinator (writing a correction the chair asked for) may amend it."""
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


COMMANDS: list[click.Command] = [attend, decide, confirm]
