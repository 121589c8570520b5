"""Helpers for the outbox and sender tests: real SQLite files, real SMTP servers on loopback.

Servers: :class:`ScriptedSink` (aiosmtpd in a thread, with scripted refusals) and
:class:`LineServer` (a tiny asyncio SMTP server that records every command and hangs up
where it is told: before DATA or in the middle of it).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import random
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from regie.engine.storage import Tx
from regie.notifications import outbox
from regie.notifications.sender import Sender
from regie.notifications.sink import MailSink
from regie.notifications.smtp_settings import SmtpSettings
from regie.notifications.types import Notice, OutboxRow

FROM = "regie@test.example.org"


def plain_render(tx: Tx, row: OutboxRow, *, sender_address: str) -> EmailMessage:
    """A stand-in renderer: the sender's behaviour does not depend on the templates."""
    del tx
    msg = EmailMessage()
    msg["From"] = sender_address
    msg["To"] = row.email
    msg["Subject"] = f"[{row.kind}] row {row.id}"
    msg.set_content(f"notice {row.id} for {row.person_id}\n")
    return msg


def queue(world: Any, n: int, *, email_of: dict[int, str] | None = None) -> list[int]:
    """Insert ``n`` queued rows through the outbox API (event: the config load)."""
    people = [p for p in world.region.people if not p.digest]
    notices = []
    for i in range(n):
        p = people[i % len(people)]
        address = (email_of or {}).get(i, p.email)
        notices.append(Notice("submitted", p.id, address, p.language, "P-2026-001", None,
                              {"i": i}))  # fmt: skip
    with world.db.transaction() as session:
        tx = Tx(session)
        before = int(tx.scalar("SELECT COALESCE(MAX(id), 0) FROM outbox"))
        event_id = int(tx.scalar("SELECT MIN(id) FROM audit_event"))
        at = world.clock.now().replace(tzinfo=None)
        outbox.insert_notices(tx, event_id, at - timedelta(hours=1), notices)
        session.commit()
    return list(range(before + 1, before + n + 1))


def rows(world: Any) -> dict[int, dict[str, Any]]:
    cols = ["id", "status", "attempts", "last_error", "message_id", "next_attempt_at",
            "sent_at", "recovered", "email", "data_started_at", "attempt_id"]  # fmt: skip
    found = world.sql(f"SELECT {', '.join(cols)} FROM outbox ORDER BY id")
    return {r[0]: dict(zip(cols, r, strict=True)) for r in found}


def mids(world: Any, ids: list[int] | None = None) -> list[str]:
    """The Message-IDs of these rows (all rows), in row order."""
    found = rows(world)
    return [found[i]["message_id"] for i in (ids if ids is not None else sorted(found))]


def make_sender(world: Any, port: int, **kw: Any) -> Sender:
    hooks = {k: kw.pop(k) for k in ("after_send", "render") if k in kw}
    settings = SmtpSettings(host="127.0.0.1", port=port, from_address=FROM,
                            message_id_domain="regie.test", timeout=5, **kw)  # fmt: skip
    return Sender(world.db, settings, world.clock, rng=random.Random(7),
                  render=hooks.get("render", plain_render),
                  after_send=hooks.get("after_send"))  # fmt: skip


def drain(sender: Sender, limit: int | None = None) -> Any:
    return asyncio.run(sender.drain(limit))


class ScriptedSink(MailSink):
    """A sink that refuses as told: per-address RCPT replies, a queue of DATA replies."""

    def __init__(self) -> None:
        super().__init__()
        self.rcpt_replies: dict[str, str] = {}
        self.data_replies: list[str] = []
        self.connections = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:  # fmt: skip
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        return await super().handle_DATA(server, session, envelope)

    def ids(self) -> list[str]:
        return [m.message_id for m in self.messages]


class LineServer:
    """Speaks just enough SMTP (EHLO offers AUTH, no STARTTLS) and records every command
    line. Told to, it hangs up at the n-th MAIL, RCPT or DATA, counted over all
    connections (``hang_up={"DATA": {1}}``); in DATA after the first line of the message,
    so DATA had started. Runs in its own thread (:func:`serving`)."""

    def __init__(self, hang_up: dict[str, set[int]] | None = None) -> None:
        self.hang_up = {verb: set(ns) for verb, ns in (hang_up or {}).items()}
        self.seen: Counter[str] = Counter()
        self.commands: list[str] = []
        self.received: list[EmailMessage] = []
        self.connections = 0

    def verbs(self) -> list[str]:
        return [c.split(" ", 1)[0].upper() for c in self.commands]

    def ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.received]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.write(b"220 line.test ESMTP\r\n")
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _hangs_up(self, verb: str) -> bool:
        self.seen[verb] += 1
        return self.seen[verb] in self.hang_up.get(verb, set())

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            command = line.decode("ascii", "replace").strip()
            self.commands.append(command)
            verb = command.split(" ", 1)[0].upper()
            if verb in ("MAIL", "RCPT") and self._hangs_up(verb):
                return
            if verb == "EHLO":
                writer.write(b"250-line.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
            elif verb == "AUTH":
                writer.write(b"235 2.7.0 accepted\r\n")
            elif verb == "DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                if self._hangs_up("DATA"):
                    await reader.readline()  # a first line of the message, then hang up
                    return
                data = await reader.readuntil(b"\r\n.\r\n")
                self.received.append(
                    email.message_from_bytes(
                        data[:-5].replace(b"\r\n..", b"\r\n."), policy=email.policy.default
                    )
                )  # type: ignore[arg-type]
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()


@contextlib.contextmanager
def serving(server: LineServer) -> Iterator[int]:
    """Run ``server`` on a free loopback port in a thread of its own; yields the port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    found: dict[str, Any] = {}

    async def start() -> None:
        srv = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        found["server"], found["port"] = srv, srv.sockets[0].getsockname()[1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "the line server did not start"
    try:
        yield int(found["port"])
    finally:

        async def stop() -> None:
            found["server"].close()
            await found["server"].wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
