"""`regie publish` and `regie news`: a meeting's agenda and the news from the OOGO."""

from __future__ import annotations

import click

from regie.cli_support import Env, acting_person, as_option, pass_env, say, service
from regie.engine import agenda


@click.command()
@click.argument("meeting")
@as_option
@pass_env
def publish(env: Env, meeting: str, as_: str | None) -> None:
    """Publish MEETING's agenda: every member gets it by e-mail with a calendar invite."""
    r = service(env, agenda.publish_agenda, actor=acting_person(as_), meeting_id=meeting)
    again = " again (calendar update)" if r.republished else ""
    items = f"{r.items} item{'s' if r.items != 1 else ''}" if r.items else "no items"
    say(
        f"{r.meeting_id}: agenda published{again} to the members of {r.body_id} ({items}); "
        "the mails go out with 'regie send'"
    )


@click.command()
@click.argument("meeting")
@as_option
@pass_env
def news(env: Env, meeting: str, as_: str | None) -> None:
    """After an OOGO MEETING: send its decisions to every LEA ("news from the OOGO")."""
    r = service(env, agenda.oogo_news, actor=acting_person(as_), meeting_id=meeting)
    say(
        f"{r.meeting_id}: news from the OOGO ({r.decisions} decision"
        f"{'s' if r.decisions != 1 else ''}) queued for the members of {r.bodies} bodies; "
        "the mails go out with 'regie send'"
    )


COMMANDS: list[click.Command] = [publish, news]
