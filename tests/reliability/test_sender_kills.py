"""`regie send` killed twice while sending to a slow server (issue 14): no row is parked
("may have been delivered") that was not tried, and no message arrives more than twice.

The sink (aiosmtpd, in this process) holds what it is told to hold and says so on a queue:
the DATA of one message (after its text arrived, before the reply: it may have been
delivered) and, once that is held, every RCPT, so the other connection's next message is
claimed but never gets to DATA. The test kills the `regie send` process (the console
script, as a user runs it) when both are held; nothing here waits on time.

1. first run: message X held in DATA, another (Y) held at RCPT; SIGKILL;
2. second run, after the leases: X is sent once more and held in DATA again, a row
   held at RCPT again (Y or the next one); SIGKILL;
3. third run: X is marked failed for a person to check; every other row is sent, the
   ones held at RCPT with their attempt not counted.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

from regie.notifications.outbox import STUCK_TWICE
from regie.notifications.sink import MailSink, running

REGIE = Path(sys.executable).parent / "regie"
RUNS = ("2035-01-01T12:00", "2035-01-01T12:11", "2035-01-01T12:22")  # 11 min > the lease
HOLD_S = 60  # how long the test waits for a hold at most (a failure, not a timing)


class GatedSink(MailSink):
    def __init__(self) -> None:
        super().__init__()
        self.hold_data: str | None = None  # "*": the first DATA; else this Message-ID
        self.holding = False
        self.gate = threading.Event()
        self.held: queue.Queue[tuple[str, str]] = queue.Queue()
        self.data_seen: Counter[str] = Counter()  # texts that arrived, held or not

    def next_run(self, hold_data: str | None) -> None:
        self.gate.set()  # let the handlers of the killed run go
        self.gate = threading.Event()
        self.hold_data, self.holding = hold_data, False
        self.held = queue.Queue()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        if self.holding:
            self.held.put(("RCPT", address))
            await asyncio.to_thread(self.gate.wait)
            return "421 4.3.0 closing"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or envelope.content or b"")
        mid = str(email.message_from_bytes(data, policy=email.policy.default)["Message-ID"])
        self.data_seen[mid] += 1
        if not self.holding and self.hold_data in ("*", mid):
            self.holding = True
            self.held.put(("DATA", mid))
            await asyncio.to_thread(self.gate.wait)
            return "451 4.3.0 too late"
        return await super().handle_DATA(server, session, envelope)

    def wait_for_holds(self) -> str:
        """The Message-ID held in DATA, once a RCPT is held too."""
        kinds: dict[str, str] = {}
        while set(kinds) != {"DATA", "RCPT"}:
            kind, what = self.held.get(timeout=HOLD_S)
            kinds.setdefault(kind, what)
        return kinds["DATA"]


def _env(db: Path, port: int, now: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    env.update(REGIE_DB=str(db), REGIE_NOW=now, REGIE_SMTP_HOST="127.0.0.1",
               REGIE_SMTP_PORT=str(port))  # fmt: skip
    return env


def _killed_run(db: Path, sink: GatedSink, port: int, now: str) -> str:
    with subprocess.Popen([str(REGIE), "send"], env=_env(db, port, now),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:  # fmt: skip
        try:
            held = sink.wait_for_holds()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return held


def _sending(db: Path) -> dict[str, bool]:
    """Message-ID -> whether DATA had started, of the rows being sent."""
    with closing(sqlite3.connect(db)) as conn:
        found = conn.execute(
            "SELECT message_id, data_started_at FROM outbox WHERE status = 'sending'"
        ).fetchall()
    return {str(mid): started is not None for mid, started in found}


def test_two_kills_while_sending_park_only_what_was_tried(scenario_db: Path) -> None:
    sink = GatedSink()
    with running(sink) as port:
        sink.next_run("*")
        x = _killed_run(scenario_db, sink, port, RUNS[0])
        first = _sending(scenario_db)
        sink.next_run(x)
        assert _killed_run(scenario_db, sink, port, RUNS[1]) == x
        second = _sending(scenario_db)
        sink.next_run(None)
        last = subprocess.run([str(REGIE), "send"], env=_env(scenario_db, port, RUNS[2]),
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        sink.gate.set()
    assert last.returncode == 0, last.stderr
    # a claim is one attempt: at a kill, at most one row per connection (2) is being sent
    assert first.get(x) is True and 1 <= len(first) <= 2, first
    assert second.get(x) is True and 1 <= len(second) <= 2, second
    not_tried = {mid for mid, started in {**first, **second}.items() if not started}
    assert not_tried, "a row held at RCPT was being sent at a kill"
    with closing(sqlite3.connect(scenario_db)) as conn:
        rows = conn.execute(
            "SELECT message_id, status, last_error, attempts, recovered FROM outbox "
            "WHERE status NOT IN ('digest', 'digested', 'cancelled')"
        ).fetchall()
    assert len(rows) > 3
    by_id = {str(r[0]): r[1:] for r in rows}
    failed = {mid: r for mid, r in by_id.items() if r[0] != "sent"}
    assert failed == {x: ("failed", STUCK_TWICE, 2, 1)}  # tried twice, DATA both times
    assert sink.data_seen[x] == 2
    for mid in not_tried - {x}:
        assert by_id[mid] == ("sent", None, 1, 0), mid  # claimed at a kill, not counted
    assert max(sink.data_seen.values()) <= 2
    assert set(sink.data_seen) == set(by_id)  # every message reached the sink
