"""Mail commands of `regie`: send, outbox (list, retry, cancel), mail-sink."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from regie.cli.support import (
    Env,
    as_option,
    emit_json,
    is_tty,
    json_option,
    one_line,
    pass_env,
    reader,
    say,
    service,
    table,
)
from regie.clock import to_utc_naive
from regie.lazy import lazy_module
from regie.notifications.types import SINK_PORT, STATUSES

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from regie.notifications import outbox, outbox_admin, sink
    from regie.notifications.sender import SendReport
    from regie.notifications.smtp_settings import SmtpSettings
else:
    outbox = lazy_module("regie.notifications.outbox")
    outbox_admin = lazy_module("regie.notifications.outbox_admin")
    sink = lazy_module("regie.notifications.sink")

PROGRESS_THRESHOLD = 50


def _settings(session: Any) -> SmtpSettings:
    from regie.engine.storage import Tx
    from regie.notifications.smtp_settings import load_settings

    return load_settings(Tx(session))


def _print_report(report: SendReport, prefix: str = "") -> None:
    say(f"{prefix}sent {report.sent}, retry later {report.retry}, failed {report.failed}"
        + (f", released {report.released}" if report.released else ""))  # fmt: skip


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    if total <= PROGRESS_THRESHOLD or not is_tty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("sending", total=total)
        yield lambda n: bar.advance(task, n)


@click.command()
@click.option(
    "--watch", "keep_watching", is_flag=True, help="Keep sending what becomes due (Ctrl-C stops)."
)
@click.option("--limit", type=click.IntRange(min=1), help="Send at most N messages (per round).")
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between rounds with --watch.",
)
@json_option
@pass_env
def send(env: Env, keep_watching: bool, limit: int | None, interval: float,
         as_json: bool) -> None:  # fmt: skip
    """Send the queued notices over SMTP (once, or continuously with --watch).

    Exit 0 when the run went through (refused or deferred messages are in `regie outbox`),
    75 when the server could not be reached (the notices wait; try again later), 2 when the
    mail settings are wrong or the server refuses them."""
    db = env.database()
    settings = reader(env, _settings)
    if keep_watching:
        _watch(db, settings, env, interval)
        return
    due = outbox.due_count(db, now=to_utc_naive(env.clock.now()))
    with _progress(min(due, limit or due)) as on_progress:
        from regie.notifications.sender import Sender

        sender = Sender(db, settings, env.clock, on_progress=on_progress)
        report = asyncio.run(sender.drain(limit))
    if as_json:
        emit_json(report.as_dict())
    else:
        _print_report(report)
    error = report.error()  # the server unreachable: exit 75; the setup refused: exit 2
    if error is not None:
        raise error


def _watch(db: Any, settings: SmtpSettings, env: Env, interval: float) -> None:
    say(f"sending to {settings.describe()} every {interval:g} s; Ctrl-C stops")

    def on_round(report: SendReport) -> None:
        if report.sent or report.retry or report.failed:
            _print_report(report)
        error = report.error()
        if error is not None:
            click.echo(f"regie: warning: {one_line(str(error))}", err=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, stop.set)
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        from regie.notifications.sender import Sender, watch

        await watch(Sender(db, settings, env.clock), interval=interval, stop=stop,
                    on_round=on_round)  # fmt: skip

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    say("stopped")


@click.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(STATUSES), help="Only rows in this status.")
@click.option("--person", help="Only mail to this person.")
@click.option("--proposal", help="Only mail about this proposal.")
@click.option("--kind", help="Only this kind of notice, e.g. submitted.")
@click.option(
    "--limit",
    default=100,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Show at most this many rows (the newest); the output says when rows were left out.",
)
@json_option
@click.pass_context
def outbox_cmd(ctx: click.Context, as_json: bool, **filters: Any) -> None:
    """List the outbox (newest first); `retry` and `cancel` act on rows. With --json: an
    object with `rows`, `total` (rows that match), `limit` and `truncated`."""
    if ctx.invoked_subcommand is not None:
        return
    env = ctx.find_object(Env)
    assert env is not None
    page = reader(env, outbox_admin.list_rows, **filters)
    if as_json:
        emit_json(page)
        return
    rows = page["rows"]
    table("Outbox", ["id", "kind", "to", "proposal", "status", "tries", "next / sent", "error"],
          [(r["id"], r["kind"], r["person_id"], r["proposal_id"], r["status"], r["attempts"],
            r["sent_at"] or (r["next_attempt_at"] if r["status"] == "queued" else ""),
            (r["last_error"] or "")[:80]) for r in rows])  # fmt: skip
    if page["truncated"]:
        say(f"the newest {len(rows)} of {page['total']} rows; --limit N shows more")


outbox_cmd.name = "outbox"


@outbox_cmd.command()
@click.argument("row_id", required=False, type=click.IntRange(1, 2**63 - 1))
@click.option("--all-failed", is_flag=True, help="Queue every failed row again.")
@as_option
@pass_env
def retry(env: Env, row_id: int | None, all_failed: bool, as_: str | None) -> None:
    """Queue a failed or cancelled row (or all failed rows) again, due now. The network
    coordinator does this; it is recorded in the audit trail."""
    n = service(
        env, outbox_admin.retry, actor=env.acting(as_), row_id=row_id, all_failed=all_failed
    )
    say(f"{n} row{'s' if n != 1 else ''} queued again")


@outbox_cmd.command()
@click.argument("row_id", type=click.IntRange(1, 2**63 - 1))
@as_option
@pass_env
def cancel(env: Env, row_id: int, as_: str | None) -> None:
    """Cancel a row that was not sent yet. The network coordinator does this; it is
    recorded in the audit trail."""
    old = service(env, outbox_admin.cancel, actor=env.acting(as_), row_id=row_id)
    say(f"outbox row {row_id} cancelled (was {old})")


@click.command(name="mail-sink")
@click.option(
    "--dir",
    "directory",
    default="mail-out",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the received messages (.eml).",
)
@click.option(
    "--port",
    default=SINK_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port on 127.0.0.1.",
)
def mail_sink(directory: Path, port: int) -> None:
    """Run a local SMTP server that stores every message as a .eml file (Ctrl-C or SIGTERM
    stops it). The folder is created 0700, each file 0600."""

    def show(m: sink.StoredMail) -> None:  # what came in over SMTP: shown escaped
        say(one_line(f"{m.path.name if m.path else '-'}  to {', '.join(m.rcpt_tos)}: {m.subject}"))

    handler = sink.MailSink(directory, show, keep=False)
    stop = threading.Event()
    with _stop_on_sigterm(stop), sink.running(handler, port=port):
        say(f"mail sink on {sink.HOST}:{port}, storing in {directory}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    say(f"stopped; {handler.count} message{'s' if handler.count != 1 else ''} received")


@contextlib.contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """SIGTERM ends the wait like Ctrl-C: a sink started in the background (where SIGINT is
    ignored, as in a non-interactive shell's `&` jobs) can still be stopped cleanly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


COMMANDS: list[click.Command] = [send, outbox_cmd, mail_sink]
