"""The sender: drains the outbox over SMTP (asyncio at the edge, short transactions inside).

Each of ``settings.connections`` workers owns ONE reused connection
(:mod:`regie.notifications.smtp_client`) and loops: record how its last attempt ended and
claim the next due row (one committed transaction, :func:`outbox.step`), render it, send
it. A claim is one attempt at one row, so a sender that stops holds at most one row per
connection. Right before DATA, :func:`outbox.data_started` is committed: only a message
whose DATA had started may have been delivered. Nothing is sent while a transaction is
open.

What becomes of a message:

* accepted → ``sent``;
* a 4xx reply, a refused recipient 4xx, or a connection lost BEFORE DATA → ``queued`` again
  with exponential backoff and jitter, up to ``max_attempts``;
* a permanent refusal (5xx, a refused recipient, also one of several) → ``failed`` with the
  server's reply;
* the connection lost (or timed out) AFTER DATA had started → it may have been delivered:
  ``queued`` once more with the same Message-ID, the second time ``failed`` for a person to
  check (:data:`outbox.STUCK_TWICE`); the process dying there ends the same way (lease);
* the server cannot be reached (refused, timeout, name not found) or refuses the setup
  (certificate, login, no STARTTLS) → the row was not tried: released (``queued`` as it
  was, the attempt not counted); the run stops and says why (:class:`SendReport`);
* any other exception while a row is claimed releases it (or, after DATA started, treats
  it as above) before it goes on up.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from regie.clock import Clock, to_utc_naive
from regie.engine.storage import Database, Tx
from regie.errors import MailError, RegieError
from regie.notifications import outbox
from regie.notifications.outbox import Attempt, Claim, Outcome
from regie.notifications.smtp_client import Client, ConfigProblem, Connection, unreachable
from regie.notifications.smtp_settings import MailConfigError, SmtpSettings
from regie.notifications.types import OutboxRow

Renderer = Callable[..., EmailMessage]  # render_notice(tx, row, *, sender_address, reply_to)
EXIT_UNREACHABLE = 75  # sysexits EX_TEMPFAIL: nothing lost, try again later


class MailUnreachable(MailError):
    """The SMTP server could not be reached; the notices wait in the outbox."""

    exit_code = EXIT_UNREACHABLE


@dataclass
class SendReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    released: int = 0
    problems: list[str] = field(default_factory=list)  # the setup is wrong (exit 2)
    unreachable: str | None = None  # why the server could not be reached (exit 75)
    waiting: int = 0  # rows queued or being sent when the run ended
    aborted: bool = False  # a worker ended with an exception: the others stop too

    def add(self, outcome: Outcome) -> None:
        kind = outcome.counts
        if kind == "sent":
            self.sent += 1
        elif kind == "retry":
            self.retry += 1
        elif kind == "failed":
            self.failed += 1
        else:
            self.released += 1

    @property
    def stopped(self) -> bool:
        return bool(self.problems) or self.unreachable is not None or self.aborted

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "retry_later": self.retry,
            "failed": self.failed,
            "released": self.released,
            "problems": list(self.problems),
            "unreachable": self.unreachable,
            "waiting": self.waiting,
        }

    def error(self) -> MailError | None:
        """What the run could not do, as the error ``regie send`` ends with."""
        wait = f"{self.waiting} notice{'s' if self.waiting != 1 else ''} wait in the outbox"
        if self.problems:
            return MailConfigError(f"{'; '.join(self.problems)}; {wait}")
        if self.unreachable is not None:
            return MailUnreachable(
                f"{self.unreachable}; {wait} (nothing was lost; 'regie send' tries again)"
            )
        return None


def default_renderer() -> Renderer:
    from regie.notifications import render

    return render.render_notice


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


class _NotOurs(Exception):
    """The attempt's lease expired and another sender took the row: do not send DATA."""


class _MarkFailed(Exception):
    """The DATA mark could not be written (its cause says why): DATA is not sent."""


class _Budget:
    def __init__(self, limit: int | None) -> None:
        self.left = limit

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def give_back(self) -> None:
        if self.left is not None:
            self.left += 1


