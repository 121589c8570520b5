"""Benchmark: `regie list` at 10,000 and 100,000 proposals (issue 15, goal 4).

For each size a database in a temporary folder gets one proposal submitted through the
engine (the template) and the rest inserted with SQL: the proposal row, its concerned
parties, and one ``submitted`` audit event each, appended with the real
``regie.engine.audit.append`` (so the chain, MACs included, stays valid; `regie audit
verify` is run on it). Then each command runs as a subprocess (median of 5) next to the
bare SQL that answers it (sqlite3, same connection pragmas, median of 5), and next to the
read service in this process (no interpreter start, no imports). Not a test:

    python bench/scale.py [--sizes 10000 100000] [--runs 5] [--keep]
"""

from __future__ import annotations

import sys
from pathlib import Path

# keep bench/ off the import path (bench/transitions.py is named like a library)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import closing  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from regie.clock import AMSTERDAM, FixedClock, to_utc_naive  # noqa: E402
from regie.engine import audit, moves, queries  # noqa: E402
from regie.engine.setup import init_database  # noqa: E402
from regie.engine.storage import Database, Tx  # noqa: E402
from regie.region import load_region  # noqa: E402
from regie.workflows.definition import builtin_workflows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "foodvalley.toml"
REGIE = str(Path(sys.executable).with_name("regie"))
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)
PAGE = (
    "SELECT p.id, p.title, p.purpose, p.stage, p.state, p.meeting_id, m.body_id, "
    "m.starts_at, b.name, p.workflow_digest FROM proposal p "
    "LEFT JOIN meeting m ON m.id = p.meeting_id LEFT JOIN body b ON b.id = m.body_id "
    "WHERE {where} ORDER BY p.submitted_at DESC, substr(p.id, 1, 7) DESC, "
    "length(p.id) DESC, p.id DESC LIMIT 50"
)
COUNT = "SELECT COUNT(*) FROM proposal p WHERE {where}"
PARTY = "p.id IN (SELECT pp.proposal_id FROM proposal_party pp WHERE pp.party_id = ?)"


def generate(path: Path, n: int) -> dict[str, Any]:
    """n proposals: one through the engine, n - 1 copies of it with SQL, newest last."""
    region = load_region(CONFIG)
    db = Database(f"sqlite:///{path}")
    clock = FixedClock(T0)
    init_database(db=db, clock=clock, region=region, workflows=builtin_workflows())
    table = region.bodies_of_kind("table")[0]
    parties = [p.id for p in region.parties]
    with db.transaction() as session:
        first = moves.submit(
            session=session,
            clock=clock,
            actor=region.coordinator,
            title="Voorstel 0",
            purpose="adoption",
            table=table.id,
            parties=parties[:2],
        )
    started = time.perf_counter()
    with db.transaction() as session:
        tx = Tx(session)
        cols = (
            "title, summary, purpose, workflow_digest, table_id, focus_point, admin_lead, "
            "official_lead, documents, route, stage, state, meeting_id, version, submitted_by, "
            "submitted_at, updated_at, addressee"
        )
        template = list(tx.one(f"SELECT {cols} FROM proposal WHERE id = ?", (first.proposal_id,)))
        ev = audit.events_for(session, first.proposal_id)[0]
        at0 = to_utc_naive(T0)
        year = first.proposal_id.split("-")[1]
        marks = ", ".join("?" for _ in cols.split(", "))
        for i in range(1, n):
            pid = f"P-{year}-{i + 1:03d}"
            at = at0 + timedelta(seconds=30 * i)
            mine = [parties[i % len(parties)], parties[(i * 7 + 3) % len(parties)]]
            row = template[:]
            row[0], row[15], row[16] = f"Voorstel {i}", at, at
            tx.execute(f"INSERT INTO proposal (id, {cols}) VALUES (?, {marks})", [pid, *row])
            for party in sorted(set(mine)):
                tx.execute(
                    "INSERT INTO proposal_party (proposal_id, party_id) VALUES (?, ?)",
                    (pid, party),
                )
            payload = {**ev.payload, "title": f"Voorstel {i}", "parties": sorted(set(mine))}
            audit.append(
                tx,
                at=at,
                actor=ev.actor,
                acting_for=ev.acting_for,
                action=ev.action,
                proposal_id=pid,
                meeting_id=ev.meeting_id,
                payload={k: v for k, v in payload.items() if k in ev.payload},
            )
        tx.execute("UPDATE counter SET value = ? WHERE name = ?", (n, f"proposal-{year}"))
        session.commit()
    took = time.perf_counter() - started
    db.dispose()
    # the party the party filter asks for: the least frequent one (the hard case for a scan)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = conn.execute(
            "SELECT (SELECT COUNT(*) FROM proposal), (SELECT COUNT(*) FROM audit_event)"
        ).fetchone()
        rare = conn.execute(
            "SELECT party_id FROM proposal_party GROUP BY party_id ORDER BY COUNT(*), party_id "
            "LIMIT 1"
        ).fetchone()[0]
    return {"seconds": took, "party": rare, "state": template[11], "rows": counts}


