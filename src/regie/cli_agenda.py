"""`regie publish` and `regie news`: a meeting's agenda and the news from the top meeting."""

from __future__ import annotations

import click

from regie import cli_words as w
from regie.cli_support import Env, as_option, pass_env, reader, say, service
from regie.engine import agenda, queries


@click.command()
@click.argument("meeting")
@as_option
@pass_env
def publish(env: Env, meeting: str, as_: str | None) -> None:
    """Publish MEETING's agenda: every member gets it by e-mail with a calendar invite."""
    r = service(env, agenda.publish_agenda, actor=env.acting(as_), meeting_id=meeting)
    v = reader(env, queries.vocabulary, lang=env.lang, meeting_id=r.meeting_id)
    say(
        w.line(
            env.lang,
            "republished" if r.republished else "published",
            items=w.count(env.lang, "items", r.items),
            **w.meeting(env.lang, v["meeting"]),
        )
    )


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


COMMANDS: list[click.Command] = [publish, news]
