"""The `regie` command through click's CliRunner, and a few flows as a real subprocess."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from regie.cli import cli

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "foodvalley.toml"
NOW = "2026-11-23T10:00"
CLEAN_ENV = {
    "REGIE_DB": None,
    "REGIE_USER": None,
    "REGIE_NOW": None,
    "REGIE_DEBUG": None,
    "REGIE_LANG": None,
}


def run(db: Path | None, *args: str, now: str = NOW, user: str | None = "coordinator") -> Result:
    env = {**CLEAN_ENV, "REGIE_NOW": now, "REGIE_USER": user}
    argv = (["--db", str(db)] if db is not None else []) + list(args)
    result = CliRunner().invoke(cli, argv, env=env)
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def one_error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("regie: error: ")
    assert result.stdout == ""
    return lines[0]


def submit(db: Path, purpose: str = "adoption") -> str:
    r = run(
        db,
        "submit",
        "--title",
        "Regional OZA framework",
        "--purpose",
        purpose,
        "--table",
        "tafel-model",
        "--party",
        "ede",
        "--party",
        "swv-vo",
    )
    assert r.exit_code == 0, r.output
    return r.stdout.split()[0]


def meeting_start(db: Path, pid: str) -> str:
    r = run(db, "show", pid, "--json")
    return json.loads(r.stdout)["meeting_starts_at"]


def body_name(db: Path, kind: str) -> str:
    with closing(sqlite3.connect(db)) as conn:
        return str(conn.execute("SELECT name FROM body WHERE kind = ?", (kind,)).fetchone()[0])


# -- help text ------------------------------------------------------------------------------


def _walk(cmd: click.Command, path: list[str]) -> Iterator[tuple[list[str], click.Command]]:
    yield path, cmd
    if isinstance(cmd, click.Group):  # through the group's API: the root loads lazily
        ctx = click.Context(cmd)
        for name in sorted(cmd.list_commands(ctx)):
            sub = cmd.get_command(ctx, name)
            assert sub is not None, name
            yield from _walk(sub, [*path, name])


COMMANDS = list(_walk(cli, []))


def test_the_walk_finds_the_core_commands():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {
        "init",
        "submit",
        "route",
        "advance",
        "return",
        "defer",
        "withdraw",
        "attend",
        "decide",
        "confirm",
        "show",
        "list",
        "meetings",
        "agenda",
        "audit show",
        "audit verify",
        "demo",
    } <= names


@pytest.mark.parametrize(
    ("path", "cmd"), COMMANDS, ids=[" ".join(p) or "regie" for p, _ in COMMANDS]
)
def test_every_command_has_help(path, cmd):
    assert cmd.get_short_help_str().strip(), f"'regie {' '.join(path)}' has no help text"
    result = run(None, *path, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    assert cmd.get_short_help_str().split()[0] in result.stdout


# -- read commands and --json -----------------------------------------------------------------


def test_every_read_command_emits_json(db_file):
    pid = submit(db_file)
    meeting = json.loads(run(db_file, "show", pid, "--json").stdout)["meeting"]
    reads = {
        "show": ["show", pid],
        "list": ["list"],
        "meetings": ["meetings"],
        "agenda show": ["agenda", meeting],  # `agenda MEETING` is short for `agenda show`
        "people": ["people"],
        "audit show": ["audit", "show", pid],
        "audit verify": ["audit", "verify"],
    }
    by_name = {" ".join(p): c for p, c in COMMANDS}
    for name, args in reads.items():
        assert "as_json" in [p.name for p in by_name[name].params], name
        result = run(db_file, *args, "--json")
        assert result.exit_code == 0, (name, result.output)
        json.loads(result.stdout)
        plain = run(db_file, *args)
        assert plain.exit_code == 0 and plain.stdout.strip(), name
    shown = json.loads(run(db_file, "show", pid, "--json").stdout)
    assert (shown["id"], shown["state"], shown["meeting"]) == (pid, "table", meeting)
    listed = json.loads(run(db_file, "list", "--purpose", "adoption", "--json").stdout)
    assert [r["id"] for r in listed] == [pid]
    assert json.loads(run(db_file, "list", "--state", "decided", "--json").stdout) == []
    agenda = json.loads(run(db_file, "agenda", meeting, "--json").stdout)
    assert agenda["items"][0]["parties"] == ["ede", "swv-vo"]
    assert json.loads(run(db_file, "audit", "verify", "--json").stdout)["ok"] is True


# -- a flow through the CLI -------------------------------------------------------------------


def test_flow_through_the_cli(db_file):
    pid = submit(db_file)
    for stage in ("chairs", "ao", "oogo"):
        before = meeting_start(db_file, pid)
        r = run(db_file, "--lang", "en", "advance", pid, now=before)
        assert r.exit_code == 0, r.output
        shown = json.loads(run(db_file, "show", pid, "--json").stdout)
        assert shown["state"] == stage
        assert r.stdout.startswith(f"{pid} advanced to {body_name(db_file, stage)}, on ")
        assert r.stdout.rstrip().endswith(f"({shown['meeting']})")
    # the chairs' meeting sets the OOGO agenda before the OOGO meets
    assert run(db_file, "agenda", "approve", shown["meeting"], now=before).exit_code == 0
    at = meeting_start(db_file, pid)
    r = run(db_file, "decide", pid, "--outcome", "adopted", "--text", "Adopted.", now=at)
    line = one_error_line(r, 1)
    assert "ede, swv-vo" in line and "--override" in line
    for person in ("ingrid-schouten", "hans-wolters"):
        meeting = json.loads(run(db_file, "show", pid, "--json").stdout)["meeting"]
        r = run(db_file, "attend", meeting, person, "--present", now=at)
        assert r.exit_code == 0, r.output
    r = run(db_file, "--lang", "en", "decide", pid, "--outcome", "adopted", "--text", "Adopted.",
            now=at)  # fmt: skip
    assert r.exit_code == 0 and "; awaiting confirmation" in r.stdout
    assert r.stdout.startswith(f"{pid} decision recorded: adopted, at ")
    r = run(db_file, "confirm", pid, now=at)  # the coordinator is not the OOGO chair
    assert "only the chair of 'oogo' may" in one_error_line(r, 1)
    r = run(
        db_file,
        "--lang",
        "en",
        "confirm",
        pid,
        "--amend",
        "Adopted, with a yearly review.",
        now=at,
        user="sandra-kooiman",
    )
    assert r.exit_code == 0
    assert r.stdout == f"{pid} decision text amended, version 2; awaiting confirmation\n"
    r = run(
        db_file, "--lang", "en", "confirm", pid, "--version", "2", now=at, user="sandra-kooiman"
    )
    assert r.exit_code == 0
    assert r.stdout == f"{pid} decision confirmed: adopted, version 2\n"
    r = run(db_file, "audit", "show", pid, "--json")
    assert [e["action"] for e in json.loads(r.stdout)] == [
        "submitted",
        "advanced",
        "advanced",
        "advanced",
        "decided",
        "amended",
        "confirmed",
    ]
    assert "audit chain intact" in run(db_file, "audit", "verify").stdout


# -- errors ----------------------------------------------------------------------------------


def test_invalid_move_is_one_line_exit_1(db_file):
    pid = submit(db_file)
    line = one_error_line(run(db_file, "advance", pid), 1)
    assert f"{pid} is in state 'table': cannot advance" in line
    assert "moves allowed now:" in line


def test_return_to_a_later_stage_exit_1(db_file):
    pid = submit(db_file)
    line = one_error_line(run(db_file, "return", pid, "--to", "oogo"), 1)
    assert "cannot return to 'oogo'" in line


def test_not_allowed_exit_1(db_file):
    pid = submit(db_file)
    line = one_error_line(run(db_file, "withdraw", pid, "--reason", "x", user="koen-smit"), 1)
    assert "koen-smit may not withdraw" in line


def test_unknown_proposal_exit_1(db_file):
    line = one_error_line(run(db_file, "show", "P-2026-404"), 1)
    assert "P-2026-404" in line


def test_no_actor_is_a_usage_error(db_file):
    line = one_error_line(run(db_file, "advance", "P-2026-001", user=None), 2)
    assert "--as" in line and "REGIE_USER" in line


def test_bad_value_is_a_usage_error_exit_2(db_file):
    r = run(
        db_file,
        "submit",
        "--title",
        "x",
        "--purpose",
        "adoption",
        "--table",
        "ao",
        "--party",
        "ede",
    )
    assert "'ao' is not where adoption proposals start" in one_error_line(r, 2)


def test_bad_regie_now_exit_2(db_file):
    assert "REGIE_NOW" in one_error_line(run(db_file, "list", now="yesterday"), 2)


def test_click_usage_error_exit_2(db_file):
    line = one_error_line(run(db_file, "submit", "--purpose", "adoption"), 2)
    assert "Missing option '--title'" in line
    assert "no-such-command" in one_error_line(run(db_file, "no-such-command"), 2)
    assert "--bogus" in one_error_line(run(db_file, "--bogus", "list"), 2)


def test_missing_choice_option_is_one_line(db_file):
    one_error_line(run(db_file, "submit", "--title", "x"), 2)


def test_missing_database_tells_to_run_init(tmp_path):
    line = one_error_line(run(tmp_path / "none.db", "list"), 3)
    assert "regie init --config FILE" in line


def test_init_with_a_bad_config_exits_2_and_creates_no_tables(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        CONFIG.read_text(encoding="utf-8").replace(
            'chair = "thijs-veldhuizen"', 'chair = "nobody-here"', 1
        ),
        encoding="utf-8",
    )
    bad_too = CONFIG.read_text(encoding="utf-8").replace(
        'email = "mirjam.verhoef@foodvalley.example.org"', 'email = "mirjam"'
    )
    db = tmp_path / "new.db"
    r = run(db, "init", "--config", str(bad))
    assert r.exit_code == 2 and r.stdout == ""
    head, *lines = r.stderr.strip().splitlines()
    assert head == "regie: error: 2 problems; fix each of them:"
    assert [line.split(": ")[3] for line in lines] == ["bodies[3].chair", "bodies[3].chair"]
    assert all(line.startswith(f"regie: error: {bad}: ") for line in lines)
    assert "unknown person 'nobody-here'" in lines[0] and "not a member" in lines[1]
    bad.write_text(bad_too, encoding="utf-8")
    line = one_error_line(run(db, "init", "--config", str(bad), "--check"), 2)
    assert "people[0].email" in line
    if db.exists():
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_init_with_a_missing_config_exits_2(tmp_path):
    line = one_error_line(run(tmp_path / "x.db", "init", "--config", str(tmp_path / "no.toml")), 2)
    assert "file not found" in line


def test_audit_verify_names_the_tampered_event(db_file):
    pid = submit(db_file)
    run(db_file, "advance", pid, now=meeting_start(db_file, pid))
    with closing(sqlite3.connect(db_file)) as conn:
        victim = conn.execute("SELECT id FROM audit_event WHERE action = 'submitted'").fetchone()[0]
        conn.execute("DROP TRIGGER audit_event_no_update")
        conn.execute("UPDATE audit_event SET actor = 'someone-else' WHERE id = ?", (victim,))
        conn.commit()
    line = one_error_line(run(db_file, "audit", "verify"), 1)
    assert f"audit chain broken at event {victim}:" in line
    r = run(db_file, "audit", "verify", "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["bad_event"] == victim


# -- a real subprocess ------------------------------------------------------------------------


def _regie_executable() -> list[str]:
    script = Path(sys.executable).parent / "regie"
    assert script.exists(), script
    return [str(script)]


def test_flow_as_a_real_subprocess(tmp_path):
    db = tmp_path / "sub.db"
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update({"REGIE_NOW": NOW, "REGIE_USER": "coordinator"})

    def regie(*args: str, now: str = NOW) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_regie_executable(), "--db", str(db), *args],
            text=True,
            capture_output=True,
            env={**env, "REGIE_NOW": now},
            timeout=60,
            check=False,
        )

    r = regie("init", "--config", str(CONFIG))
    assert r.returncode == 0, r.stderr
    r = regie(
        "submit",
        "--title",
        "Dashboard",
        "--purpose",
        "information",
        "--table",
        "tafel-monitor",
        "--party",
        "wageningen",
    )
    assert r.returncode == 0, r.stderr
    pid = r.stdout.split()[0]
    shown = json.loads(regie("show", pid, "--json").stdout)
    assert (shown["state"], shown["meeting"]) == ("table", "tafel-monitor-2026-12-10")
    r = regie("--lang", "en", "advance", pid, now=shown["meeting_starts_at"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        f"{pid} advanced to Regionaal voorzittersoverleg, on Thursday 17 December 2026, 09:30 "
        "(voorzitters-2026-12-17)\n"
    )
    r = regie("audit", "verify")
    assert r.returncode == 0 and "audit chain intact: 3 events" in r.stdout


def test_serve_refuses_to_start_without_the_secret(tmp_path: Path) -> None:
    """Links cannot be signed or checked without the database's secret: no server."""
    db = tmp_path / "r.db"
    assert run(db, "init", "--config", str(CONFIG)).exit_code == 0
    Path(f"{db}.key").unlink()
    line = one_error_line(run(db, "serve", "--port", "1"), 2)
    assert "needs the database's secret" in line and "REGIE_SECRET" in line
    assert f"{db}.key" in line
