"""`regie parties`: correct a proposal's concerned parties after submission."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from regie.cli import words as w
from regie.cli.support import Env, as_option, pass_env, reader, say, service
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.engine import parties as parties_service
    from regie.engine import queries
else:
    parties_service = lazy_module("regie.engine.parties")
    queries = lazy_module("regie.engine.queries")


@click.command()
@click.argument("proposal")
@click.option("--add", "add", multiple=True, metavar="PARTY", help="A party it also concerns.")
@click.option(
    "--remove", "remove", multiple=True, metavar="PARTY", help="A party it does not concern."
)
@click.option("--reason", required=True, help="Why the parties change (in the audit trail).")
@as_option
@pass_env
def parties(
    env: Env,
    proposal: str,
    add: tuple[str, ...],
    remove: tuple[str, ...],
    reason: str,
    as_: str | None,
) -> None:
    """Correct the concerned parties of an open proposal (the coordinator or the routing
    body's chair), e.g. `parties P-2026-001 --add ede --remove rhenen --reason "…"`."""
    r = service(
        env,
        parties_service.correct_parties,
        actor=env.acting(as_),
        proposal_id=proposal,
        add=list(add),
        remove=list(remove),
        reason=reason,
    )
    names = reader(
        env, queries.vocabulary, lang=env.lang, parties=[*r.after, *r.added, *r.removed]
    )["parties"]

    def listed(ids: list[str]) -> str:
        return ", ".join(names.get(i, i) for i in ids) or w.line(env.lang, "none")

    say(
        w.line(
            env.lang,
            "parties",
            pid=r.proposal_id,
            parties=listed(r.after),
            added=listed(r.added),
            removed=listed(r.removed),
        )
    )


COMMANDS: list[click.Command] = [parties]
