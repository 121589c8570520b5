"""Sixteen `regie` processes write to one SQLite file at once (issue 15): nobody is refused
with "database is busy" (exit 3); the loser of a race on a proposal gets a clean refusal
(exit 1, one line); `regie check` is clean afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from reliability import driver as d

REGIE = str(Path(sys.executable).with_name("regie"))
AT_MEETING = "2026-12-08T09:31"  # just after the start of the proposals' table meeting
CONTESTED = 6  # proposals, each advanced by two writers at once
SUBMITTERS = 16 - 2 * CONTESTED


def test_sixteen_writers(tmp_path: Path) -> None:
    db = tmp_path / "regie.db"
    assert d.init(db).code == 0
    proposals = []
    for i in range(CONTESTED):
        assert d.submit(db, f"Contested {i}").code == 0
        proposals.append(f"P-2026-{i + 1:03d}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    env |= {"REGIE_DB": str(db), "REGIE_NOW": AT_MEETING, "REGIE_USER": d.COORDINATOR}
    submit = ["submit", "--purpose", "adoption", "--table", "tafel-model", "--party", "ede"]
    commands = [["advance", p] for p in proposals for _ in range(2)]
    commands += [[*submit, "--title", f"New {i}"] for i in range(SUBMITTERS)]
    writers = [
        subprocess.Popen(
            [REGIE, *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for cmd in commands
    ]
    results = []
    try:
        for cmd, w in zip(commands, writers, strict=True):
            stdout, stderr = w.communicate(timeout=60)
            results.append((cmd, w.returncode, stdout, stderr))
    finally:  # one hung: the others are not left running
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.communicate()
    for cmd, code, stdout, stderr in results:
        said = f"{cmd}: exit {code}, {stderr!r}"
        assert code in (0, 1), said  # 3 would be "database is busy"
        assert "busy" not in stderr and "locked" not in stderr, said
        assert "Traceback" not in stdout + stderr, said
        if code == 1:  # the loser of a race: one clean line about the proposal
            lines = stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"regie: error: {cmd[1]}"), said
            assert "changed by someone else" in stderr or "cannot advance" in stderr, said
    for p in proposals:
        won = [code for cmd, code, _, _ in results if cmd == ["advance", p] and code == 0]
        assert len(won) == 1, (p, results)
    assert all(code == 0 for cmd, code, _, _ in results if cmd[0] == "submit"), results
    check = d.run(db, ["check"], now=AT_MEETING)
    assert check.code == 0, check
