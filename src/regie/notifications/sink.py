"""A local mail sink: a real SMTP server (aiosmtpd) that stores every message as .eml.

Used by ``regie mail-sink``, the demo, the tests and the benchmark. It listens on
127.0.0.1 only. aiosmtpd cannot listen on port 0 (aiosmtpd#388), so :func:`free_port`
finds a free port by binding a socket first.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from regie import private_files
from regie.errors import MailError
from regie.notifications.types import SINK_PORT

HOST = "127.0.0.1"
DEFAULT_PORT = SINK_PORT


@dataclass(frozen=True)
class StoredMail:
    path: Path | None
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    message_id: str
    data: bytes


def free_port(host: str = HOST) -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class MailSink:
    """aiosmtpd handler: keeps (and, given a directory, stores) every message it accepts."""

    def __init__(
        self,
        directory: Path | None = None,
        on_message: Callable[[StoredMail], None] | None = None,
        *,
        keep: bool = True,
    ) -> None:
        self.directory = directory
        self.on_message = on_message
        self.keep = keep
        self.messages: list[StoredMail] = []
        self.count = 0
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        if directory is not None:
            try:
                private_files.make_dirs(directory)
            except OSError as exc:
                raise MailError(
                    f"cannot create the folder {directory} for the mail ({exc.strerror or exc}); "
                    "choose another with --dir"
                ) from None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or envelope.content or b"")
        stored = self.store(str(envelope.mail_from or ""), list(envelope.rcpt_tos), data)
        if self.on_message is not None:
            self.on_message(stored)
        return "250 2.0.0 Message accepted for delivery"

    def store(self, mail_from: str, rcpt_tos: list[str], data: bytes) -> StoredMail:
        msg = email.message_from_bytes(data, policy=email.policy.default)
        path = self._write(data) if self.directory is not None else None
        stored = StoredMail(
            path, mail_from, tuple(rcpt_tos), str(msg.get("Subject", "")),
            str(msg.get("Message-ID", "")), data if self.keep else b"",
        )  # fmt: skip
        with self._lock:
            self.count += 1
            if self.keep:
                self.messages.append(stored)
        return stored

    def _write(self, data: bytes) -> Path:
        """A new ``.eml`` file, private (0600) whatever the umask."""
        assert self.directory is not None
        while True:
            path = self.directory / f"{next(self._numbers):06d}.eml"
            try:
                fd = private_files.create_file(path)
            except FileExistsError:
                continue  # an earlier run's file (or a link): never write through it
            with open(fd, "wb") as fh:
                fh.write(data)
            return path


@contextmanager
def running(handler: Any, *, host: str = HOST, port: int | None = None) -> Iterator[int]:
    """Run an aiosmtpd server for ``handler`` in a thread; yields its port."""
    port = port or free_port(host)
    controller = Controller(handler, hostname=host, port=port, ready_timeout=10)
    try:
        controller.start()
    except (OSError, RuntimeError) as exc:
        raise MailError(
            f"cannot start the mail sink on {host}:{port} ({exc}); is the port in use? "
            "choose another with --port"
        ) from None
    try:
        yield port
    finally:
        controller.stop()
