"""The `regie` command: parse, call one service, print. No SQL and no rules here.

The root group loads a command's module only when that command is used, so `regie --help`
costs little more than click itself: it lists the commands from :data:`COMMANDS` (module
and one-line help of each; a test keeps the table equal to the commands' own help).
"""

from __future__ import annotations

import importlib

import click

from regie.cli.errors import RegieGroup, flush_output

# name -> (module in this package, the command's one-line help as `--help` lists it)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("moves", "Create or upgrade the database and load..."),
    "submit": ("moves", "Submit a new proposal to a table."),
    "route": ("moves", "Give a proposal's route, as stage ids:..."),
    "advance": ("moves", "Move a proposal to the next stage of its..."),
    "return": ("moves", "Send a proposal back to an earlier stage."),
    "defer": ("moves", "Move a proposal to the next meeting of the..."),
    "withdraw": ("moves", "Withdraw a proposal for good."),
    "attend": ("decisions", "Record attendance at a meeting: present,..."),
    "decide": ("decisions", "Record the outcome at the meeting where..."),
    "confirm": ("decisions", "Chair of the deciding body: confirm..."),
    "show": ("read", "Show one proposal: route, state, meeting,..."),
    "list": ("read", "List proposals, newest first, optionally..."),
    "meetings": ("read", "List meetings (upcoming by default)."),
    "people": ("read", "The people of the region (ids to use with..."),
    "audit": ("audit", "The audit trail: search decisions, a..."),
    "demo": ("read", "Route five proposals through the whole..."),
    "agenda": ("agenda", "A meeting's agenda: `regie agenda MEETING`..."),
    "publish": ("agenda", "Publish MEETING's agenda: every member..."),
    "news": ("agenda", "After a MEETING of the top body (OOGO):..."),
    "send": ("mail", "Send the queued notices over SMTP (once,..."),
    "outbox": ("mail", "List the outbox (newest first); `retry`..."),
    "mail-sink": ("mail", "Run a local SMTP server that stores every..."),
    "check": ("admin", "Check the database: storage, audit chain..."),
    "db": ("admin", "Database maintenance: backups."),
    "parties": ("parties", "Correct the concerned parties of an open..."),
    "docs": ("docs", "A proposal's documents: `docs add P-…..."),
    "exception": ("docs", "Chair of the meeting's body: let a..."),
    "feasibility": ("feasibility", "A concerned party states whether a..."),
    "serve": ("serve", "Run the web service (links in mails, the..."),
    "due": ("scheduler", "What the scheduler's rules fire: overdue..."),
    "scheduler": ("scheduler", "Fire what is due (reminders, escalations):..."),
}


class LazyGroup(RegieGroup):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = COMMANDS.get(cmd_name)
        if found is None:
            return None
        module = importlib.import_module(f"regie.cli.{found[0]}")
        return next(c for c in module.COMMANDS if c.name == cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="REGIE_DB",
    metavar="URL|PATH",
    help="Database: SQLAlchemy URL or SQLite file (env REGIE_DB; default ./regie.db).",
)
@click.option(
    "--lang",
    type=click.Choice(["nl", "en"], case_sensitive=False),
    envvar="REGIE_LANG",
    help="Language of the output (env REGIE_LANG; default: the acting person's, else the "
    "region's).",
)
@click.version_option(package_name="regie")
@click.pass_context
def cli(ctx: click.Context, db: str | None, lang: str | None) -> None:
    """regie routes policy proposals through the region's consultation bodies (in
    FoodValley: tables, the chairs' meeting, the AO and the OOGO) and keeps a
    tamper-evident record of every step."""
    from regie.cli.support import Env  # with the engine: only when a command runs

    env = Env(db, lang.lower() if lang else None)
    ctx.obj = env
    ctx.call_on_close(env.close)


def main() -> None:
    try:
        cli(prog_name="regie")
    finally:
        flush_output()
