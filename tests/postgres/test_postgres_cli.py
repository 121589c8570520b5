"""Every `regie` command on the real PostgreSQL server (127.0.0.1:5432), through the CLI.

`regie init` run twice used to end in exit 70 here (PostgreSQL hands back timezone-aware
times: "can't compare offset-naive and offset-aware datetimes"). Each command runs once
with sensible arguments, then the generated argument lists of the CLI fuzz test: never a
traceback or an internal error, one error line and a documented exit code. Outside CI a
missing server skips these tests; in CI (env CI=true) it fails them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import example, given

from regie.cli import cli
from reliability import driver as d
from reliability.budget import FUZZ_CLI_POSTGRES
from reliability.cli_fuzzing import COMMANDS, argv, assert_clean
from reliability.fuzzing import fuzz_settings

pytestmark = pytest.mark.postgres
SECRET = "5e" * 32  # the audit key of these databases (REGIE_SECRET)
LATER = "2027-03-01T10:00"  # after the whole scenario


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory: pytest.TempPathFactory, pg_scratch: Any) -> Iterator[str]:
    """A fresh database on the server, with the scenario of the fuzz tests loaded through
    the CLI (its audit key in REGIE_SECRET); the working directory is a temporary folder."""
    with pg_scratch("regie_cli") as url, pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("pg-cli"))
        _scenario(url)
        yield url


def run(url: str, args: list[str], now: str = LATER, user: str = d.COORDINATOR) -> d.Outcome:
    env = {"REGIE_NOW": now, "REGIE_USER": user, "REGIE_DB": None, "REGIE_DEBUG": None,
           "REGIE_LANG": None, "REGIE_SECRET": SECRET, "REGIE_KEY_FILE": None}  # fmt: skip
    result = CliRunner().invoke(cli, ["--db", url, *args], env=env)
    crashed = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crashed = repr(result.exception)
    return d.Outcome(result.exit_code, result.stdout, result.stderr, crashed)


def _ok(url: str, args: list[str], now: str = d.START, user: str = d.COORDINATOR) -> str:
    out = run(url, args, now=now, user=user)
    assert out.code == 0, (args, out)
    return out.stdout


def _meeting_of(url: str, pid: str) -> tuple[str, str]:
    """The proposal's meeting and a minute after its start."""
    shown = json.loads(_ok(url, ["show", pid, "--json"], now=LATER))
    starts = datetime.fromisoformat(shown["meeting_starts_at"]).replace(tzinfo=None)
    return shown["meeting"], (starts + timedelta(minutes=1)).isoformat(timespec="minutes")


def _scenario(url: str) -> None:
    """P-2026-001 adopted and confirmed at the OOGO; P-2026-002 (information) and
    P-2026-003 at their table (times only move forward: regie refuses an event dated
    before the last one)."""
    for _ in range(2):  # the second init was exit 70
        _ok(url, ["init", "--config", str(d.CONFIG)])
    for title, purpose in (
        ("Decided", "adoption"),
        ("Routed", "information"),
        ("Open", "adoption"),
    ):
        _ok(url, ["submit", "--title", title, "--purpose", purpose, "--table", "tafel-model",
                  "--party", "ede", "--party", "barneveld"])  # fmt: skip
    for _ in range(3):
        _, at = _meeting_of(url, "P-2026-001")
        _ok(url, ["advance", "P-2026-001"], now=at)
    oogo, starts = _meeting_of(url, "P-2026-001")
    _ok(url, ["agenda", "approve", oogo], now=at)
    for move in ("decide", "confirm"):
        args, user = d.move_args(move, "P-2026-001", "adoption", version=1)
        _ok(url, args, now=starts, user=user)


def test_init_twice_on_postgres_reports_no_change(pg_url: str) -> None:
    out = run(pg_url, ["init", "--config", str(d.CONFIG), "--json"])
    assert out.code == 0, out
    assert '"meetings_changed": 0' in out.stdout and '"meetings_added": 0' in out.stdout


MEETING = "tafel-model-2026-12-08"  # where P-2026-002 and P-2026-003 were placed
HAPPY: dict[tuple[str, ...], list[str]] = {
    ("docs",): [],  # first: P-2026-003 is still on MEETING
    ("docs", "add"): ["P-2026-003", "--url", "https://example.org/notitie.pdf"],
    ("docs", "list"): ["P-2026-003", "--json"],
    ("exception",): ["P-2026-003", "--meeting", MEETING, "--reason", "stukken volgen"],
    ("feasibility",): ["P-2026-003", "--party", "ede", "--feasible", "--text", "past"],
    ("advance",): ["P-2026-003"],
    ("agenda",): [],
    ("agenda", "approve"): ["oogo-2027-04-22"],
    ("agenda", "show"): [MEETING],
    ("attend",): ["voorzitters-2027-03-11", "coordinator", "--expected"],
    ("audit",): [],
    ("audit", "anchor"): [],
    ("audit", "show"): ["P-2026-001"],
    ("audit", "verify"): [],
    ("audit", "search"): ["voorstel", "--json"],
    ("audit", "decisions"): ["--json"],
    ("audit", "history"): ["P-2026-001", "--json"],
    ("audit", "as-of"): ["2026-12-01", "P-2026-001", "--json"],
    ("audit", "export"): ["P-2026-001"],
    ("audit", "check-dossier"): ["missing.json"],
    ("check",): ["--json"],
    ("confirm",): ["P-2026-001", "--version", "1"],
    ("db",): [],
    ("db", "backup"): ["copy.db"],
    ("decide",): ["P-2026-002", "--outcome", "noted"],
    ("defer",): ["P-2026-003", "--reason", "more time"],
    ("due",): ["--days", "30", "--json"],
    ("init",): ["--config", str(d.CONFIG), "--check"],
    ("list",): ["--state", "table", "--party", "ede", "--json"],
    ("meetings",): ["--all", "--limit", "5"],
    ("news",): ["oogo-2027-01-28"],
    ("outbox",): ["--json", "--limit", "3"],
    ("outbox", "cancel"): ["1"],
    ("outbox", "retry"): ["--all-failed"],
    ("parties",): ["P-2026-003", "--add", "rhenen", "--reason", "concerned too"],
    ("people",): [],
    ("publish",): ["voorzitters-2027-03-11"],
    ("return",): ["P-2026-003", "--to", "table", "--reason", "more work"],
    ("route",): ["P-2026-002", "table", "chairs"],
    ("show",): ["P-2026-001", "--json"],
    ("submit",): ["--title", "New", "--purpose", "advice", "--table", "tafel-model",
                  "--party", "ede", "--addressee", "body:oogo"],  # fmt: skip
    ("withdraw",): ["P-2026-003", "--reason", "superseded"],
}


def test_every_command_runs_cleanly_on_postgres(pg_url: str) -> None:
    assert set(COMMANDS) <= set(HAPPY), sorted(set(COMMANDS) - set(HAPPY))
    for path, args in HAPPY.items():
        if path in COMMANDS:
            assert_clean([*path, *args], run(pg_url, [*path, *args]))
    out = run(pg_url, ["db", "backup", "copy.db"])
    assert out.code == 2 and "pg_dump" in out.stderr  # PostgreSQL has its own tool
    assert not Path("copy.db").exists()
    assert run(pg_url, ["check"]).code == 0


@fuzz_settings(FUZZ_CLI_POSTGRES)
@given(argv())
@example(["advance", "\x00"])  # found: exit 70 (DataError: text fields cannot contain NUL)
def test_generated_arguments_on_postgres(pg_url: str, args: list[str]) -> None:
    assert_clean(args, run(pg_url, args))
