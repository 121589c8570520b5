"""What the CLI needs besides parsing: the environment, error translation, output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from regie.cli.errors import INTERNAL_ERROR as INTERNAL_ERROR  # re-exported
from regie.cli.errors import RegieClickError as RegieClickError
from regie.cli.errors import RegieGroup as RegieGroup
from regie.cli.errors import _as_typed, shown
from regie.cli.errors import one_line as one_line
from regie.clock import AMSTERDAM, Clock, FixedClock, SystemClock
from regie.errors import UsageError
from regie.lazy import lazy_module
from regie.text_input import UNSAFE_IN_LINES, not_utf8

if TYPE_CHECKING:  # loaded when a command runs, not for its --help
    from rich.console import Console
    from rich.text import Text

    from regie.engine import queries, storage
    from regie.engine.storage import Database
else:
    queries = lazy_module("regie.engine.queries")
    storage = lazy_module("regie.engine.storage")


class Env:
    """Settings of one CLI call, built from options and the environment (no globals).

    ``lang``, the language of the human output, is chosen once, when first needed:
    ``--lang`` (or env ``REGIE_LANG``), else the acting person's language (``--as``, env
    ``REGIE_USER``), else the region's ``language`` setting, else Dutch."""

    def __init__(self, db: str | None, lang: str | None = None) -> None:
        _require_utf8("--db / REGIE_DB", db or "")
        self._db_option = db
        self._db: Database | None = None
        self.clock = clock_from_env()
        self._lang = lang
        self.person: str | None = os.environ.get("REGIE_USER") or None
        _require_utf8("REGIE_USER", self.person or "")

    def acting(self, as_: str | None) -> str | None:
        """The acting person (``--as``, else env ``REGIE_USER``); remembered for ``lang``."""
        if as_:
            self.person = as_
        return self.person

    @property
    def lang(self) -> str:
        if self._lang is None:
            self._lang = str(reader(self, queries.language, person=self.person))
        return self._lang

    @property
    def db_url(self) -> str:
        """The database's URL (from ``--db``/``REGIE_DB``), worked out when first needed:
        the root command runs before a subcommand's ``--help``, which needs no engine."""
        return str(storage.database_url(self._db_option))

    def database(self, *, require: bool = True) -> Database:
        if self._db is None:
            self._db = storage.Database(self.db_url)
        if require:
            storage.require_schema(self._db)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


def _require_utf8(where: str, value: str) -> None:
    if not_utf8(value):
        raise UsageError(
            f"{where} is not valid UTF-8 text ({_as_typed(value)}); set it again, with a UTF-8 "
            "terminal (e.g. LANG=C.UTF-8)"
        )


def clock_from_env() -> Clock:
    """``REGIE_NOW`` (ISO time; naive means Europe/Amsterdam) fixes the clock, for
    rehearsals and tests; otherwise the system clock."""
    value = os.environ.get("REGIE_NOW")
    if not value:
        return SystemClock()
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"REGIE_NOW={value!r} is not an ISO date-time, e.g. 2027-01-12T14:30"
        ) from None
    return FixedClock(at if at.tzinfo else at.replace(tzinfo=AMSTERDAM))


def emit_json(value: Any) -> None:
    """JSON; characters a terminal acts on (DEL, C1, bidi overrides, surrogates: JSON itself
    escapes only C0) are written as \\u escapes, which every JSON reader reads back."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    click.echo(UNSAFE_IN_LINES.sub(lambda found: f"\\u{ord(found.group()):04x}", text))


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], ids: Sequence[int] = (0,)
) -> None:
    """A table; the columns ``ids`` (ids to type in a next command) are never folded.
    Every cell is plain text: no rich markup (``[bold]``) or emoji codes, nothing raw that a
    terminal acts on."""
    from rich.table import Table

    t = Table(title=_plain(title), title_justify="left")
    for i, col in enumerate(columns):
        t.add_column(_plain(col), overflow="fold", no_wrap=i in ids)
    for row in rows:
        t.add_row(*(_plain("" if v is None else str(v)) for v in row))
    console().print(t)


def _plain(text: str) -> Text:
    from rich.text import Text

    return Text(shown(text))


def say(text: str) -> None:
    click.echo(shown(text))


def fail(message: str, code: int = 1) -> NoReturn:
    raise RegieClickError(message, code)


pass_env = click.make_pass_decorator(Env)
as_option = click.option(
    "--as", "as_", metavar="PERSON", help="Act as this person (default: env REGIE_USER)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
meeting_option = click.option(
    "--meeting", metavar="MEETING", help="Put it on this meeting instead of the next open one."
)


def service(env: Env, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run one write service in its own session (the service commits).

    First, in a read transaction, :func:`~regie.engine.warmup.prepare` imports and loads
    what the service needs, so the write lock is held only for reading rows and writing
    (issue 15: imports inside ``BEGIN IMMEDIATE`` held it for up to seconds)."""
    from regie.engine.warmup import prepare

    db = env.database()
    with db.transaction(write=False) as ahead:
        prepare(ahead, env.clock)
    with db.transaction() as session:
        return fn(session=session, clock=env.clock, **kwargs)


def reader(env: Env, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run one read service in a read-only transaction."""
    with env.database().transaction(write=False) as session:
        return fn(session=session, **kwargs)


def is_tty() -> bool:
    return sys.stderr.isatty()


def vocabulary(env: Env, **kwargs: Any) -> dict[str, Any]:
    """The words to tell what a change did (read after it was committed)."""
    return dict(reader(env, queries.vocabulary, lang=env.lang, **kwargs))
