"""Dossiers (issue 19, proof): the export of a decided proposal as JSON, CSV and HTML; the
check of a dossier — its hashes, its facts, against the database and a published anchor —
and of each kind of tampering; the CLI; and a verifier that does not import regie.

Real SQLite files (the ``world`` fixture, with its audit key), one run on the real
PostgreSQL server; the append-only triggers are dropped only to edit the trail after export.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from regie.cli import cli
from regie.clock import AMSTERDAM, to_local
from regie.dispute import dossier
from regie.dispute.dossier_format import content_hash
from regie.engine import anchor, attendance, audit, decisions, moves
from regie.engine.storage import Database, Tx

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "tests" / "data" / "verify_dossier.py"
NOW = datetime(2027, 2, 1, 10, tzinfo=AMSTERDAM)


def decided(world: Any, title: str = "Doorgaande leerlijn taal") -> tuple[str, str]:
    """A proposal decided and confirmed at the top meeting, and another one beside it (its
    events lie between the first one's)."""
    pid = world.submit("adoption", title=title)
    other = world.submit("adoption", title="Iets anders")
    meeting = world.to_final_together(pid, other)
    for party in world.show(pid)["parties"]:
        person = world.mandated(party, world.body_id("oogo"))
        world.call(attendance.record_attendance, meeting_id=meeting, person=person,
                   status="present")  # fmt: skip
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Vastgesteld <b>zo</b>.")
    world.call(decisions.decide, proposal_id=other, outcome="adopted", text="Ook vastgesteld.")
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    return pid, other


def export(world: Any, *pids: str, title: str = "Dossier") -> dossier.Dossier:
    return world.read(dossier.export, proposal_ids=list(pids), title=title, lang="nl", now=NOW)  # type: ignore[no-any-return]


def written(world: Any, tmp_path: Path, *pids: str) -> Path:
    return dossier.write_file(tmp_path / "d.json", export(world, *pids).render("json"))


def checked(world: Any | None, path: Path, anchor_text: str | None = None) -> Any:
    if world is None:
        return dossier.check(None, path, anchor=anchor_text)
    return world.read(dossier.check, path=path, anchor=anchor_text)


def statuses(result: Any) -> dict[str, str]:
    return {s.name: s.status for s in result.steps}


def edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


# -- export ------------------------------------------------------------------------------------


def test_export_holds_the_facts_every_event_with_its_content_and_the_head(world: Any) -> None:
    pid, other = decided(world)
    d = export(world, pid).data
    (p,) = d["proposals"]
    assert (p["id"], p["title"], p["state"], p["route"]) == (
        pid, "Doorgaande leerlijn taal", "decided", world.show(pid)["route"],
    )  # fmt: skip
    (dec,) = p["decisions"]
    assert (dec["version"], dec["outcome"], dec["text"]) == (1, "adopted", "Vastgesteld <b>zo</b>.")
    assert dec["confirmed_by"] == world.chair("oogo")
    stored = world.sql(
        "SELECT id, hash, action FROM audit_event WHERE proposal_id = ? ORDER BY id", (pid,)
    )
    assert [e["id"] for e in d["events"]] == p["events"] == [r[0] for r in stored]
    assert [e["hash"] for e in d["events"]] == [r[1] for r in stored]
    assert dec["event"] == next(r[0] for r in stored if r[2] == "decided")
    others = {r[0] for r in world.sql("SELECT id FROM audit_event WHERE proposal_id = ?", (other,))}
    assert others and not others & set(p["events"])  # the other proposal's events: left out
    assert not set(range(p["events"][0], p["events"][-1])) <= set(p["events"])  # gaps between
    for e in d["events"]:  # the content is exactly what the hash covers, as regie computes it
        c = e["content"]
        assert content_hash(c) == e["hash"] == audit.event_hash(
            at=datetime.fromisoformat(c["at"][:-1]), actor=c["actor"], acting_for=c["acting_for"],
            action=c["action"], proposal_id=c["proposal"], meeting_id=c["meeting"],
            payload_text=c["payload"], prev_hash=c["prev"], os_user=c["os_user"], host=c["host"],
        )  # fmt: skip
        assert c["prev"] == e["prev_hash"] and e["mac"] and e["key_id"]
    last = world.sql("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")[0]
    assert (d["head"]["id"], d["head"]["hash"]) == last
    assert d["anchor"] == world.read(anchor.make).text and d["anchor"].startswith(f"{last[0]}-")
    assert d["exported_at"] == "2027-02-01T09:00:00.000000Z"


def test_csv_has_one_row_per_event_and_the_head_first(world: Any) -> None:
    pid, _ = decided(world)
    made = export(world, pid)
    lines = made.render("csv").splitlines()
    assert lines[0].startswith("# regie-dossier/1: Dossier")
    assert lines[2] == f"# head: id={made.head['id']} hash={made.head['hash']} at={made.head['at']}"
    assert lines[3] == f"# anchor: {made.data['anchor']}"
    import csv

    rows = list(csv.DictReader(lines[4:]))
    assert [int(r["id"]) for r in rows] == [e["id"] for e in made.data["events"]]
    assert all(r["hash"] == e["hash"] for r, e in zip(rows, made.data["events"], strict=True))
    assert json.loads(rows[0]["payload"])["title"] == "Doorgaande leerlijn taal"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_html_escapes_and_shows_facts_decision_events_and_head(world: Any, lang: str) -> None:
    pid, _ = decided(world, title="Plan <script>alert(1)</script>")
    made = world.read(dossier.export, proposal_ids=[pid], title="<script>x</script>", lang=lang)
    page = made.render("html")
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "Plan &lt;script&gt;alert(1)" in page
    assert "Vastgesteld &lt;b&gt;zo&lt;/b&gt;." in page
    assert made.head["hash"] in page and made.data["events"][0]["hash"][:12] in page
    assert ("Zo controleert u dit dossier" if lang == "nl" else "How to check this dossier") in page
    assert f'<html lang="{lang}">' in page


# -- check ------------------------------------------------------------------------------------


def test_check_passes_against_the_database_and_offline(world: Any, tmp_path: Path) -> None:
    pid, _ = decided(world)
    path = written(world, tmp_path, pid)
    result = checked(world, path)
    assert result.ok and statuses(result) == {
        "hashes": "passed", "facts": "passed", "database": "passed", "anchor": "not checked",
    }  # fmt: skip
    assert "MACs checked with key" in result.steps[2].detail
    offline = checked(None, path)
    assert offline.ok and statuses(offline)["database"] == "not checked"
    assert "needs the database" in offline.steps[2].detail
    world.call(moves.submit, purpose="adoption", title="Later", table="tafel-model",
               parties=["ede"])  # fmt: skip
    assert checked(world, path).ok  # events after the export: the head is still in the chain


def _decision_text(d: dict[str, Any]) -> None:
    d["proposals"][0]["decisions"][0]["text"] = "Afgewezen."


def _payload_text(d: dict[str, Any]) -> None:
    e = next(e for e in d["events"] if e["content"]["action"] == "decided")
    e["content"]["payload"] = e["content"]["payload"].replace("Vastgesteld", "Afgewezen")


def _hash(d: dict[str, Any]) -> None:
    d["events"][1]["hash"] = "f" * 64


def _removed(d: dict[str, Any]) -> None:
    del d["events"][2]


def _removed_everywhere(d: dict[str, Any]) -> None:
    gone = d["events"].pop(2)
    d["proposals"][0]["events"].remove(gone["id"])


@pytest.mark.parametrize(
    ("change", "step", "words"),
    [
        (_decision_text, "facts", "its text or outcome is not what event"),
        (_payload_text, "hashes", "its content does not match its hash"),
        (_hash, "hashes", "its content does not match its hash"),
        (_removed, "hashes", "which the dossier does not hold: it was removed"),
        (_removed_everywhere, "database", "is in the database but not in the dossier"),
    ],
    ids=["decision text", "event payload", "hash", "event removed", "event removed and unlisted"],
)
def test_a_tampered_dossier_fails_naming_the_event(
    world: Any, tmp_path: Path, change: Any, step: str, words: str
) -> None:
    pid, _ = decided(world)
    path = written(world, tmp_path, pid)
    before = json.loads(path.read_text(encoding="utf-8"))
    edit(path, change)
    result = checked(world, path)
    assert not result.ok and result.first_failure.name == step, result.as_dict()
    assert words in result.first_failure.detail
    assert result.first_failure.event in {e["id"] for e in before["events"]}
    if step != "database":
        assert not checked(None, path).ok  # found without the database too


def test_a_database_edited_after_export_fails(world: Any, tmp_path: Path) -> None:
    pid, _ = decided(world)
    path = written(world, tmp_path, pid)
    data = json.loads(path.read_text(encoding="utf-8"))
    target = next(e for e in data["events"] if e["content"]["action"] == "decided")
    forged = target["content"]["payload"].replace("Vastgesteld", "Afgewezen")
    with closing(sqlite3.connect(world.path, isolation_level=None)) as conn:
        conn.execute("DROP TRIGGER audit_event_no_update")
        conn.execute("UPDATE audit_event SET payload = ? WHERE id = ?", (forged, target["id"]))
    result = checked(world, path)
    assert statuses(result)["hashes"] == "passed"
    bad = result.first_failure
    assert bad.name == "database" and bad.event == target["id"]
    assert bad.detail == f"event {target['id']} differs from the database (payload)"


def test_the_anchor_check(world: Any, tmp_path: Path) -> None:
    pid, _ = decided(world)
    path = written(world, tmp_path, pid)
    at_export = json.loads(path.read_text(encoding="utf-8"))["anchor"]
    for result in (checked(None, path, at_export), checked(world, path, at_export)):
        assert statuses(result)["anchor"] == "passed" and result.ok
        assert "the dossier's head is the published one" in result.steps[3].detail
    # an anchor published later: only the database links the dossier to it
    world.submit("adoption", title="Nog open")
    later = world.read(anchor.make).text
    offline = checked(None, path, later)
    assert not offline.ok and "check against the database to link them" in offline.steps[3].detail
    online = checked(world, path, later)
    assert online.ok and "reaches event" in online.steps[3].detail
    count, prefix, tag = anchor.parse(at_export)
    wrong = f"{count}-{'0' * 32}-{tag}"
    assert "does not match the key" in checked(world, path, wrong).first_failure.detail
    assert "has another hash" in checked(None, path, wrong).first_failure.detail


# -- CLI ---------------------------------------------------------------------------------------


def run(db: Path, *args: str) -> Result:
    env = {"REGIE_DB": str(db), "REGIE_USER": "coordinator", "REGIE_NOW": "2027-02-01T10:00",
           "REGIE_LANG": "en", "REGIE_DEBUG": None}  # fmt: skip
    result = CliRunner().invoke(cli, list(args), env=env)
    assert "Traceback" not in result.output + result.stderr
    return result


def test_cli_export_check_and_exit_codes(world: Any, tmp_path: Path) -> None:
    pid, _ = decided(world)
    out = tmp_path / "dossier.json"
    done = run(world.path, "audit", "export", pid, "--output", str(out))
    assert done.exit_code == 0 and f"dossier written: {out}" in done.stdout
    printed = run(world.path, "audit", "export", pid)
    assert json.loads(printed.stdout)["events"] == json.loads(out.read_text())["events"]
    ok = run(world.path, "audit", "check-dossier", str(out))
    assert ok.exit_code == 0 and "database: passed" in ok.stdout
    report = json.loads(run(world.path, "audit", "check-dossier", str(out), "--json").stdout)
    assert report["ok"] and report["bad_event"] is None
    offline = run(tmp_path / "none.db", "audit", "check-dossier", str(out), "--offline")
    assert offline.exit_code == 0 and "database: not checked" in offline.stdout
    edit(out, _hash)
    bad = run(world.path, "audit", "check-dossier", str(out))
    event = json.loads(out.read_text())["events"][1]["id"]
    assert bad.exit_code == 1
    assert f"does not match at event {event}: event {event}: its content" in bad.stderr


def test_cli_refuses_to_overwrite_and_bad_input(world: Any, tmp_path: Path) -> None:
    pid, _ = decided(world)
    out = tmp_path / "d.html"
    out.write_text("mine")
    refused = run(world.path, "audit", "export", pid, "--format", "html", "-o", str(out))
    assert refused.exit_code == 2 and "exists already" in refused.stderr
    assert out.read_text() == "mine"
    forced = run(world.path, "audit", "export", pid, "--format", "html", "-o", str(out), "--force")
    assert forced.exit_code == 0 and out.read_text().startswith("<!doctype html>")
    assert (out.stat().st_mode & 0o777) == 0o600
    unknown = run(world.path, "audit", "export", "P-1999-999")
    assert unknown.exit_code == 1 and "P-1999-999" in unknown.stderr
    both = run(world.path, "audit", "export", pid, "--search", "taal")
    assert both.exit_code == 2 and "one of the two" in both.stderr
    notjson = run(world.path, "audit", "check-dossier", str(out))
    assert notjson.exit_code == 2 and "is not a JSON dossier" in notjson.stderr
    malformed = run(world.path, "audit", "check-dossier", str(out), "--anchor", "nope")
    assert malformed.exit_code == 2 and "is not an audit anchor" in malformed.stderr


def test_cli_export_of_a_search_holds_what_the_search_finds(world: Any, tmp_path: Path) -> None:
    """--search exports the proposals the search finds (stemmed: "leerlijnen" finds the
    "leerlijn" proposal, not the other one), and the dossier checks out; a search that
    finds nothing exports nothing."""
    pid, other = decided(world)
    out = tmp_path / "s.json"
    found = run(world.path, "audit", "export", "--search", "leerlijnen", "-o", str(out))
    assert found.exit_code == 0, found.stderr
    made = json.loads(out.read_text())
    assert [p["id"] for p in made["proposals"]] == [pid]
    assert made["search"] == "leerlijnen"
    assert run(world.path, "audit", "check-dossier", str(out)).exit_code == 0
    none = run(world.path, "audit", "export", "--search", "zwembad", "-o", str(tmp_path / "n"))
    assert none.exit_code != 0 and "finds no proposal" in none.stderr
    assert not (tmp_path / "n").exists()


# -- the verifier without regie ------------------------------------------------------------------


def verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-X", "importtime", str(VERIFIER), str(path), *extra],
        capture_output=True, text=True, check=False, cwd="/",
    )  # fmt: skip


