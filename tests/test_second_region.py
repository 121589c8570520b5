"""A second region, served from its config alone.

Heuvelland (``tests/data/region-heuvelland``) has one working group, a steering group
instead of a chairs' meeting, no civil servants' meeting, and a top meeting called
"Bestuurlijk overleg": route werkgroep -> stuurgroep -> BO, Thursday-evening meetings,
7-working-day deadlines, one English reader. Its workflows are its own (a folder and one
inline table). Everything below goes through the `regie` command on a real SQLite file,
as a coordinator would run it; reads use ``--json`` (ids, ISO times).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from regie.cli import cli

DATA = Path(__file__).parent / "data" / "region-heuvelland"
CLEAN_ENV = {"REGIE_DB": None, "REGIE_USER": None, "REGIE_NOW": None, "REGIE_LANG": None}


class Region2:
    def __init__(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "heuvelland"
        shutil.copytree(DATA, self.folder)
        self.config = self.folder / "region.toml"
        self.db = tmp_path / "heuvelland.db"

    def run(self, *args: str, now: str, user: str | None = "regisseur") -> Result:
        env = {**CLEAN_ENV, "REGIE_NOW": now, "REGIE_USER": user}
        result = CliRunner().invoke(cli, ["--db", str(self.db), *args], env=env)
        assert "Traceback" not in result.output + result.stderr
        return result

    def ok(self, *args: str, now: str, user: str | None = "regisseur") -> Result:
        result = self.run(*args, now=now, user=user)
        assert result.exit_code == 0, result.output + result.stderr
        return result

    def read(self, *args: str, now: str = "2027-01-01T12:00") -> Any:
        return json.loads(self.ok(*args, "--json", now=now).stdout)

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.db)) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture
def heuvelland(tmp_path: Path) -> Region2:
    return Region2(tmp_path)


def test_the_config_checks_without_a_database(heuvelland: Region2) -> None:
    r = heuvelland.run("init", "--config", str(heuvelland.config), "--check", now="2026-12-01")
    assert r.exit_code == 0 and r.stderr == "", r.stderr  # valid, and no warnings
    assert not heuvelland.db.exists()
    summary = json.loads(
        heuvelland.run(
            "init", "--config", str(heuvelland.config), "--check", "--json", now="2026-12-01"
        ).stdout
    )
    assert summary["roles"] == {
        "routing_body": "stuurgroep",
        "top_body": "bo",
        "news_bodies": ["werkgroep-jeugd"],
    }
    adoption = summary["workflows"]["adoption"]
    assert adoption["source"].endswith("workflows/adoption.toml")
    assert adoption["route_names"] == ["Werkgroep Jeugd en Onderwijs", "Stuurgroep Jeugd", "BO"]
    assert summary["workflows"]["information"]["source"].endswith("[workflows.information]")


def _meeting(show: dict[str, Any]) -> tuple[str, str]:
    return show["meeting"], show["meeting_starts_at"][:16]


def test_a_proposal_runs_the_regions_own_route(heuvelland: Region2) -> None:
    h = heuvelland
    h.ok("init", "--config", str(h.config), now="2026-12-01T09:00")
    meetings = h.read("meetings", "--all")
    for m in meetings:  # Thursday evenings
        starts = datetime.fromisoformat(m["starts_at"])
        assert (starts.weekday(), starts.hour, starts.minute) == (3, 19, 30), m

    # No --table: the route starts at the region's one working group. The document deadline
    # of 7 working days before 7 January (Christmas and New Year's Day are closed) has passed
    # on 29 December, so the proposal goes to the February meeting.
    h.ok(
        "submit", "--title", "Regionaal beleidskader thuiszitters", "--purpose", "adoption",
        "--party", "bergdorp", "--party", "dalwijk", "--party", "swv-heuvel",
        now="2026-12-29T10:00",
    )  # fmt: skip
    (proposal,) = h.read("list")
    pid = proposal["id"]
    show = h.read("show", pid)
    assert (show["table"], show["state"], show["route"]) == (
        "werkgroep-jeugd",
        "werkgroep",
        ["werkgroep", "stuurgroep", "bo"],
    )
    assert _meeting(show) == ("werkgroep-jeugd-2027-02-04", "2027-02-04T19:30")

    h.ok("advance", pid, now="2027-02-04T20:00")
    assert _meeting(h.read("show", pid)) == ("stuurgroep-2027-02-18", "2027-02-18T19:30")
    # The steering group sets routes; a FoodValley route is refused, naming the region's own.
    r = h.run("route", pid, "table", "chairs", "oogo", now="2027-02-18T20:00")
    assert r.exit_code == 2 and "allowed routes: werkgroep -> stuurgroep -> bo" in r.stderr
    h.ok("advance", pid, now="2027-02-18T20:00")
    show = h.read("show", pid)
    assert (show["state"], *_meeting(show)) == ("bo", "bo-2027-03-11", "2027-03-11T19:30")
    # The steering group sets the BO's agenda: only an approved item is decided there.
    h.ok("agenda", "approve", "bo-2027-03-11", now="2027-02-18T21:00")
    assert h.read("agenda", "bo-2027-03-11")["approval"]["routing_meeting"]["id"] == (
        "stuurgroep-2027-02-18"
    )

    # The SWV's administrator gives a prior position the day before; the aldermen come.
    h.ok(
        "attend", "bo-2027-03-11", "bestuurder-swv", "--prior-position", pid,
        "--stance", "agree", "--position", "agrees", now="2027-03-10T12:00",
    )  # fmt: skip
    h.ok("attend", "bo-2027-03-11", "wethouder-bergdorp", "--present", now="2027-03-11T19:35")

    # Dalwijk has no mandated voice yet: the decision is refused and nothing changes.
    before = h.sql("SELECT COUNT(*) FROM audit_event")
    r = h.run(
        "decide", pid, "--outcome", "adopted", "--text", "Kader vastgesteld.",
        now="2027-03-11T21:00",
    )  # fmt: skip
    assert r.exit_code == 1 and r.stdout == ""
    assert "dalwijk" in r.stderr and "swv-heuvel" not in r.stderr
    assert h.sql("SELECT COUNT(*) FROM audit_event") == before
    assert h.read("show", pid)["state"] == "bo"

    h.ok("attend", "bo-2027-03-11", "wethouder-dalwijk", "--present", now="2027-03-11T19:40")
    h.ok(
        "decide", pid, "--outcome", "adopted", "--text", "Kader vastgesteld.",
        now="2027-03-11T21:00",
    )  # fmt: skip
    assert h.read("show", pid)["state"] == "awaiting_confirmation"
    # The BO's chair confirms the version she read; the coordinator cannot do it for her.
    assert h.run("confirm", pid, "--version", "1", now="2027-03-12T09:00").exit_code == 1
    h.ok("confirm", pid, "--version", "1", now="2027-03-12T09:00", user="wethouder-dalwijk")
    decisions = h.read("show", pid)["decisions"]
    assert [(d["outcome"], d["confirmed_by"]) for d in decisions] == [
        ("adopted", "wethouder-dalwijk")
    ]

    # News of the top meeting goes to the bodies the region names (its working group),
    # but not to the coordinator, who sent it (no one gets a notice of their own action).
    h.ok("news", "bo-2027-03-11", now="2027-03-12T10:00")
    news_to = h.sql("SELECT person_id FROM outbox WHERE kind = 'oogo_news' ORDER BY person_id")
    assert [row[0] for row in news_to] == ["beleid-bergdorp", "beleid-dalwijk", "beleid-swv"]
    assert h.run("news", "stuurgroep-2027-02-18", now="2027-03-12T10:00").exit_code == 2

    # The English reader's notices are in English; everybody else's in Dutch.
    languages = dict(h.sql("SELECT DISTINCT person_id, language FROM outbox"))
    assert languages["bestuurder-swv"] == "en"
    assert {lang for person, lang in languages.items() if person != "bestuurder-swv"} == {"nl"}
    assert h.read("audit", "verify")["ok"] is True
    assert h.read("check")["problems"] == []


def test_information_is_noted_by_the_steering_group(heuvelland: Region2) -> None:
    h = heuvelland
    h.ok("init", "--config", str(h.config), now="2026-12-01T09:00")
    h.ok(
        "submit", "--title", "Monitor 2026", "--purpose", "information", "--party", "dalwijk",
        now="2026-12-01T10:00",
    )  # fmt: skip
    pid = h.read("list")[0]["id"]
    h.ok("advance", pid, now="2027-01-07T20:00")
    show = h.read("show", pid)
    assert (show["state"], show["meeting"]) == ("stuurgroep", "stuurgroep-2027-01-21")
    h.ok("decide", pid, "--outcome", "noted", now="2027-01-21T20:00")
    show = h.read("show", pid)  # information is not a decision: no version, no confirmation
    assert (show["state"], show["decisions"], show["moves_allowed"]) == ("noted", [], [])
    assert h.run("confirm", pid, "--version", "1", now="2027-01-22T09:00").exit_code == 1


def test_every_problem_of_a_broken_second_region_at_once(heuvelland: Region2) -> None:
    h = heuvelland
    text = h.config.read_text(encoding="utf-8")
    text = text.replace('top_body = "bo"', 'top_body = "b0"')
    text = text.replace('chair = "regisseur"', 'chair = "beleid-dalwijk"')
    h.config.write_text(text, encoding="utf-8")
    adoption = h.folder / "workflows" / "adoption.toml"
    adoption.write_text(
        adoption.read_text(encoding="utf-8").replace('body = "bo"', 'body = "bestuurlijk"'),
        encoding="utf-8",
    )
    (h.folder / "workflows" / "adoptoin.toml").write_text("", encoding="utf-8")
    r = h.run("init", "--config", str(h.config), "--check", now="2026-12-01")
    assert r.exit_code == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines[0] == "regie: error: 4 problems; fix each of them:"
    text = "\n".join(lines[1:])
    assert "adoptoin.toml: is not named after a purpose (did you mean 'adoption.toml'?)" in text
    assert "adoption.toml: stages.bo.body: no body with id or kind 'bestuurlijk'" in text
    assert "structure.top_body: unknown body 'b0'; did you mean 'bo'?" in text
    assert "bodies[1].chair: the routing body 'stuurgroep' must be chaired by" in text
    assert not h.db.exists()
