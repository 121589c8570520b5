"""Helpers of the browser tests (the fixtures are in conftest.py): a database made by
`regie init` and driven to the point where a mail carries a link; `regie serve` as a
subprocess on a free port, its sender delivering to an aiosmtpd sink in this process."""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from regie.clock import AMSTERDAM, FixedClock, to_local
from regie.engine import agenda_approval, moves, queries
from regie.engine.storage import Database
from regie.notifications.sink import MailSink, free_port, running
from regie.region import Region, load_region

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "foodvalley.toml"
REGIE = Path(sys.executable).parent / "regie"
START = datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL = "install Debian's chromium: apt-get install -y chromium"
WAIT = 20.0  # seconds: a deadline, not a sleep


def _deadline(what: str, check: Callable[[], Any], seconds: float = WAIT) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    end = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > end:
            pytest.fail(f"waited {seconds:.0f} s for {what}")
        time.sleep(0.05)


class Office:
    """A fresh database (`regie init`) and what the coordinator does in it, through the
    engine's services, with a clock that moves to each meeting."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "regie.db"
        self.url = f"sqlite:///{self.path}"
        self.region: Region = load_region(CONFIG)
        self.coordinator = self.region.coordinator
        self.clock = FixedClock(START)
        r = subprocess.run(
            [str(REGIE), "init", "--config", str(CONFIG)],
            env={**os.environ, "REGIE_DB": self.url, "REGIE_NOW": START.isoformat()},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        self.db = Database(self.url)

    def call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        kwargs.setdefault("actor", self.coordinator)
        with self.db.transaction() as session:
            return fn(session=session, clock=self.clock, **kwargs)

    def show(self, pid: str) -> dict[str, Any]:
        with self.db.transaction(write=False) as session:
            return dict(queries.show_proposal(session=session, proposal_id=pid))

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as conn:
            return conn.execute(query, params).fetchall()

    def to_meeting_of(self, pid: str) -> str:
        meeting = str(self.show(pid)["meeting"])
        [(starts,)] = self.sql("SELECT starts_at FROM meeting WHERE id = ?", (meeting,))
        self.clock.set(max(to_local(datetime.fromisoformat(starts)), self.clock.now()))
        return meeting

    def submit(self, parties: list[str]) -> str:
        r = self.call(moves.submit, purpose="adoption", title="Regionale aanpak thuiszitters",
                      table="tafel-model", parties=parties)  # fmt: skip
        return str(r.proposal_id)

    def to_top(self, pid: str) -> str:
        """Advance along the route to the top body; its agenda approved by the chairs'
        meeting. The clock stays before the top meeting; returns that meeting."""
        while self.show(pid)["state"] != "oogo":
            self.to_meeting_of(pid)
            self.call(moves.advance, proposal_id=pid)
        meeting = str(self.show(pid)["meeting"])
        self.call(agenda_approval.approve, meeting_id=meeting)
        return meeting

    # -- the region's people ------------------------------------------------------------
    def top(self) -> str:
        top = self.region.roles.top_body
        assert top is not None
        return top

    def mandated(self, party: str, *, mailed: bool = False) -> str:
        """A person mandated for ``party`` in the top body who is not a substitute there;
        ``mailed``: one who gets each mail at once (not in a daily digest)."""
        subs = {s.person for s in self.region.substitutes if s.body == self.top()}
        for m in self.region.mandates:
            mine = m.party == party and m.body == self.top() and m.person not in subs
            if mine and not (mailed and self.region.person(m.person).digest):
                return m.person
        raise AssertionError(f"the config has no mandated person for {party} (mailed={mailed})")

    def substitutes(self, party: str) -> list[str]:
        return [
            s.person for s in self.region.substitutes if s.party == party and s.body == self.top()
        ]


class Site:
    """`regie serve` on a free port, its sender delivering to a sink in this process."""

    def __init__(self, base_url: str, sink: MailSink, proc: subprocess.Popen[str]) -> None:
        self.base_url = base_url
        self.sink = sink
        self.proc = proc

    def mail(self, kind: str, to: str) -> EmailMessage:
        """The first mail of ``kind`` the sink received for ``to``, once it is there."""

        def found() -> EmailMessage | None:
            assert self.proc.poll() is None, "regie serve stopped"
            for stored in list(self.sink.messages):
                msg = email.message_from_bytes(stored.data, policy=email.policy.default)
                if msg["X-Regie-Notice"] == kind and to in stored.rcpt_tos:
                    assert isinstance(msg, EmailMessage)
                    return msg
            return None

        return _deadline(f"a {kind} mail to {to}", found)  # type: ignore[no-any-return]

    def link_in(self, msg: EmailMessage) -> str:
        """The one link into this site in the mail's plain text (the same in its HTML)."""
        plain = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        assert plain is not None and html is not None
        pattern = re.escape(self.base_url) + r"/l/[0-9]+\.[A-Za-z0-9_-]{22}"
        found = set(re.findall(pattern, plain.get_content()))
        assert len(found) == 1, f"expected one link in the mail, found {found}"
        link = found.pop()
        assert link in html.get_content()
        return link


@contextmanager
def serving(office: Office, at: datetime) -> Iterator[Site]:
    """Run `regie serve` with the clock fixed at ``at``; stop it with SIGTERM (exit 0)."""
    office.db.dispose()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    sink = MailSink()
    log = office.path.parent / "serve.log"
    with running(sink) as smtp_port, open(log, "w") as out:
        env = {
            **os.environ,
            "REGIE_DB": office.url,
            "REGIE_NOW": at.isoformat(),
            "REGIE_BASE_URL": base_url,
            "REGIE_SMTP_HOST": "127.0.0.1",
            "REGIE_SMTP_PORT": str(smtp_port),
            "PYTHONUNBUFFERED": "1",
        }
        proc = subprocess.Popen(
            [str(REGIE), "serve", "--port", str(port), "--interval", "0.2"],
            env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            _deadline("regie serve to answer", lambda: _answers(base_url, proc))
            yield Site(base_url, sink, proc)
            proc.send_signal(signal.SIGTERM)
            t0 = time.monotonic()
            code = proc.wait(timeout=10)
            assert code == 0, log.read_text()
            assert time.monotonic() - t0 < 5, "regie serve took long to stop on SIGTERM"
            assert "Traceback" not in log.read_text(), log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def _answers(base_url: str, proc: subprocess.Popen[str]) -> bool:
    assert proc.poll() is None, "regie serve stopped before it answered"
    try:
        return httpx.get(f"{base_url}/static/regie.css", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def later(office: Office, minutes: int = 30) -> datetime:
    return office.clock.now() + timedelta(minutes=minutes)