def test_the_standalone_verifier_passes_and_fails_without_importing_regie(
    world: Any, tmp_path: Path
) -> None:
    pid, other = decided(world)
    path = written(world, tmp_path, pid, other)
    anchor_text = json.loads(path.read_text(encoding="utf-8"))["anchor"]
    good = verify(path, anchor_text)
    assert good.returncode == 0 and good.stdout.strip() == "dossier intact", good.stderr
    assert "regie" not in good.stderr  # -X importtime lists every module imported
    imported = {line.split("|")[-1].strip() for line in good.stderr.splitlines()}
    assert imported and not {m for m in imported if m.split(".")[0] in ("regie", "sqlalchemy")}
    for change in (_decision_text, _payload_text, _hash):
        tampered = tmp_path / f"{change.__name__}.json"
        tampered.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        edit(tampered, change)
        bad = verify(tampered)
        assert bad.returncode == 1 and "event" in bad.stderr.splitlines()[-1], bad.stderr
    wrong = verify(path, anchor_text.replace(anchor_text.split("-")[0], "1", 1))
    assert wrong.returncode == 1 and "is not the anchor's" in wrong.stderr


# -- PostgreSQL ------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_export_and_check_on_postgres(
    world: Any, tmp_path: Path, pg_scratch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regie.engine.setup import init_database
    from regie.workflows.definition import builtin_workflows

    monkeypatch.setenv("REGIE_KEY_FILE", str(tmp_path / "pg.key"))
    with pg_scratch("regie_dossier") as url:
        db = Database(url)
        try:
            init_database(
                db=db, clock=world.clock, region=world.region, workflows=builtin_workflows()
            )
            world.db.dispose()
            world.db = db
            world.sql = lambda q, p=(): _pg_rows(db, q, p)
            world.meeting_start = lambda m: to_local(
                _pg_rows(db, "SELECT starts_at FROM meeting WHERE id = ?", (m,))[0][0]
            )
            pid, _ = decided(world)
            path = written(world, tmp_path, pid)
            result = checked(world, path, json.loads(path.read_text())["anchor"])
            assert result.ok and statuses(result)["database"] == "passed", result.as_dict()
            edit(path, _decision_text)
            assert checked(world, path).first_failure.name == "facts"
        finally:
            db.dispose()


def _pg_rows(db: Database, query: str, params: Any) -> list[tuple[Any, ...]]:
    with db.session(write=False) as session:
        return [tuple(r) for r in Tx(session).all(query, params)]