class Sender:
    """Drains the outbox of one database."""

    def __init__(
        self,
        db: Database,
        settings: SmtpSettings,
        clock: Clock,
        *,
        render: Renderer | None = None,
        rng: random.Random | None = None,
        after_send: Callable[[OutboxRow], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.render = render or default_renderer()
        self.rng = rng or random.Random()
        self.after_send = after_send  # test hook: runs after the server accepted a message
        self.on_progress = on_progress
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.installation: str | None = None  # of this database, read at the first drain
        self._links: dict[str, Any] | None = None  # link_url for the renderer (first render)

    def now(self) -> datetime:
        return to_utc_naive(self.clock.now())

    async def drain(self, limit: int | None = None) -> SendReport:
        """Send what is due now, with ``settings.connections`` workers; then return."""
        report = SendReport()
        if await asyncio.to_thread(outbox.digests_by_sender, self.db):
            await asyncio.to_thread(outbox.build_digests, self.db, now=self.now())
        if self.installation is None:
            self.installation = await asyncio.to_thread(outbox.installation_id, self.db)
        claim = Claim(self.lease, self.settings.domain, self.installation)
        budget = _Budget(limit)
        workers = [self._worker(report, budget, claim) for _ in range(self.settings.connections)]
        ended = await asyncio.gather(*workers, return_exceptions=True)
        for result in ended:  # every worker has released its row before this goes on
            if isinstance(result, BaseException):
                raise result
        report.waiting = await asyncio.to_thread(outbox.waiting_count, self.db)
        return report

    async def _worker(self, report: SendReport, budget: _Budget, claim: Claim) -> None:
        conn = Connection(self.settings)
        ended: Outcome | None = None  # the last attempt's outcome, recorded with the next claim
        try:
            while True:
                wanted = not report.stopped and budget.take()
                attempt = await asyncio.to_thread(
                    outbox.step, self.db, now=self.now(), finish=ended,
                    claim=claim if wanted else None,
                )  # fmt: skip
                ended = None
                if attempt is None:
                    if wanted:
                        budget.give_back()
                    return
                ended = await self._guarded(conn, attempt, report)
                report.add(ended)
                if self.on_progress is not None:
                    self.on_progress(1)
        except BaseException:
            report.aborted = True
            raise
        finally:
            await conn.close()

    async def _guarded(self, conn: Connection, attempt: Attempt, report: SendReport) -> Outcome:
        """One attempt; on any exception (also cancellation) its row is released, or, if
        DATA had started, handled as interrupted (:func:`outbox._finish_one` decides from
        the row), before the exception goes on."""
        try:
            return await self._attempt(conn, attempt, report)
        except (Exception, asyncio.CancelledError) as exc:
            stop = Outcome(attempt.row.id, "release", f"stopped: {type(exc).__name__}: {exc}",
                           self.now() + outbox.backoff(attempt.row.attempts, self.rng),
                           attempt.id)  # fmt: skip
            await asyncio.shield(asyncio.to_thread(outbox.finish, self.db, [stop], now=self.now()))
            raise

    @property
    def _render_args(self) -> dict[str, str]:
        """What the renderer gets besides the row: the From address and, when the mail
        settings name one, the Reply-To address (only then: a renderer that knows no
        Reply-To keeps working)."""
        args = {"sender_address": self.settings.from_address}
        reply_to = getattr(self.settings, "reply_to", None)
        if reply_to:
            args["reply_to"] = str(reply_to)
        return args

    def _render(self, row: OutboxRow) -> EmailMessage | Outcome:
        try:
            with self.db.transaction(write=False) as session:
                if self._links is None:
                    self._links = link_args(self.db, Tx(session), self.render)
                msg = self.render(Tx(session), row, **self._render_args, **self._links)
        except Exception as exc:  # a template or data bug: this row fails, not the run
            return Outcome(row.id, "failed", f"could not render: {exc!r}"[:500])
        _fix_headers(msg, row)
        return msg

    async def _attempt(self, conn: Connection, attempt: Attempt, report: SendReport) -> Outcome:
        row = attempt.row
        msg = self._render(row)
        if isinstance(msg, Outcome):
            return Outcome(row.id, msg.status, msg.error, attempt=attempt.id)
        client = await self._connect(conn, attempt, report)
        if isinstance(client, Outcome):
            return client
        started = False

        async def mark_data_started() -> None:
            nonlocal started
            try:
                ours = await asyncio.to_thread(
                    outbox.data_started, self.db, attempt, now=self.now(), lease=self.lease
                )
            except Exception as exc:  # the database: not the server's doing
                raise _MarkFailed() from exc
            if not ours:
                raise _NotOurs()
            started = True

        client.before_data = mark_data_started
        try:
            refused, _reply_text = await client.send_message(
                msg, sender=self.settings.from_address, recipients=[row.email]
            )
        except _NotOurs:  # nothing was sent; the row belongs to another attempt now
            await conn.close()
            return Outcome(row.id, "release", attempt=attempt.id)
        except _MarkFailed as exc:  # e.g. the database is locked or full: the run stops
            await conn.close()
            assert exc.__cause__ is not None
            raise exc.__cause__ from None
        except Exception as exc:  # classified below; the connection is not trusted after it
            await conn.close()
            return self._classify(attempt, exc, started=started)
        finally:
            client.before_data = None
        if refused:
            text = "; ".join(f"{addr}: {r.code} {r.message}" for addr, r in refused.items())
            return Outcome(row.id, "failed", f"recipient refused: {text}", attempt=attempt.id)
        if self.after_send is not None:
            self.after_send(row)
        return Outcome(row.id, "sent", attempt=attempt.id)

    async def _connect(
        self, conn: Connection, attempt: Attempt, report: SendReport
    ) -> Client | Outcome:
        """The connection; if there is none, the row is released (not tried) and the
        report says why (the run then stops)."""
        try:
            return await conn.get()
        except ConfigProblem as exc:
            if str(exc) not in report.problems:
                report.problems.append(str(exc))
            return Outcome(attempt.row.id, "release", str(exc), attempt=attempt.id)
        except Exception as exc:  # refused, timeout, unknown host, a greeting 4xx …
            reason = unreachable(exc, self.settings)
            report.unreachable = report.unreachable or reason
            return Outcome(attempt.row.id, "release", reason, attempt=attempt.id)

    def _classify(self, attempt: Attempt, exc: Exception, *, started: bool) -> Outcome:
        row = attempt.row
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = [r.code for r in exc.recipients]
            text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if codes and min(codes) >= 500:
                return Outcome(row.id, "failed", f"recipient refused: {text}", attempt=attempt.id)
            return self._retry(attempt, f"recipient deferred: {text}")
        if isinstance(exc, aiosmtplib.SMTPResponseException):  # the server answered
            if exc.code >= 500:
                return Outcome(row.id, "failed", f"refused by the server: {_reply(exc)}",
                               attempt=attempt.id)  # fmt: skip
            return self._retry(attempt, f"deferred by the server: {_reply(exc)}")
        what = f"{type(exc).__name__}: {exc}"
        if started:  # no answer after DATA had started: it may have arrived
            return self._interrupted(attempt, what)
        if isinstance(exc, ssl.SSLError):
            return self._retry(attempt, f"TLS error before DATA: {exc}")
        if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
            return self._retry(attempt, f"connection trouble before DATA: {what}")
        return self._retry(attempt, f"unexpected error before DATA: {what}")

    def _interrupted(self, attempt: Attempt, what: str) -> Outcome:
        row = attempt.row
        reason = f"no answer after DATA had started ({what}): {outbox.MAY_HAVE_ARRIVED}"
        if attempt.recovered >= 1:  # the second time: a person checks (never a third copy)
            return Outcome(row.id, "failed", outbox.STUCK_TWICE, attempt=attempt.id)
        if row.attempts >= self.settings.max_attempts:
            reason = f"gave up after {row.attempts} attempts: {reason.split(': ', 1)[0]}"
            return Outcome(row.id, "failed", f"{reason}; it may have been delivered",
                           attempt=attempt.id)  # fmt: skip
        at = self.now() + outbox.backoff(row.attempts, self.rng)
        return Outcome(row.id, "interrupted", reason[:1000], at, attempt.id)

    def _retry(self, attempt: Attempt, reason: str) -> Outcome:
        row = attempt.row
        if row.attempts >= self.settings.max_attempts:
            return Outcome(row.id, "failed", f"gave up after {row.attempts} attempts: {reason}",
                           attempt=attempt.id)  # fmt: skip
        at = self.now() + outbox.backoff(row.attempts, self.rng)
        return Outcome(row.id, "retry", reason[:1000], at, attempt.id)


def link_args(db: Database, tx: Tx, render: Renderer) -> dict[str, Any]:
    """What makes the links in mails (:mod:`regie.web.links`): ``link_url(row)`` and
    ``link_days``, when the database's key is there and the renderer takes them; else
    nothing (the mails then say whom to tell instead)."""
    params = inspect.signature(render).parameters.values()
    if not any(p.name == "link_url" or p.kind is p.VAR_KEYWORD for p in params):
        return {}
    from regie.engine.keys import load_key
    from regie.web.links import url_for
    from regie.web.settings import load_web_settings

    try:
        key = load_key(str(db.path), db.is_sqlite)
    except RegieError:  # a key file others may read: no links (regie serve says why)
        key = None
    if key is None:
        return {}
    settings = load_web_settings(tx)

    def link_url(row: OutboxRow) -> str:
        return url_for(settings.base_url, key, row.id)

    return {"link_url": link_url, "link_days": settings.link_days}


def _fix_headers(msg: EmailMessage, row: OutboxRow) -> None:
    """The row's Message-ID on every attempt; a To header if the renderer left it out."""
    # raw_items and `in` look at the stored headers without parsing them again
    ids = [str(value).strip() for name, value in msg.raw_items() if name.lower() == "message-id"]
    if ids != [row.message_id]:
        del msg["Message-ID"]
        msg["Message-ID"] = row.message_id
    if "To" not in msg:
        msg["To"] = row.email


async def watch(
    sender: Sender, *, interval: float, stop: asyncio.Event, on_round: Callable[[SendReport], None]
) -> None:
    """Drain, wait ``interval`` seconds (or until ``stop``), repeat."""
    while not stop.is_set():
        on_round(await sender.drain())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
