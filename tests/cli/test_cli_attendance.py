"""`regie attend` after issue #13: expected, prior positions with a stance, the warning
for a present person without a mandate, and the refusals that say what to do."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from regie.cli import cli

MEETING = "oogo-2027-01-28"
OOGO = "Regionaal bestuurlijk OOGO onderwijs en jeugd"
SWV_VO = "Samenwerkingsverband passend onderwijs VO FoodValley"
SUBMITTED = "2026-11-23T10:00"
BEFORE = "2027-01-14T12:00"  # two weeks ahead of the OOGO
DAY = "2027-01-28T19:30"  # the OOGO starts


def run(db: Path, *args: str, now: str, lang: str | None = "en") -> Result:
    env = {"REGIE_DB": None, "REGIE_DEBUG": None, "REGIE_NOW": now, "REGIE_USER": "coordinator",
           "REGIE_LANG": lang}  # fmt: skip
    result = CliRunner().invoke(cli, ["--db", str(db), *args], env=env)
    assert "Traceback" not in result.output
    return result


def ok(db: Path, *args: str, now: str, lang: str | None = "en") -> Result:
    result = run(db, *args, now=now, lang=lang)
    assert result.exit_code == 0, (args, result.output)
    return result


def error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("regie: error: "), result.stderr
    return lines[0]


@pytest.fixture
def pid(db_file: Path) -> str:
    """An adoption proposal for Ede and SWV VO on the OOGO of 28 January 2027, its agenda
    approved by the chairs' meeting."""
    r = ok(db_file, "submit", "--title", "OZA-kader", "--purpose", "adoption", "--table",
           "tafel-model", "--party", "ede", "--party", "swv-vo", now=SUBMITTED)  # fmt: skip
    proposal = r.stdout.split()[0]
    for _ in range(3):
        starts = json.loads(ok(db_file, "show", proposal, "--json", now=DAY).stdout)
        ok(db_file, "advance", proposal, now=starts["meeting_starts_at"][:16])
    ok(db_file, "agenda", "approve", MEETING, now=BEFORE)
    return proposal


def test_expected_ahead_present_on_the_day(db_file: Path, pid: str) -> None:
    r = ok(db_file, "attend", MEETING, "ingrid-schouten", "--expected", now=BEFORE)
    assert r.stdout == (
        f"Ingrid Schouten (Gemeente Ede) expected at {OOGO} on Thursday 28 January 2027 "
        f"({MEETING})\n"
    )
    line = error_line(run(db_file, "attend", MEETING, "ingrid-schouten", "--present",
                          now=BEFORE), 2)  # fmt: skip
    assert "from the day of meeting oogo-2027-01-28 (28 January 2027) on" in line
    assert line.endswith("before that, announce 'expected' or 'absent'")
    r = ok(db_file, "attend", MEETING, "ingrid-schouten", "--present", now="2027-01-28T09:00")
    assert r.stdout.startswith("Ingrid Schouten (Gemeente Ede) present at ")
    assert r.stderr == ""


def test_prior_position_needs_a_stance(db_file: Path, pid: str) -> None:
    args = ("attend", MEETING, "hans-wolters", "--prior-position", pid)
    line = error_line(run(db_file, *args, "--position", "akkoord", now=BEFORE), 2)
    assert "a prior position needs --stance agree, disagree or abstain" in line
    line = error_line(run(db_file, *args, "--stance", "maybe", now=BEFORE), 2)
    assert "'maybe' is not one of 'agree', 'disagree', 'abstain'" in line
    r = ok(db_file, *args, "--stance", "disagree", "--position", "Te duur in 2027", now=BEFORE)
    assert r.stdout == (
        f"Prior position of {SWV_VO} on {pid} recorded (disagrees), for {OOGO} on Thursday "
        f"28 January 2027 ({MEETING})\n"
    )
    r = ok(db_file, *args, "--stance", "abstain", now=BEFORE, lang="nl")
    assert r.stdout.startswith(f"Standpunt vooraf van {SWV_VO} over {pid} vastgelegd "
                               "(onthoudt zich), voor ")  # fmt: skip
    with closing(sqlite3.connect(db_file)) as conn:
        rows = conn.execute("SELECT payload FROM audit_event WHERE action = 'prior_position' "
                            "ORDER BY id").fetchall()  # fmt: skip
    payloads = [json.loads(row[0]) for row in rows]
    assert [(p["stance"], p["position"]) for p in payloads] == [
        ("disagree", "Te duur in 2027"),
        ("abstain", ""),
    ]


def test_prior_position_after_the_start_refused(db_file: Path, pid: str) -> None:
    r = run(db_file, "attend", MEETING, "hans-wolters", "--prior-position", pid, "--stance",
            "agree", now=DAY)  # fmt: skip
    assert "a prior position is given before the meeting starts" in error_line(r, 2)


def test_present_without_a_mandate_warns(db_file: Path, pid: str) -> None:
    r = ok(db_file, "attend", MEETING, "sandra-kooiman", "--present", now=DAY)
    assert r.stdout.startswith("Sandra Kooiman (Gemeente Veenendaal) present at ")
    assert r.stderr == (
        f"regie: warning: Sandra Kooiman has no mandate in {OOGO} on Thursday 28 January 2027 "
        f"for any party its items concern (Gemeente Ede, {SWV_VO}); recorded, but it does not "
        "count in the mandate check\n"
    )
    r = ok(db_file, "attend", MEETING, "sandra-kooiman", "--present", now=DAY, lang="nl")
    assert r.stderr.startswith("regie: warning: Sandra Kooiman heeft op donderdag 28 januari "
                               f"2027 geen mandaat in {OOGO} voor een partij")  # fmt: skip


def test_decide_refusal_gives_each_reason_and_attendance_is_then_fixed(
    db_file: Path, pid: str
) -> None:
    ok(db_file, "attend", MEETING, "hans-wolters", "--present", now=DAY)
    decide = ("decide", pid, "--outcome", "adopted", "--text", "Vastgesteld.")
    line = error_line(run(db_file, *decide, now=DAY), 1)
    assert (
        "for: ede (nobody attended for Gemeente Ede and it gave no prior position); record "
        "attendance with 'regie attend', or use --override \"reason\""
    ) in line
    ok(db_file, "attend", MEETING, "bart-lamers", "--substitute-for", "ingrid-schouten", now=DAY)
    ok(db_file, *decide, now=DAY)
    line = error_line(run(db_file, "attend", MEETING, "bart-lamers", "--absent", now=DAY), 1)
    assert f"retract that decision first (regie decide {pid} --retract --reason" in line
