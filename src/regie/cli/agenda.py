"""`regie agenda`, `regie publish` and `regie news`: a meeting's agenda, its approval by the
routing body (top meeting), publishing it, and the news from the top meeting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from regie.cli import read as cli_read
from regie.cli import words as w
from regie.cli.support import Env, as_option, pass_env, reader, say, service
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.engine import agenda, agenda_approval, agenda_view, queries
else:
    agenda = lazy_module("regie.engine.agenda")
    agenda_approval = lazy_module("regie.engine.agenda_approval")
    agenda_view = lazy_module("regie.engine.agenda_view")
    queries = lazy_module("regie.engine.queries")


class AgendaGroup(click.Group):
    """`regie agenda MEETING` (and `--json`) reads, as `regie agenda show MEETING`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(name="agenda", cls=AgendaGroup)
def agenda_group() -> None:
    """A meeting's agenda: `regie agenda MEETING` shows it (short for `agenda show`);
    `regie agenda approve MEETING` records the routing body's approval of a top meeting's
    agenda."""


agenda_group.add_command(cli_read.agenda)


@agenda_group.command()
@click.argument("meeting")
@click.option(
    "--at",
    "at",
    metavar="MEETING",
    help="The routing body's meeting that approved it (default: its latest that has started).",
)
@as_option
@pass_env
def approve(env: Env, meeting: str, at: str | None, as_: str | None) -> None:
    """Approve the agenda of a coming top MEETING as it is now, on behalf of the routing
    body (the chairs' meeting sets the OOGO agenda); a published agenda that changes goes
    out again."""
    r = service(env, agenda_approval.approve, actor=env.acting(as_), meeting_id=meeting, at=at)
    v = reader(env, queries.vocabulary, lang=env.lang, meeting_id=r.meeting_id,
               bodies=[r.routing_body])  # fmt: skip
    held: Any = None
    if r.routing_meeting:
        held = reader(env, queries.vocabulary, lang=env.lang, meeting_id=r.routing_meeting)
    text = w.line(
        env.lang,
        "approved",
        routing=v["bodies"].get(r.routing_body, r.routing_body),
        held=w.line(env.lang, "held", **w.meeting(env.lang, held["meeting"])) if held else "",
        items=w.count(env.lang, "items", len(r.proposals)),
        **w.meeting(env.lang, v["meeting"]),
    )
    say(text + (w.line(env.lang, "approved_again") if r.republished else ""))


@click.command()
@click.argument("meeting")
@as_option
@pass_env
def publish(env: Env, meeting: str, as_: str | None) -> None:
    """Publish MEETING's agenda: every member gets it by e-mail with a calendar invite."""
    r = service(env, agenda.publish_agenda, actor=env.acting(as_), meeting_id=meeting)
    v = reader(env, queries.vocabulary, lang=env.lang, meeting_id=r.meeting_id)
    text = w.line(
        env.lang,
        "republished" if r.republished else "published",
        items=w.count(env.lang, "items", r.items),
        **w.meeting(env.lang, v["meeting"]),
    )
    if r.awaiting:
        a = reader(env, agenda_view.agenda, meeting_id=r.meeting_id)
        text += w.line(
            env.lang,
            "left_out",
            awaiting=w.count(env.lang, "awaiting", r.awaiting),
            routing=a["routing_body_name"] or a["routing_body"],
            meeting=r.meeting_id,
        )
    say(text)


@click.command()
@click.argument("meeting")
@as_option
@pass_env
def news(env: Env, meeting: str, as_: str | None) -> None:
    """After a MEETING of the top body (OOGO): send its decisions to the members of the
    bodies in [structure] news_to (every LEA: "news from the OOGO")."""
    r = service(env, agenda.oogo_news, actor=env.acting(as_), meeting_id=meeting)
    v = reader(env, queries.vocabulary, lang=env.lang, meeting_id=r.meeting_id)
    say(
        w.line(
            env.lang,
            "news",
            decisions=w.count(env.lang, "decisions", r.decisions),
            bodies=w.count(env.lang, "bodies", r.bodies),
            **w.meeting(env.lang, v["meeting"]),
        )
    )


COMMANDS: list[click.Command] = [agenda_group, publish, news]
