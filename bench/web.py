# ruff: noqa: E402
"""Web benchmark (issue 17): GET of a confirmation page against a bare endpoint.

1. A database with one recorded decision awaiting its chair (submitted, advanced to the
   top meeting, attendance, decided: the engine's services) and the link of the chair's
   ``decision_recorded`` mail.
2. The real app as `regie serve --no-send` runs it (uvicorn, one worker, one process) on a
   free loopback port; beside it, served the same way (uvicorn, one worker, same options),
   a bare FastAPI app whose one (sync, like the link route) endpoint returns a constant.
3. A bounded async load (``--connections`` concurrent keep-alive connections,
   ``--requests`` per round) against each, in alternating rounds; every response is
   checked (status 200; the page shows the decision text). The client is a small asyncio
   HTTP/1.1 client: ``--client httpx`` (httpx.AsyncClient) needs a whole CPU for ~800
   requests/s and would measure itself. The client's CPU share is printed.

Prints requests/s and p99 latency for both and the ratio (target >= 0.5), as a Markdown
section (``--out FILE`` also writes it there). ``--profile N``: cProfile of N GETs of the
page through the app in this process (where the handler's time goes).
Run: ``.venv/bin/python bench/web.py [--requests 2000] [--connections 16] [--rounds 3]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/transitions.py would shadow the `transitions` package: drop this folder from the path
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import asyncio
import os
import platform
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from regie.clock import AMSTERDAM, FixedClock, to_local
from regie.engine import agenda_approval, attendance, decisions, keys, moves, queries
from regie.engine.setup import init_database
from regie.engine.storage import Database, Tx
from regie.notifications.sink import free_port
from regie.region import load_region
from regie.web.links import url_for
from regie.workflows.definition import builtin_workflows

CLIENTS = {"raw": "a small asyncio HTTP/1.1 client", "httpx": "httpx.AsyncClient"}
ROOT = Path(__file__).resolve().parents[1]
REGIE = Path(sys.executable).parent / "regie"
START = datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM)
DECISION = "Het beleidskader thuiszitters wordt vastgesteld."
BARE = """
import sys
import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

