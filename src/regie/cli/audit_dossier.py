"""`regie audit export` (a dossier of proposals, or of a search, as JSON, CSV or a printable
HTML page) and `regie audit check-dossier FILE` (its hashes, its facts, against the database
and a published anchor). Registered on the `audit` group in cli/audit.py."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

import click

from regie.cli.support import Env, RegieClickError, emit_json, json_option, pass_env, reader, say
from regie.errors import UsageError
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.dispute import dossier
else:
    dossier = lazy_module("regie.dispute.dossier")

STATUS: Final[dict[str, dict[str, str]]] = {
    "nl": {"passed": "klopt", "failed": "klopt NIET", "not checked": "niet gecontroleerd"},
    "en": {"passed": "passed", "failed": "FAILED", "not checked": "not checked"},
}
WRITTEN: Final[dict[str, str]] = {
    "nl": "dossier geschreven: {path} ({events} gebeurtenissen van {proposals} voorstellen; "
    "kop van de keten: gebeurtenis {head})",
    "en": "dossier written: {path} ({events} events of {proposals} proposals; head of the "
    "chain: event {head})",
}


@click.command(name="export")
@click.argument("proposals", nargs=-1, metavar="P-… [P-…]")
@click.option("--search", "search_text", metavar="TEXT", help="Export what this search finds.")
@click.option(
    "--format",
    "form",
    type=click.Choice(["json", "csv", "html"]),
    default="json",
    show_default=True,
    help="json: the form to check; csv: one row per event; html: a page to print.",
)
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write to FILE (default: standard output).",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--title", help="The dossier's title (default: the proposals or the search).")
@pass_env
def export_cmd(
    env: Env,
    proposals: tuple[str, ...],
    search_text: str | None,
    form: str,
    output: str | None,
    force: bool,
    title: str | None,
) -> None:
    """Write a dossier of proposals: their facts and every audit event with its chain hash,
    and the chain's head, to check later with 'regie audit check-dossier' (docs/AUDIT.md)."""
    if bool(proposals) == bool(search_text):
        raise UsageError(
            "name the proposals (regie audit export P-2026-001 P-2026-002) or a search "
            "(--search TEXT), one of the two"
        )
    if output is not None and os.path.lexists(output) and not force:
        raise UsageError(f"{output} exists already; choose another file or pass --force")
    now = env.clock.now()
    if search_text:
        made = reader(env, dossier.export_search, text=search_text, now=now, lang=env.lang,
                      title=title or search_text)  # fmt: skip
    else:
        made = reader(env, dossier.export, proposal_ids=list(proposals), now=now, lang=env.lang,
                      title=title or " ".join(proposals))  # fmt: skip
    text = made.render(form)
    if output is None:
        click.echo(text, nl=False)
        return
    path = dossier.write_file(output, text, force=force)
    say(
        WRITTEN[env.lang].format(
            path=path,
            events=len(made.data["events"]),
            proposals=len(made.data["proposals"]),
            head=made.head["id"],
        )
    )


@click.command(name="check-dossier")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--anchor",
    "anchor_text",
    metavar="ANCHOR",
    help="A published anchor ('regie audit anchor'): the dossier's head must be it, or lead to it.",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Check the file alone (and --anchor), without a database.",
)
@json_option
@pass_env
def check_dossier_cmd(
    env: Env, file: str, anchor_text: str | None, offline: bool, as_json: bool
) -> None:
    """Check a JSON dossier: every hash, the facts against the events, the events against
    the database's chain, the head against a published anchor; exit 1 naming the first
    event that does not match."""
    if offline:
        result = dossier.check(None, file, anchor=anchor_text)
    else:
        result = reader(env, dossier.check, path=file, anchor=anchor_text)
    if as_json:
        emit_json(result.as_dict())
    else:
        words = STATUS[env.lang if offline is False else _offline_lang(env)]
        for step in result.steps:
            say(f"{step.name}: {words[step.status]}: {step.detail}")
    bad = result.first_failure
    if bad is not None:
        where = f" at event {bad.event}" if bad.event is not None else ""
        raise RegieClickError(f"dossier {file} does not match{where}: {bad.detail}", 1)


def _offline_lang(env: Env) -> str:
    """Without a database the language comes from --lang / REGIE_LANG, else Dutch."""
    chosen = os.environ.get("REGIE_LANG") or click.get_current_context().find_root().params.get(
        "lang"
    )
    return "en" if str(chosen or "").lower() == "en" else "nl"


COMMANDS: list[click.Command] = [export_cmd, check_dossier_cmd]
