"""Scratch golden snapshot (helper w17; deleted afterwards)."""
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from confirmtest import TestClient, app_for, decided, link_row, path_of
from regie.web import csrf


def test_snapshot(world: Any) -> None:
    pid = decided(world)
    row = link_row(world, pid)
    meeting = world.show(pid)["meeting"]
    people = [r[0] for r in world.sql("SELECT id FROM person ORDER BY id")]
    parties = [r[0] for r in world.sql("SELECT id FROM party ORDER BY id")]
    with closing(sqlite3.connect(world.path)) as conn:
        conn.execute("INSERT INTO attendance VALUES (?, ?, ?, 'substitute', ?, ?, '2027-01-01')",
                     (meeting, people[-1], parties[-1], people[-2], people[0]))
        conn.execute("INSERT INTO attendance VALUES (?, ?, ?, 'absent', NULL, ?, '2027-01-01')",
                     (meeting, people[-3], "ede", people[0]))
        conn.execute("INSERT INTO prior_position (meeting_id, proposal_id, party_id, person_id, "
                     "position, recorded_at, stance) VALUES (?, ?, 'swv-vo', ?, 'Wij <i>twijfelen</i>', "
                     "'2027-01-01', 'disagree')", (meeting, pid, people[-3]))
        conn.execute("INSERT INTO prior_position (meeting_id, proposal_id, party_id, person_id, "
                     "position, recorded_at, stance) VALUES (?, ?, ?, ?, '', '2027-01-01', NULL)",
                     (meeting, pid, parties[-1], people[-1]))
        conn.commit()
    out = Path(os.environ["W17_OUT"])
    out.mkdir(exist_ok=True)
    chair_other = people[1]
    with TestClient(app_for(world)) as client:
        client.cookies.set(csrf.COOKIE, "fixedcookie")
        for name, path in [("open", path_of(world, row))]:
            r = client.get(path)
            (out / f"{name}.html").write_text(f"{r.status_code}\n{r.text}")
        for kind in ("decision_recorded",):
            for r2 in world.sql("SELECT id, person_id, language FROM outbox WHERE proposal_id = ? ORDER BY id", (pid,)):
                r = client.get(path_of(world, int(r2[0])))
                (out / f"row{r2[0]}.html").write_text(f"{r.status_code}\n{r.text}")
