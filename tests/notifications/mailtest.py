"""Helpers for the outbox and sender tests: real SQLite files, real SMTP servers on loopback.

Servers: :class:`ScriptedSink` (aiosmtpd in a thread, with scripted refusals) and
:class:`DroppingServer` (a tiny asyncio SMTP server that hangs up in the middle of DATA).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import random
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
            "sent_at", "recovered", "email"]  # fmt: skip
    found = world.sql(f"SELECT {', '.join(cols)} FROM outbox ORDER BY id")
    return {r[0]: dict(zip(cols, r, strict=True)) for r in found}


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


class DroppingServer:
    """Speaks just enough SMTP; hangs up in the middle of DATA on the first ``drops``
    connections, accepts on the later ones (runs in the test's event loop)."""

    def __init__(self, drops: int = 1) -> None:
        self.drops = drops
        self.connections = 0
        self.received: list[EmailMessage] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        drop = self.connections <= self.drops
        writer.write(b"220 dropping.test ESMTP\r\n")
        try:
            await self._session(reader, writer, drop)
        finally:
            writer.close()
            await writer.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       drop: bool) -> None:  # fmt: skip
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                if drop:
                    await reader.readline()  # a first line of the message, then hang up
                    return
                data = await reader.readuntil(b"\r\n.\r\n")
                self.received.append(
                    email.message_from_bytes(
                        data[:-5].replace(b"\r\n..", b"\r\n."), policy=email.policy.default
                    )
                )  # type: ignore[arg-type]
                writer.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 dropping.test\r\n")
            await writer.drain()
