# ruff: noqa: E402
"""Mail benchmark (issue 3): regie's sender against raw aiosmtplib, same local sink.

1. 1,000 real notices (proposals submitted through the engine) are rendered with the
   templates and sent by regie's sender (claim, render, send, mark) to an aiosmtpd sink
   running in a separate process.
2. The same 1,000 messages, prebuilt, are sent with raw aiosmtplib over ONE reused
   connection to the same sink: the limit.

Prints both rates and the ratio (target >= 0.7) and records them in bench/RESULTS.md.
Run: ``.venv/bin/python bench/mail.py [--n 1000]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/transitions.py would shadow the `transitions` package: drop this folder from the path
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import asyncio
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from regie.clock import AMSTERDAM, FixedClock
from regie.engine import moves
from regie.engine.setup import init_database
from regie.engine.storage import Database, Tx
from regie.notifications import outbox
from regie.notifications.render import render_notice
from regie.notifications.sender import Sender
from regie.notifications.sink import free_port
from regie.notifications.smtp_settings import SmtpSettings, load_settings, with_overrides
from regie.region import load_region
from regie.workflows.definition import builtin_workflows

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Mail (issue 3)"
START = datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM)
SINK = """
import sys, threading
from regie.notifications.sink import MailSink, running
with running(MailSink(keep=False), port=int(sys.argv[1])):
    print("ready", flush=True)
    sys.stdin.read()
"""


def prepare(db: Database, clock: FixedClock, n: int) -> int:
    region = load_region(ROOT / "config" / "foodvalley.toml")
    init_database(db=db, clock=clock, region=region, workflows=builtin_workflows())
    queued = 0
    i = 0
    while queued < n:
        i += 1
        with db.transaction() as session:
            moves.submit(session=session, clock=clock, actor=region.coordinator,
                         title=f"Benchmark proposal {i}", purpose="adoption",
                         table="tafel-model", parties=["ede", "swv-vo"])  # fmt: skip
        with db.transaction(write=False) as session:
            queued = int(Tx(session).scalar("SELECT COUNT(*) FROM outbox WHERE status = 'queued'"))
    return queued


def prebuilt(db: Database, settings: SmtpSettings, n: int) -> list[EmailMessage]:
    with db.transaction(write=False) as session:
        tx = Tx(session)
        found = tx.all(f"SELECT {outbox.ROW_COLUMNS} FROM outbox WHERE status = 'sent' "
                       "ORDER BY id LIMIT ?", (n,))  # fmt: skip
        return [render_notice(tx, outbox.row_from_tuple(r), sender_address=settings.from_address)
                for r in found]  # fmt: skip


async def raw_send(messages: list[EmailMessage], port: int, sender: str) -> float:
    t0 = time.perf_counter()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30) as smtp:
        for msg in messages:
            await smtp.send_message(msg, sender=sender, recipients=[str(msg["To"])])
    return time.perf_counter() - t0


def record(lines: list[str]) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = "\n".join([HEADING, "", *lines, ""])
    if HEADING in text:
        head, _, rest = text.partition(HEADING)
        nxt = rest.find("\n## ")
        text = head + section + (rest[nxt + 1 :] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--connections", type=int, default=0, help="Override [mail] connections.")
    ap.add_argument("--no-record", action="store_true", help="Do not write bench/RESULTS.md.")
    args = ap.parse_args()
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        with tempfile.TemporaryDirectory() as tmp:
            lines = run(Path(tmp) / "bench.db", port, args.n, args.connections)
    finally:
        sink.communicate("", timeout=30)
    print("\n".join(lines))
    if not args.no_record:
        record(lines)


def run(path: Path, port: int, n: int, connections: int) -> list[str]:
    db = Database(f"sqlite:///{path}")
    clock = FixedClock(START)
    try:
        queued = prepare(db, clock, n)
        with db.transaction(write=False) as session:
            settings = with_overrides(load_settings(Tx(session)), host="127.0.0.1", port=port,
                                      starttls=False, tls=False)  # fmt: skip
        if connections:
            settings = with_overrides(settings, connections=connections)
        sender = Sender(db, settings, clock)
        t0 = time.perf_counter()
        report = asyncio.run(sender.drain(n))
        regie_s = time.perf_counter() - t0
        assert report.sent == n, report.as_dict()
        t0 = time.perf_counter()
        messages = prebuilt(db, settings, n)
        render_ms = (time.perf_counter() - t0) * 1000 / n
        raw_s = asyncio.run(raw_send(messages, port, settings.from_address))
    finally:
        db.dispose()
    regie_rate, raw_rate = n / regie_s, n / raw_s
    return [
        f"`.venv/bin/python bench/mail.py` ({time.strftime('%Y-%m-%d')}, Python "
        f"{platform.python_version()}, {platform.machine()}, aiosmtplib {aiosmtplib.__version__}"
        f"; sink: aiosmtpd in another process on 127.0.0.1; SQLite WAL, synchronous=FULL)",
        "",
        "| what | messages | seconds | messages/s |",
        "|---|---|---|---|",
        f"| regie sender: claim, render (Jinja2, nl/en, text+HTML), send over "
        f"{settings.connections} reused connections, mark | {n} | {regie_s:.2f} | "
        f"{regie_rate:.0f} |",
        f"| raw aiosmtplib, prebuilt messages, one reused connection | {n} | {raw_s:.2f} | "
        f"{raw_rate:.0f} |",
        "",
        f"Ratio regie / raw: **{regie_rate / raw_rate:.2f}** (target >= 0.7). "
        f"{queued} notices were queued by proposals submitted through the engine (digest rows "
        "excluded). Rendering one notice (read, Jinja2, build the MIME message) costs "
        f"{render_ms:.2f} ms on this machine; the machine (2 vCPU, also running the sink) was "
        "shared, so rates vary by ~30 % between runs.",
    ]


if __name__ == "__main__":
    main()
