"""`regie feasibility P-… --party … --feasible|--not-feasible --text …`: a concerned party
states whether a proposal's follow-up is feasible (issue 18, rule 8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from regie.cli.support import Env, as_option, pass_env, say
from regie.cli.support import service as run_service
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.engine import feasibility as engine
else:
    engine = lazy_module("regie.engine.feasibility")

_LINES = {
    "nl": {True: "{pid}: {party} vindt het vervolg haalbaar",
           False: "{pid}: {party} vindt het vervolg niet haalbaar; de voorzitter is op de hoogte"},
    "en": {True: "{pid}: {party} finds the follow-up feasible",
           False: "{pid}: {party} finds the follow-up not feasible; the chair is told"},
}  # fmt: skip


@click.command()
@click.argument("proposal")
@click.option("--party", metavar="PARTY", help="The concerned party (default: your own).")
@click.option(
    "--feasible/--not-feasible",
    default=None,
    help="Whether the follow-up is feasible for the party (one of the two is required).",
)
@click.option("--text", default="", help="Why; with --not-feasible: what is feasible.")
@as_option
@pass_env
def feasibility(
    env: Env, proposal: str, party: str | None, feasible: bool | None, text: str, as_: str | None
) -> None:
    """A concerned party states whether a proposal's follow-up is feasible for it."""
    if feasible is None:
        raise click.UsageError("say --feasible or --not-feasible")
    s = run_service(
        env,
        engine.state_feasibility,
        actor=env.acting(as_),
        proposal_id=proposal,
        party=party,
        feasible=feasible,
        text=text,
    )
    say(_LINES.get(env.lang, _LINES["en"])[s.feasible].format(pid=s.proposal_id, party=s.party))


COMMANDS: list[click.Command] = [feasibility]
