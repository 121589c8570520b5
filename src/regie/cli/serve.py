"""`regie serve`: the web service for the links in mails, with the outbox sender."""

from __future__ import annotations

import click

from regie.cli.support import Env, pass_env, say


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port."
)
@click.option("--no-send", is_flag=True, help="Do not run the outbox sender in this process.")
@click.option(
    "--no-schedule", is_flag=True, help="Do not run the scheduler (reminders) in this process."
)
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between the sender's rounds.",
)
@pass_env
def serve(
    env: Env, host: str, port: int, no_send: bool, no_schedule: bool, interval: float
) -> None:
    """Run the web service (links in mails, the portal), the outbox sender and the
    scheduler."""
    from regie.web.serve import run

    run(env.database(), env.clock, host=host, port=port, send=not no_send, interval=interval,
        echo=say, schedule=not no_schedule)  # fmt: skip


COMMANDS = [serve]
