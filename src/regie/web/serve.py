"""``regie serve``: the web service and the outbox sender in one process.

uvicorn serves the app on ``--host``/``--port``; beside it, in the same event loop, the
sender drains the outbox every few seconds (so a sign-in link or a confirmation's notices
go out at once). SIGTERM or SIGINT stops uvicorn (it finishes the requests in progress);
the sender then finishes the round it is in — a message being sent is completed — and
the process exits. Without the database's secret (``REGIE_SECRET``, ``REGIE_KEY_FILE`` or
the key file ``regie init`` made) links cannot be checked: serve refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

from regie.clock import Clock
from regie.engine import keys
from regie.engine.storage import Database, Tx
from regie.errors import UsageError


def secret_of(db: Database) -> keys.Key:
    key = keys.load_key(str(db.path), db.is_sqlite)
    if key is None:
        where = f"{db.path}.key" if db.is_sqlite and db.path else "a key file"
        raise UsageError(
            "regie serve needs the database's secret to sign and check links: set "
            f"REGIE_SECRET or REGIE_KEY_FILE, or keep {where} (regie init creates it)"
        )
    return key


def run(
    db: Database,
    clock: Clock,
    *,
    host: str,
    port: int,
    send: bool,
    interval: float,
    echo: Callable[[str], None],
    schedule: bool = True,
) -> None:
    import uvicorn

    from regie.web.app import create_app

    key = secret_of(db)
    app = create_app(db, clock, key)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = _Server(config)
    echo(f"regie serve: {app.state.regie.settings.base_url} (listening on {host}:{port})")
    asyncio.run(
        _serve(server, db, clock, send=send, interval=interval, echo=echo, schedule=schedule)
    )
    echo("regie serve: stopped")


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server without its own signal handling: it re-raises SIGTERM when it
        has stopped, which would kill the process before the sender finishes its round."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server


def _Server(config: Any) -> Any:  # noqa: N802 - a class made on first use (uvicorn is lazy)
    return _server_class()(config)


async def _serve(
    server: Any, db: Database, clock: Clock, *, send: bool, interval: float,
    echo: Callable[[str], None], schedule: bool = True,
) -> None:  # fmt: skip
    stop = asyncio.Event()

    def shut_down() -> None:
        server.should_exit = True  # uvicorn finishes the requests in progress
        stop.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, shut_down)
    sending = asyncio.create_task(_send_loop(db, clock, stop, interval, echo)) if send else None
    scheduler = _start_scheduler(db, clock, echo) if schedule else None
    try:
        await server.serve()  # returns after SIGTERM/SIGINT
    finally:
        stop.set()
        if scheduler is not None:
            scheduler.shutdown(wait=True)  # a firing in progress is finished
        if sending is not None:
            await sending


async def _send_loop(
    db: Database, clock: Clock, stop: asyncio.Event, interval: float, echo: Callable[[str], None]
) -> None:
    from regie.notifications.sender import Sender, SendReport, watch
    from regie.notifications.smtp_settings import load_settings

    with db.transaction(write=False) as session:
        settings = load_settings(Tx(session))

    def report(done: SendReport) -> None:
        if done.sent or done.failed:
            echo(f"regie serve: sent {done.sent}, retry later {done.retry}, failed {done.failed}")

    await watch(Sender(db, settings, clock), interval=interval, stop=stop, on_round=report)


def _start_scheduler(db: Database, clock: Clock, echo: Callable[[str], None]) -> Any:
    """The scheduler's sweep (issue 18) as an APScheduler job in this event loop: at start
    and every minute; the sweep itself runs in APScheduler's thread pool."""
    from datetime import UTC, datetime

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from regie.scheduler.sweep import SWEEP_SECONDS, sweep

    def job() -> None:
        report = sweep(db, clock)
        if report.count:
            echo(f"regie serve: scheduler fired {report.count}")

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(job, "interval", seconds=SWEEP_SECONDS, id="regie-sweep",
                      next_run_time=datetime.now(UTC), misfire_grace_time=None,
                      coalesce=True, max_instances=1, replace_existing=True)  # fmt: skip
    scheduler.start()
    return scheduler