@app.get("/bare")
def bare() -> PlainTextResponse:
    return PlainTextResponse("ok")

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, lifespan="off")
"""


def prepare(path: Path) -> tuple[str, datetime, str]:
    """A database with one decision awaiting its chair: (proposal, a time after, link path)."""
    region = load_region(ROOT / "config" / "foodvalley.toml")
    db = Database(f"sqlite:///{path}")
    clock = FixedClock(START)

    def call(fn: object, **kwargs: object) -> object:
        kwargs.setdefault("actor", region.coordinator)
        with db.transaction() as session:
            return fn(session=session, clock=clock, **kwargs)  # type: ignore[operator]

    def show(pid: str) -> dict[str, object]:
        with db.transaction(write=False) as session:
            return dict(queries.show_proposal(session=session, proposal_id=pid))

    def to_meeting(pid: str) -> str:
        meeting = str(show(pid)["meeting"])
        with db.transaction(write=False) as session:
            starts = Tx(session).scalar("SELECT starts_at FROM meeting WHERE id = ?", (meeting,))
        clock.set(max(to_local(datetime.fromisoformat(str(starts))), clock.now()))
        return meeting

    try:
        init_database(db=db, clock=clock, region=region, workflows=builtin_workflows())
        r = call(moves.submit, purpose="adoption", title="Regionale aanpak thuiszitters",
                 table="tafel-model", parties=["ede", "swv-vo"])  # fmt: skip
        pid = str(r.proposal_id)  # type: ignore[attr-defined]
        while show(pid)["state"] != "oogo":
            to_meeting(pid)
            call(moves.advance, proposal_id=pid)
        call(agenda_approval.approve, meeting_id=str(show(pid)["meeting"]))
        meeting = to_meeting(pid)
        top = region.roles.top_body
        for party in ("ede", "swv-vo"):
            person = next(m.person for m in region.mandates if m.party == party and m.body == top)
            call(attendance.record_attendance, meeting_id=meeting, person=person,
                 status="present")  # fmt: skip
        call(decisions.decide, proposal_id=pid, outcome="adopted", text=DECISION)
        key = keys.load_key(str(path), True)
        assert key is not None
        with db.transaction(write=False) as session:
            row = Tx(session).scalar(
                "SELECT id FROM outbox WHERE kind = 'decision_recorded' AND proposal_id = ?",
                (pid,),
            )
        return pid, clock.now() + timedelta(minutes=30), url_for("", key, int(row))
    finally:
        db.dispose()


@contextmanager
def server(argv: list[str], env: dict[str, str], probe: str) -> Iterator[None]:
    proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        end = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{argv[0]} stopped: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if httpx.get(probe, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > end:
                raise SystemExit(f"{probe} did not answer within 20 s")
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


@dataclass
class Round:
    seconds: float
    latencies: list[float]
    client_cpu: float  # seconds of this process's CPU time

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


async def load(url: str, requests: int, connections: int, expect: str, client: str) -> Round:
    """``requests`` GETs over ``connections`` concurrent keep-alive connections."""
    get = _httpx_getter if client == "httpx" else _raw_getter
    latencies: list[float] = []
    async with get(url, connections) as fetch:
        for warm in (True, False):  # first warm the connections and the server
            left = iter(range(connections * 20 if warm else requests))
            latencies.clear()

            async def worker(slot: int, left: Iterator[int]) -> None:
                for _ in left:
                    t0 = time.perf_counter()
                    status, body = await fetch(slot)
                    latencies.append(time.perf_counter() - t0)
                    if status != 200 or expect not in body:
                        raise SystemExit(f"GET {url}: {status} {body[:300]}")

            cpu0, t0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker(slot, left) for slot in range(connections)))
            seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return Round(seconds, list(latencies), cpu)


Fetch = Callable[[int], Awaitable[tuple[int, str]]]


@asynccontextmanager
async def _httpx_getter(url: str, connections: int) -> AsyncIterator[Fetch]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def fetch(slot: int) -> tuple[int, str]:
            response = await client.get(url)
            return response.status_code, response.text

        yield fetch


@asynccontextmanager
async def _raw_getter(url: str, connections: int) -> AsyncIterator[Fetch]:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, one connection per worker:
    far less CPU per request than httpx, so the client is not what limits the rate."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    streams = [await asyncio.open_connection(host, port) for _ in range(connections)]

    async def fetch(slot: int) -> tuple[int, str]:
        reader, writer = streams[slot]
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        )
        body = await reader.readexactly(length)
        return int(lines[0].split()[1]), body.decode()

    try:
        yield fetch
    finally:
        for _, writer in streams:
            writer.close()


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 99 // 100) - 1)]


def combined(rounds: list[Round]) -> tuple[float, float, float]:
    """requests/s over all rounds, p99 in ms, client CPU share of the wall time."""
    seconds = sum(r.seconds for r in rounds)
    latencies = [x for r in rounds for x in r.latencies]
    return (
        len(latencies) / seconds,
        p99(latencies) * 1000,
        sum(r.client_cpu for r in rounds) / seconds,
    )


def profile(path: Path, link: str, at: datetime, n: int) -> None:
    """cProfile of ``n`` GETs of the page through the app in this process: the link
    route's work (opening the token, then the confirmation module's ``show``) is profiled
    in the worker thread that runs it; the wall time per request is printed beside it."""
    import cProfile
    import importlib
    import pstats
    import warnings
    from typing import Any

    warnings.simplefilter("ignore")  # TestClient's deprecation note
    from fastapi.testclient import TestClient

    import regie.web.app as web_app
    from regie.web.app import create_app

    prof = cProfile.Profile()
    spent, profiling = [0.0], [False]

    def profiled(fn: Any) -> Any:
        def run(*args: Any) -> Any:
            t0 = time.perf_counter()
            if profiling[0]:
                prof.enable()  # this thread only: the threadpool's worker
            try:
                return fn(*args)
            finally:
                if profiling[0]:
                    prof.disable()
                spent[0] += time.perf_counter() - t0

        return run

    confirm = importlib.import_module("regie.web.confirm")
    web_app._open = profiled(web_app._open)
    setattr(confirm, "show", profiled(confirm.show))  # noqa: B010
    db = Database(f"sqlite:///{path}")
    key = keys.load_key(str(path), True)
    assert key is not None
    with TestClient(create_app(db, FixedClock(at), key)) as client:
        for _ in range(50):
            assert client.get(link).status_code == 200
        for profiling[0] in (False, True):
            spent[0], t0 = 0.0, time.perf_counter()
            for _ in range(n):
                client.get(link)
            wall = time.perf_counter() - t0
            print(f"{n} GETs{' (profiled)' if profiling[0] else ''}: {wall / n * 1000:.2f} ms "
                  f"each through TestClient, of which the link route's work (token + page) "
                  f"{spent[0] / n * 1000:.2f} ms")  # fmt: skip
    db.dispose()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000, help="GETs per round and target.")
    ap.add_argument("--connections", type=int, default=16, help="Concurrent connections.")
    ap.add_argument("--rounds", type=int, default=3, help="Alternating rounds per target.")
    ap.add_argument("--client", choices=["raw", "httpx"], default="raw",
                    help="raw: a small asyncio client; httpx: httpx.AsyncClient")  # fmt: skip
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N GETs.")
    ap.add_argument("--out", type=Path, help="Also write the Markdown section to this file.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="regie-web-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        pid, at, link = prepare(path)
        if args.profile:
            profile(path, link, at, args.profile)
            return
        app_port, bare_port = free_port(), free_port()
        app_env = {"REGIE_DB": f"sqlite:///{path}", "REGIE_NOW": at.isoformat(),
                   "REGIE_BASE_URL": f"http://127.0.0.1:{app_port}"}  # fmt: skip
        page, bare = f"http://127.0.0.1:{app_port}{link}", f"http://127.0.0.1:{bare_port}/bare"
        app_cmd = [str(REGIE), "serve", "--no-send", "--port", str(app_port)]
        with (
            server(app_cmd, app_env, page),
            server([sys.executable, "-c", BARE, str(bare_port)], {}, bare),
        ):
            results: dict[str, list[Round]] = {"page": [], "bare": []}
            for _ in range(args.rounds):
                for name, url, expect in (("page", page, DECISION), ("bare", bare, "ok")):
                    results[name].append(
                        asyncio.run(load(url, args.requests, args.connections, expect, args.client))
                    )
        with closing(sqlite3.connect(path)) as conn:
            state = conn.execute("SELECT state FROM proposal WHERE id = ?", (pid,)).fetchone()[0]
            confirmed = conn.execute(
                "SELECT COUNT(*) FROM audit_event WHERE action = 'confirmed'"
            ).fetchone()[0]
    assert (state, confirmed) == ("awaiting_confirmation", 0), "a GET changed the decision"
    lines = report(results, args)
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


def report(results: dict[str, list[Round]], args: argparse.Namespace) -> list[str]:
    page_rate, page_p99, page_cpu = combined(results["page"])
    bare_rate, bare_p99, bare_cpu = combined(results["bare"])
    ratio = page_rate / bare_rate
    when = datetime.now().strftime("%Y-%m-%d")
    return [
        "## Web (issue 17)",
        "",
        f"`.venv/bin/python bench/web.py --requests {args.requests} --connections "
        f"{args.connections} --rounds {args.rounds} --client {args.client}` ({when}, "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs). "
        "Loopback; each server one uvicorn worker in its own process; the client "
        f"({CLIENTS[args.client]}, keep-alive) in a third; "
        f"rounds alternate page/bare, {args.rounds} × {args.requests} GETs each; every "
        "response checked (200, the page shows the decision text); afterwards the decision "
        "is still unconfirmed (GET changes nothing).",
        "",
        "| target | requests/s | p99 ms | client CPU |",
        "|---|---|---|---|",
        f"| GET `/l/<token>` (confirmation page, `regie serve --no-send`) | {page_rate:,.0f} | "
        f"{page_p99:.1f} | {page_cpu:.0%} |",
        f"| GET `/bare` (FastAPI, constant, same uvicorn options) | {bare_rate:,.0f} | "
        f"{bare_p99:.1f} | {bare_cpu:.0%} |",
        "",
        f"Ratio page/bare: **{ratio:.2f}** "
        f"(target >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'}).",
    ]


if __name__ == "__main__":
    main()
