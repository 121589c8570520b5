"""`regie docs add|list` and `regie exception`: a proposal's documents for its meeting, and
the chair's exception to the document deadline (issue 18, rule 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from regie.cli.support import Env, as_option, emit_json, json_option, pass_env, reader, say
from regie.cli.support import service as run_service
from regie.lazy import lazy_module

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.engine import documents
else:
    documents = lazy_module("regie.engine.documents")

_LINES = {
    "nl": {
        "added": "{pid}: stuk vastgelegd voor vergadering {meeting}: {what}",
        "none": "{pid}: geen stukken vastgelegd",
        "exception": "{pid}: uitzondering op de termijn voor stukken voor vergadering {meeting}; "
        "het voorstel blijft op die vergadering",
    },
    "en": {
        "added": "{pid}: document recorded for meeting {meeting}: {what}",
        "none": "{pid}: no documents recorded",
        "exception": "{pid}: exception to the document deadline for meeting {meeting}; "
        "the proposal stays on that meeting",
    },
}


def _line(env: Env, key: str, **values: object) -> str:
    return _LINES.get(env.lang, _LINES["en"])[key].format(**values)


def _what(d: documents.Document) -> str:
    if d.url:
        return d.url + (f" ({d.title})" if d.title else "")
    name = f"{d.file.get('name')} ({d.file.get('size')} bytes, sha256 {d.file.get('sha256')})"
    return f"{d.title}: {name}" if d.title else name


@click.group()
def docs() -> None:
    """A proposal's documents: `docs add P-… --url URL`, `docs list P-…`."""


@docs.command("add")
@click.argument("proposal")
@click.option("--url", metavar="URL", help="A link to the document (http or https).")
@click.option(
    "--file",
    "file",
    metavar="PATH",
    help="A document file: recorded by name, size and SHA-256, not copied.",
)
@click.option("--title", default="", help="What the document is, e.g. 'Notitie'.")
@as_option
@pass_env
def add(
    env: Env, proposal: str, url: str | None, file: str | None, title: str, as_: str | None
) -> None:
    """Record a document for the meeting the proposal is on (its leads, its table's chair
    or the coordinator)."""
    d = run_service(
        env,
        documents.add_document,
        actor=env.acting(as_),
        proposal_id=proposal,
        url=url,
        file=file,
        title=title,
    )
    say(_line(env, "added", pid=d.proposal_id, meeting=d.meeting_id, what=_what(d)))


@docs.command("list")
@click.argument("proposal")
@json_option
@pass_env
def list_(env: Env, proposal: str, as_json: bool) -> None:
    """The documents recorded for a proposal, oldest first."""
    found = reader(env, documents.list_documents, proposal_id=proposal)
    if as_json:
        emit_json([d.as_dict() for d in found])
        return
    if not found:
        say(_line(env, "none", pid=proposal))
    for d in found:
        at = d.as_dict()["at"][:16].replace("T", " ")
        say(f"{at}  {d.meeting_id or '-'}  {d.actor}  {_what(d)}")


@click.command()
@click.argument("proposal")
@click.option("--meeting", required=True, metavar="MEETING", help="The meeting it is on.")
@click.option("--reason", required=True, help="Why it may stay without documents.")
@as_option
@pass_env
def exception(env: Env, proposal: str, meeting: str, reason: str, as_: str | None) -> None:
    """Chair of the meeting's body: let a proposal stay on MEETING without its documents by
    the deadline (the scheduler does not defer it)."""
    r = run_service(
        env,
        documents.grant_exception,
        actor=env.acting(as_),
        proposal_id=proposal,
        meeting_id=meeting,
        reason=reason,
    )
    say(_line(env, "exception", pid=r.proposal_id, meeting=r.meeting_id))


COMMANDS: list[click.Command] = [docs, exception]
