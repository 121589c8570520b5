"""The sender: drains the outbox over SMTP (asyncio at the edge, short transactions inside).

Each of ``settings.connections`` workers owns ONE reused aiosmtplib connection and loops:
claim a batch (``queued → sending`` with a lease, committed), render it (read
transaction), send each message, then record the outcomes (one committed transaction).
Nothing is sent while a transaction is open.

What becomes of a message:

* accepted for every recipient → ``sent``;
* temporary trouble (connection refused or lost, e.g. in the middle of DATA, timeouts,
  4xx replies) → ``queued`` again with exponential backoff and jitter, up to
  ``max_attempts``;
* permanent refusal (5xx, a refused recipient, also one of several) → ``failed`` with
  the server's reply;
* a TLS certificate the server presents that cannot be verified, or a refused login →
  the row waits (``queued``) and the run reports a :class:`~regie.errors.MailError`;
* the process dies after the server accepted but before marking: the lease expires and
  the row is sent once more with the same Message-ID (see :func:`outbox.claim`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

import aiosmtplib

from regie.clock import Clock, to_utc_naive
from regie.engine.storage import Database, Tx
from regie.notifications import outbox
from regie.notifications.outbox import Outcome
from regie.notifications.smtp_settings import SmtpSettings
from regie.notifications.types import OutboxRow

Renderer = Callable[..., EmailMessage]  # render_notice(tx, row, *, sender_address=...)
LEASE_MARGIN = 2  # stop a batch when less than this many timeouts of lease are left


class ConfigProblem(Exception):
    """The SMTP setup itself is wrong (certificate, login): no message can go out."""


@dataclass
class SendReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    released: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            if o.status == "sent":
                self.sent += 1
            elif o.status == "retry":
                self.retry += 1
            elif o.status == "failed":
                self.failed += 1
            else:
                self.released += 1

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "retry_later": self.retry,
            "failed": self.failed,
            "released": self.released,
            "problems": list(self.problems),
        }


def default_renderer() -> Renderer:
    from regie.notifications import render

    return render.render_notice


class _Connection:
    """One lazily opened, reused SMTP connection."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.client: aiosmtplib.SMTP | None = None

    async def get(self) -> aiosmtplib.SMTP:
        if self.client is not None and self.client.is_connected:
            return self.client
        await self.close()
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host, port=s.port, use_tls=s.tls, start_tls=s.starttls,
            timeout=s.timeout, username=s.user, password=s.password, cert_bundle=s.ca_file,
        )  # fmt: skip
        try:
            await client.connect()
        except ssl.SSLCertVerificationError as exc:
            client.close()
            raise ConfigProblem(
                f"the TLS certificate of {s.host}:{s.port} could not be verified "
                f"({exc.verify_message or exc.reason}); fix the server's certificate or set "
                "ca_file in [mail]"
            ) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise ConfigProblem(
                f"{s.host}:{s.port} refused the login of {s.user!r}: {exc.code} {exc.message}; "
                "check user in [mail] and REGIE_SMTP_PASSWORD"
            ) from None
        except BaseException:
            client.close()
            raise
        self.client = client
        return client

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        else:
            client.close()


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


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

    def now(self) -> datetime:
        return to_utc_naive(self.clock.now())

    async def drain(self, limit: int | None = None) -> SendReport:
        """Send what is due now, with ``settings.connections`` workers; then return."""
        report = SendReport()
        await asyncio.to_thread(outbox.build_digests, self.db, now=self.now())
        budget = [limit if limit is not None else -1]
        workers = [self._worker(report, budget) for _ in range(self.settings.connections)]
        await asyncio.gather(*workers)
        return report

    def _take(self, budget: list[int]) -> int:
        if budget[0] < 0:
            return self.settings.batch_size
        n = min(budget[0], self.settings.batch_size)
        budget[0] -= n
        return n

    async def _worker(self, report: SendReport, budget: list[int]) -> None:
        conn = _Connection(self.settings)
        try:
            while (n := self._take(budget)) > 0:
                rows = await asyncio.to_thread(
                    outbox.claim, self.db, now=self.now(), limit=n,
                    lease=timedelta(seconds=self.settings.lease_seconds),
                    domain=self.settings.domain,
                )  # fmt: skip
                if budget[0] >= 0:
                    budget[0] += n - len(rows)
                if not rows:
                    return
                outcomes, stop = await self._batch(conn, rows, report)
                await asyncio.to_thread(outbox.finish, self.db, outcomes, now=self.now())
                report.add(outcomes)
                if self.on_progress is not None:
                    self.on_progress(len(outcomes))
                if stop:
                    return
        finally:
            await conn.close()

    def _render(self, tx: Tx, row: OutboxRow) -> EmailMessage | Outcome:
        try:
            msg = self.render(tx, row, sender_address=self.settings.from_address)
        except Exception as exc:  # a template or data bug: this row fails, not the run
            return Outcome(row.id, "failed", f"could not render: {exc!r}"[:500])
        _fix_headers(msg, row)
        return msg

    async def _batch(
        self, conn: _Connection, rows: list[OutboxRow], report: SendReport
    ) -> tuple[list[Outcome], bool]:
        """Render each message just before sending it, and the next one while the server
        answers this one (in the loop: rendering also overlaps the server's work on the other
        connections, without fighting a thread for the GIL)."""
        lease_end = self.now() + timedelta(seconds=self.settings.lease_seconds)
        margin = timedelta(seconds=self.settings.timeout * LEASE_MARGIN)
        outcomes: list[Outcome] = []
        trouble: str | None = None  # set when the server is unreachable or misconfigured
        with self.db.transaction(write=False) as session:  # a read snapshot, no lock held
            tx = Tx(session)
            ahead: EmailMessage | Outcome | None = None  # rows[i], rendered ahead
            for i, row in enumerate(rows):
                item, ahead = ahead, None
                if trouble is not None:
                    outcomes.append(self._retry(row, trouble))
                    continue
                if self.now() + margin > lease_end:
                    outcomes.append(Outcome(row.id, "release"))
                    continue
                if item is None:
                    item = self._render(tx, row)
                if isinstance(item, Outcome):
                    outcomes.append(item)
                    continue
                sending = asyncio.ensure_future(self._send_one(conn, row, item, report))
                if i + 1 < len(rows):
                    await asyncio.sleep(0)  # the send puts its first command on the wire
                    ahead = self._render(tx, rows[i + 1])
                outcome, trouble = await sending
                outcomes.append(outcome)
        return outcomes, trouble is not None

    async def _send_one(
        self, conn: _Connection, row: OutboxRow, msg: EmailMessage, report: SendReport
    ) -> tuple[Outcome, str | None]:
        """The outcome, and a reason to stop the batch (server unreachable, bad setup)."""
        try:
            client = await conn.get()
        except ConfigProblem as exc:
            if str(exc) not in report.problems:
                report.problems.append(str(exc))
            return self._retry(row, str(exc)), str(exc)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            reason = f"cannot connect to {self.settings.host}:{self.settings.port}: {exc}"
            return self._retry(row, reason), reason
        try:
            refused, _reply_text = await client.send_message(
                msg, sender=self.settings.from_address, recipients=[row.email]
            )
        except Exception as exc:  # classified below; the connection is not trusted after it
            await conn.close()
            return self._classify(row, exc), None
        if refused:
            text = "; ".join(f"{addr}: {r.code} {r.message}" for addr, r in refused.items())
            return Outcome(row.id, "failed", f"recipient refused: {text}"), None
        if self.after_send is not None:
            self.after_send(row)
        return Outcome(row.id, "sent"), None

    def _classify(self, row: OutboxRow, exc: Exception) -> Outcome:
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = [r.code for r in exc.recipients]
            text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if codes and min(codes) >= 500:
                return Outcome(row.id, "failed", f"recipient refused: {text}")
            return self._retry(row, f"recipient deferred: {text}")
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            if exc.code >= 500:
                return Outcome(row.id, "failed", f"refused by the server: {_reply(exc)}")
            return self._retry(row, f"deferred by the server: {_reply(exc)}")
        if isinstance(exc, ssl.SSLError):
            return self._retry(row, f"TLS error: {exc}")
        if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
            return self._retry(row, f"connection trouble: {type(exc).__name__}: {exc}")
        return self._retry(row, f"unexpected error: {type(exc).__name__}: {exc}")

    def _retry(self, row: OutboxRow, reason: str) -> Outcome:
        if row.attempts >= self.settings.max_attempts:
            return Outcome(row.id, "failed", f"gave up after {row.attempts} attempts: {reason}")
        at = self.now() + outbox.backoff(row.attempts, self.rng)
        return Outcome(row.id, "retry", reason[:1000], at)


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