def median_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cli(db: Path, *args: str) -> Callable[[], object]:
    env = {**os.environ, "REGIE_DB": str(db)}
    env.pop("REGIE_LANG", None)

    def run() -> object:
        done = subprocess.run([REGIE, *args], env=env, capture_output=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"regie {' '.join(args)}: {done.stderr.decode()}")
        return done.stdout

    return run


def bare(db: Path, where: str, params: tuple[str, ...], count: bool) -> Callable[[], object]:
    def run() -> object:
        with closing(sqlite3.connect(db)) as conn:
            rows = conn.execute(PAGE.format(where=where), params).fetchall()
            if count:
                conn.execute(COUNT.format(where=where), params).fetchone()
            return rows

    return run


def service(db: Database, **kwargs: Any) -> Callable[[], object]:
    def run() -> object:
        with db.transaction(write=False) as session:
            return queries.proposal_page(session=session, lang="nl", **kwargs)

    return run


def plan(db: Path, where: str, params: tuple[str, ...]) -> str:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + PAGE.format(where=where), params).fetchall()
    return "; ".join(str(r[-1]) for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="Keep the generated databases.")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="regie-scale-"))
    try:
        empty = workdir / "empty.db"
        init_database(
            db=Database(f"sqlite:///{empty}"),
            clock=FixedClock(T0),
            region=load_region(CONFIG),
            workflows=builtin_workflows(),
        )
        floor = median_of(args.runs, cli(empty, "list"))
        print(f"floor: `regie list` on an empty database: {floor:.3f} s", flush=True)
        for n in args.sizes:
            path = workdir / f"scale-{n}.db"
            made = generate(path, n)
            verified = subprocess.run(
                [REGIE, "--db", str(path), "audit", "verify", "--json"],
                capture_output=True,
                check=False,
            )
            ok = verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True
            print(
                f"\n{n} proposals: generated in {made['seconds']:.1f} s "
                f"(proposals, events: {made['rows']}); "
                f"`regie audit verify`: {'ok' if ok else verified.stdout.decode()}; "
                f"{path.stat().st_size / 1e6:.0f} MB",
                flush=True,
            )
            party, state = made["party"], made["state"]
            db = Database(f"sqlite:///{path}")
            cases = [
                ("regie list", ("list",), "1 = 1", (), {}),
                ("regie list --json", ("list", "--json"), "1 = 1", (), {}),
                (f"regie list --state {state}", ("list", "--state", state), "p.state = ?",
                 (state,), {"state": state}),
                (f"regie list --party {party}", ("list", "--party", party), PARTY, (party,),
                 {"party": party}),
            ]  # fmt: skip
            print("| command | command s | service in-process s | bare SQL s | plan |")
            print("|---|---|---|---|---|")
            for name, argv, where, params, filters in cases:
                as_json = "--json" in argv
                t_cli = median_of(args.runs, cli(path, *argv))
                t_service = median_of(args.runs, service(db, count=not as_json, **filters))
                t_sql = median_of(args.runs, bare(path, where, params, count=not as_json))
                print(
                    f"| `{name}` | {t_cli:.3f} | {t_service:.4f} | {t_sql:.4f} | "
                    f"{plan(path, where, params)} |",
                    flush=True,
                )
            db.dispose()
    finally:
        if args.keep:
            print(f"\ndatabases kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
