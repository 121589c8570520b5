"""Outcomes through the `regie` command: confirm names a version, a superseded version is
refused, a decision can be retracted for a new one, dissent is recorded, information is
noted, an advice names its addressee, news carries confirmed decisions."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from regie.cli import cli

CLEAN = {"REGIE_DB": None, "REGIE_USER": None, "REGIE_NOW": None, "REGIE_LANG": None}
CHAIR = "sandra-kooiman"  # chair of the OOGO in config/foodvalley.toml
OOGO = "oogo-2027-01-28"


def run(db: Path, *args: str, now: str, user: str = "coordinator") -> Result:
    env = {**CLEAN, "REGIE_NOW": now, "REGIE_USER": user}
    result = CliRunner().invoke(cli, ["--db", str(db), "--lang", "en", *args], env=env)
    assert "Traceback" not in result.output + result.stderr
    return result


def ok(db: Path, *args: str, now: str, user: str = "coordinator") -> Result:
    result = run(db, *args, now=now, user=user)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def show(db: Path, pid: str) -> dict[str, Any]:
    return dict(json.loads(ok(db, "show", pid, "--json", now="2027-02-01T12:00").stdout))


def sql(db: Path, query: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(query).fetchall()


def to_oogo(db: Path, purpose: str = "adoption", *extra: str) -> str:
    r = ok(
        db, "submit", "--title", "OZA-kader", "--purpose", purpose, "--table", "tafel-model",
        "--party", "ede", *extra, now="2026-11-23T10:00",
    )  # fmt: skip
    pid = r.stdout.split()[0]
    for at in ("2026-12-08T10:00", "2026-12-17T10:00", "2027-01-07T10:00"):
        ok(db, "advance", pid, now=at)
    ok(db, "agenda", "approve", OOGO, now="2027-01-14T10:00")
    return pid


def decide(db: Path, pid: str, *extra: str) -> Result:
    ok(db, "attend", OOGO, "ingrid-schouten", "--present", now="2027-01-28T19:35")
    return run(db, "decide", pid, "--outcome", *extra, now="2027-01-28T21:00")


def test_confirm_names_the_version_and_refuses_a_superseded_one(db_file: Path) -> None:
    pid = to_oogo(db_file)
    assert decide(db_file, pid, "adopted", "--text", "Version one.").exit_code == 0
    r = run(db_file, "confirm", pid, now="2027-01-29T09:00", user=CHAIR)
    assert r.exit_code == 2 and "name the version you confirm: --version 1" in r.stderr
    ok(db_file, "confirm", pid, "--amend", "Version two.", now="2027-01-29T09:05", user=CHAIR)
    r = run(db_file, "confirm", pid, "--version", "1", now="2027-01-29T09:10", user=CHAIR)
    assert r.exit_code == 1 and r.stdout == ""
    assert 'superseded by version 2, which reads "Version two."' in r.stderr
    assert sql(db_file, "SELECT COUNT(*) FROM decision WHERE confirmed_by IS NOT NULL") == [(0,)]
    r = ok(db_file, "confirm", pid, "--version", "2", now="2027-01-29T09:10", user=CHAIR)
    assert r.stdout == f"{pid} decision confirmed: adopted, version 2\n"


def test_retract_and_decide_again(db_file: Path) -> None:
    pid = to_oogo(db_file)
    decide(db_file, pid, "adopted", "--text", "First.")
    r = ok(
        db_file, "decide", pid, "--retract", "--reason", "wrong attendance", now="2027-01-28T21:10"
    )
    assert r.stdout.startswith(f"{pid} decision version 1 retracted; the proposal is back on ")
    assert show(db_file, pid)["state"] == "oogo"
    r = ok(
        db_file, "decide", pid, "--outcome", "adopted", "--text", "Second.", now="2027-01-28T21:15"
    )
    assert "(version 2)" in r.stdout


def test_dissent_is_required_and_recorded(db_file: Path) -> None:
    pid = to_oogo(db_file)
    ok(
        db_file, "attend", OOGO, "hans-wolters", "--prior-position", pid, "--stance", "disagree",
        "--position", "Too expensive.", now="2027-01-28T12:00",
    )  # fmt: skip
    ok(
        db_file,
        "parties",
        pid,
        "--add",
        "swv-vo",
        "--reason",
        "SWV VO pays half",
        now="2027-01-28T12:05",
    )
    r = decide(db_file, pid, "adopted", "--text", "Adopted.")
    assert r.exit_code == 1 and "swv-vo gave a prior position 'disagree'" in r.stderr
    r = run(
        db_file, "decide", pid, "--outcome", "adopted", "--text", "Adopted.",
        "--dissent", "SWV VO: too expensive.", now="2027-01-28T21:00",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert sql(db_file, "SELECT dissent FROM decision") == [
        ('{"parties": ["swv-vo"], "text": "SWV VO: too expensive."}',)
    ]


def test_information_is_noted(db_file: Path) -> None:
    info = to_oogo(db_file, "information")
    r = ok(db_file, "decide", info, "--outcome", "noted", now="2027-01-28T21:00")
    assert r.stdout.startswith(f"{info} noted at ") and "closed without a decision" in r.stdout
    assert show(db_file, info)["state"] == "noted"


def test_an_advice_names_its_addressee(db_file: Path) -> None:
    """(A test of its own: the clock never runs backwards, and each walks the calendar.)"""
    r = run(
        db_file, "submit", "--title", "Advies", "--purpose", "advice", "--table", "tafel-model",
        "--party", "ede", now="2026-11-23T10:00",
    )  # fmt: skip
    assert r.exit_code == 2 and "--addressee" in r.stderr
    advice = to_oogo(db_file, "advice", "--addressee", "swv-po")
    assert sql(db_file, f"SELECT addressee FROM proposal WHERE id = '{advice}'") == [
        ("party:swv-po",)
    ]


def test_news_after_confirmation_then_an_addendum(db_file: Path) -> None:
    pid = to_oogo(db_file)
    decide(db_file, pid, "adopted", "--text", "Adopted.")
    r = run(db_file, "news", OOGO, now="2027-01-29T08:00")
    assert r.exit_code == 2 and "await" in r.stderr and "confirmation" in r.stderr
    ok(db_file, "confirm", pid, "--version", "1", now="2027-01-29T09:00", user=CHAIR)
    ok(db_file, "news", OOGO, now="2027-01-29T10:00")
    r = run(db_file, "news", OOGO, now="2027-01-29T11:00")
    assert r.exit_code == 2 and "every confirmed decision of it was in earlier news" in r.stderr
