"""Four processes move the same proposals at random: no lost update, one event per effect,
an intact chain, and nobody sees "database is locked" or a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from regie.engine.replay import STATE_ACTIONS
from reliability import driver as d
from reliability.budget import CONCURRENT_OPS, CONCURRENT_PROCESSES

HERE = Path(__file__).resolve().parent


def state_events(db: Path) -> Counter[str]:
    """Events of acknowledged moves: state changes, and routes proposed (`regie route`
    before the chairs' meeting records a proposal, no state change)."""
    actions = (*STATE_ACTIONS, "route_proposed")
    marks = ", ".join("?" * len(actions))
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            f"SELECT proposal_id, COUNT(*) FROM audit_event WHERE action IN ({marks}) "
            "AND action != 'submitted' GROUP BY proposal_id",
            actions,
        ).fetchall()
    return Counter(dict(rows))


@pytest.mark.slow
def test_four_writers(tmp_path: Path) -> None:
    db = tmp_path / "regie.db"
    assert d.init(db).code == 0
    proposals = []
    for i in range(6):
        assert d.submit(db, f"Contested {i}").code == 0
        proposals.append(f"P-2026-{i + 1:03d}")
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "driver.py"),
                str(db),
                str(seed),
                str(CONCURRENT_OPS),
                *proposals,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in range(CONCURRENT_PROCESSES)
    ]
    tallies = []
    try:
        for w in workers:
            stdout, stderr = w.communicate(timeout=300)
            assert w.returncode == 0, stderr
            assert "Traceback" not in stderr, stderr
            tallies.append(json.loads(stdout))
    finally:  # one worker failed: the others are not left running
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.communicate()
    problems = [bad for t in tallies for bad in t["bad"]]
    assert problems == [], problems  # no "database is locked", no traceback, no crash
    acknowledged: Counter[str] = Counter()
    for t in tallies:
        acknowledged.update(t["acknowledged"])
    # every acknowledged move is exactly one event, and no event lacks its acknowledgement
    assert state_events(db) == +acknowledged
    assert sum(acknowledged.values()) > 10, tallies  # the run made real progress
    assert sum(t["refused"] for t in tallies) > 10, tallies  # and saw clean refusals
    out = d.run(db, ["check"])
    assert out.code == 0, out
    assert d.run(db, ["audit", "verify"]).code == 0
    print(
        f"concurrency: acknowledged {sum(acknowledged.values())}, refused "
        f"{sum(t['refused'] for t in tallies)} (lost races "
        f"{sum(t['lost_races'] for t in tallies)})"
    )
