"""Administration commands of `regie`: check, db backup."""

from __future__ import annotations

import click

from regie.cli.support import (
    Env,
    RegieClickError,
    emit_json,
    is_tty,
    json_option,
    pass_env,
    say,
)


@click.command()
@json_option
@pass_env
def check(env: Env, as_json: bool) -> None:
    """Check the database: storage, audit chain and the engine's invariants.

    Exits 1 and names the ids involved when anything is wrong; only reads."""
    from rich.progress import Progress

    from regie.engine.check import check_database, work_units

    db = env.database()
    # a bar on a terminal when the run takes more than a second or so (like `audit verify`)
    show_bar = is_tty() and not as_json and (total := work_units(db)) > 5000
    with Progress(disable=not show_bar, transient=True) as bar:
        task = bar.add_task("checking", total=total if show_bar else None)
        report = check_database(db=db, progress=lambda n: bar.advance(task, n))
    if as_json:
        emit_json(report.as_dict())
    else:
        for problem in report.problems:
            say(f"problem: {problem}")
        for note in report.notes:
            say(f"note: {note}")
        if report.ok:
            say(
                f"{report.database}: ok ({report.proposals} proposals, {report.events} events, "
                "audit chain intact)"
            )
    if not report.ok:
        n = len(report.problems)
        raise RegieClickError(
            f"{report.database}: {n} problem{'s' if n != 1 else ''} found (listed above); "
            "restore a backup or report it",
            1,
        )


@click.group(name="db")
def db_group() -> None:
    """Database maintenance: backups."""


@db_group.command(name="backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@json_option
@pass_env
def db_backup(env: Env, file: str, force: bool, as_json: bool) -> None:
    """Copy the SQLite database to FILE while regie keeps running (consistent snapshot).

    The copy is checked with `regie check` before this command reports success.
    Restore: stop regie, copy FILE over the database file, remove its -wal and -shm
    files, run `regie check`."""
    from regie.engine.backup import backup_database
    from regie.engine.check import check_database
    from regie.engine.storage import Database

    report = backup_database(db=env.database(), target=file, force=force)
    copy = Database(f"sqlite:///{report.target}")
    try:
        checked = check_database(db=copy)
    finally:
        copy.dispose()
    if as_json:
        emit_json({**report.as_dict(), "check": checked.as_dict()})
    elif checked.ok:
        say(
            f"backup written: {report.target} ({report.bytes} bytes; check ok: "
            f"{checked.proposals} proposals, {checked.events} events)"
        )
    if not checked.ok:
        raise RegieClickError(
            f"backup written to {report.target}, but it does not pass 'regie check' "
            f"({len(checked.problems)} problems): the database itself has them; run "
            "'regie check'",
            1,
        )


COMMANDS: list[click.Command] = [check, db_group]
