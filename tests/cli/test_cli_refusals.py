"""Honest refusals (issue #14): bad input is one line with the documented exit code, and a
refused command changes nothing — no row, no event, no file."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from regie.cli import cli

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "foodvalley.toml"
REGIE = Path(sys.executable).parent / "regie"
NOW = "2026-11-23T10:00"
CLEAN = {"REGIE_DB": None, "REGIE_DEBUG": None, "REGIE_LANG": None, "REGIE_KEY_FILE": None}


def run(db: Path | str, *args: str, user: str | None = "coordinator", now: str = NOW) -> Result:
    env = {**CLEAN, "REGIE_NOW": now, "REGIE_USER": user}
    result = CliRunner().invoke(cli, ["--db", str(db), *args], env=env)
    assert "Traceback" not in result.output + result.stderr
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def ok(db: Path, *args: str, **kw: str | None) -> Result:
    result = run(db, *args, **kw)  # type: ignore[arg-type]
    assert result.exit_code == 0, (args, result.output)
    return result


def error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("regie: error: "), result.stderr
    return lines[0]


def digest(db: Path) -> str:
    """The database's content (every table), to prove a refusal wrote nothing."""
    with closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        h = hashlib.sha256()
        for t in sorted(tables):
            h.update(repr(conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall()).encode())
    return h.hexdigest()


def submit(db: Path, title: str = "Regional OZA framework", **kw: str | None) -> str:
    r = ok(db, "submit", "--title", title, "--purpose", "adoption", "--table", "tafel-model",
           "--party", "ede", **kw)  # fmt: skip
    return r.stdout.split()[0]


# -- arguments that are not UTF-8 ---------------------------------------------------------


def test_an_argument_that_is_not_utf8_is_a_usage_error_in_a_real_process(
    db_file: Path, tmp_path: Path
) -> None:
    """Was exit 70 (UnicodeEncodeError). The real console script, bytes as a shell passes
    them."""
    before = digest(db_file)
    (tmp_path / "new").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    env.update(REGIE_NOW=NOW, REGIE_USER="coordinator", LANG="C.UTF-8")
    for args in ([b"show", b"P-2026-\xff"],
                 [b"submit", b"--title", b"caf\xe9", b"--purpose", b"adoption", b"--table",
                  b"tafel-model", b"--party", b"ede"],
                 [b"--db", str(tmp_path / "new").encode() + b"/\xff.db", b"list"]):  # fmt: skip
        argv = [os.fsencode(REGIE), b"--db", os.fsencode(db_file), *args]
        if args[0] == b"--db":
            argv = [os.fsencode(REGIE), *args]
        r = subprocess.run(argv, env=env, capture_output=True, timeout=60, check=False)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and "is not valid UTF-8 text" in lines[0], lines
        assert "\\xff" in lines[0] or "\\xe9" in lines[0]  # the bytes, shown escaped
    assert digest(db_file) == before
    assert list((tmp_path / "new").iterdir()) == []  # no database file was made either


def test_environment_values_that_are_not_utf8(db_file: Path) -> None:
    r = CliRunner().invoke(cli, ["--db", str(db_file), "list"],
                           env={**CLEAN, "REGIE_USER": "co\udcffordinator"})  # fmt: skip
    assert "REGIE_USER is not valid UTF-8 text" in error_line(r, 2)
    r = CliRunner().invoke(cli, ["list"], env={**CLEAN, "REGIE_DB": "x\udcff.db"})
    assert "REGIE_DB is not valid UTF-8 text" in error_line(r, 2)


# -- database URLs and missing databases ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://admin:s3cret@db.example/regie", "does not work with mysql databases"),
        ("postgresql+nodriver://db.example/regie", "unknown PostgreSQL driver"),
        ("://nothing", "not a database URL"),
    ],
)
def test_a_database_url_regie_cannot_use(url: str, says: str) -> None:
    """mysql:// was exit 70 (ModuleNotFoundError: MySQLdb)."""
    line = error_line(run(url, "list"), 2)
    assert says in line and "postgresql+psycopg://" in line
    assert "s3cret" not in line


def test_a_database_path_with_a_question_mark_is_refused_and_nothing_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL sqlite:///x?y.db opened the file 'x' (the rest is its query): init made 'x',
    an empty 'x?y.db' and the key 'x?y.db.key'."""
    monkeypatch.chdir(tmp_path)
    config = Path(__file__).resolve().parents[2] / "config" / "foodvalley.toml"
    line = error_line(run("x?y.db", "init", "--config", str(config)), 2)
    assert "x?y.db: a '?' in the database's path is not supported" in line
    assert list(tmp_path.iterdir()) == []


READS = [["list"], ["show", "P-2026-001"], ["meetings"], ["people"], ["check"],
         ["audit", "verify"], ["audit", "show", "P-2026-001"], ["outbox"],
         ["agenda", "oogo-2027-01-28"], ["db", "backup", "copy.db"],
         ["submit", "--title", "x", "--purpose", "adoption", "--party", "ede"]]  # fmt: skip


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a[:2]))
def test_a_command_on_a_missing_database_creates_no_file(
    tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # `db backup copy.db` would write here
    missing = tmp_path / "nothing-here.db"
    line = error_line(run(missing, *args), 3)
    assert f"{missing}: no regie database here yet; run 'regie init" in line
    assert list(tmp_path.iterdir()) == []


def test_init_of_a_config_that_never_ends_stops_with_an_error(tmp_path: Path) -> None:
    """`init --config /dev/zero` read forever (and a pipe nobody writes to blocked)."""
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    for config, says in (("/dev/zero", "is larger than 1 MB"), (str(fifo), "missing")):
        r = subprocess.run(
            [str(REGIE), "--db", str(tmp_path / "r.db"), "init", "--config", config],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert r.returncode == 2, r.stderr
        assert says in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r.db").exists()


# -- outbox retry and cancel: an identity, an audit event ----------------------------------


def _outbox_rows(db: Path) -> list[tuple[int, str]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT id, status FROM outbox ORDER BY id").fetchall()


def _events(db: Path, action: str) -> list[tuple[str, dict[str, object]]]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT actor, payload FROM audit_event WHERE action = ? ORDER BY id", (action,)
        ).fetchall()
    return [(actor, json.loads(payload)) for actor, payload in rows]


def test_outbox_retry_and_cancel_need_an_identity_and_leave_an_audit_event(db_file: Path) -> None:
    submit(db_file)
    row = _outbox_rows(db_file)[0][0]
    before = digest(db_file)
    assert "who is acting?" in error_line(run(db_file, "outbox", "cancel", str(row), user=None), 2)
    line = error_line(run(db_file, "outbox", "cancel", str(row), user="sandra-kooiman"), 1)
    assert "only the network coordinator" in line
    assert digest(db_file) == before
    assert "cancelled (was queued)" in ok(db_file, "outbox", "cancel", str(row)).stdout
    assert _events(db_file, "outbox_cancelled") == [
        ("coordinator", {"rows": [row], "from": "queued"})
    ]
    before = digest(db_file)
    error_line(run(db_file, "outbox", "retry", str(row), user=None), 2)
    assert digest(db_file) == before
    assert ok(db_file, "outbox", "retry", str(row)).stdout.startswith("1 row queued again")
    assert _events(db_file, "outbox_retried") == [
        ("coordinator", {"rows": [row], "from": "cancelled"})
    ]
    assert ok(db_file, "outbox", "retry", "--all-failed").stdout.startswith("0 rows")
    assert len(_events(db_file, "outbox_retried")) == 1  # nothing changed, nothing recorded
    ok(db_file, "check")


# -- attend: one status --------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["--present", "--absent"],
        ["--expected", "--present"],
        ["--absent", "--substitute-for", "coordinator"],
        ["--present", "--prior-position", "P-2026-001", "--stance", "agree"],
        ["--stance", "agree"],
        ["--absent", "--position", "later"],
    ],  # fmt: skip
)
def test_attend_with_contradicting_flags_is_a_usage_error(db_file: Path, flags: list[str]) -> None:
    """`--present --absent` used to record the last one silently."""
    submit(db_file)
    before = digest(db_file)
    line = error_line(run(db_file, "attend", "tafel-model-2026-12-08", "coordinator", *flags), 2)
    assert "--" in line and "attend --help" in line
    assert digest(db_file) == before


# -- list filters, outbox pages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["list", "--state", "awaiting-confirmation"],
            "--state 'awaiting-confirmation': there is no such state; did you mean "
            "'awaiting_confirmation'? use one of: ao, awaiting_confirmation, chairs, decided",
        ),
        (
            ["list", "--party", "nobody"],
            "--party 'nobody': there is no such party; use one of: barneveld, ede,",
        ),
        (["list", "--stage", "tabel"], "did you mean 'table'?"),
        (["list", "--body", "nowhere", "--json"], "use one of: ao, lea-barneveld"),
        (["meetings", "--body", "nowhere"], "--body 'nowhere': there is no such body"),
        (
            ["outbox", "--person", "nobody"],
            "--person 'nobody': there is no such person; see 'regie people'",
        ),
        (["outbox", "--kind", "submited"], "did you mean 'submitted'?"),
        (["outbox", "--proposal", "P-2099-001"], "there is no such proposal; see 'regie list'"),
        (["audit", "search", "thuiszitters", "--party", "nobody"],
         "--party 'nobody': there is no such party; use one of: barneveld, ede,"),
        (["audit", "decisions", "--outcome", "adoptd"], "did you mean 'adopted'?"),
    ],  # fmt: skip
)
def test_a_filter_with_an_unknown_value_names_the_valid_ones(
    db_file: Path, args: list[str], says: str
) -> None:
    assert says in error_line(run(db_file, *args), 2)


def test_submit_to_an_unknown_party_names_the_regions_parties(db_file: Path) -> None:
    before = digest(db_file)
    line = error_line(run(db_file, "submit", "--title", "Zomerschool", "--purpose", "adoption",
                          "--table", "tafel-model", "--party", "atlantis"), 2)  # fmt: skip
    assert "unknown party 'atlantis'; the region's parties: barneveld, ede," in line
    assert digest(db_file) == before


def test_outbox_json_says_when_it_truncated(db_file: Path) -> None:
    submit(db_file)
    total = len(_outbox_rows(db_file))
    assert total > 2
    page = json.loads(ok(db_file, "outbox", "--json", "--limit", "2").stdout)
    assert (page["total"], page["limit"], page["truncated"], len(page["rows"])) == (
        total, 2, True, 2
    )  # fmt: skip
    assert [r["id"] for r in page["rows"]] == [total, total - 1]  # newest first
    whole = json.loads(ok(db_file, "outbox", "--json").stdout)
    assert (whole["total"], whole["truncated"], len(whole["rows"])) == (total, False, total)
    table = ok(db_file, "outbox", "--limit", "1").stdout
    assert f"the newest 1 of {total} rows; --limit N shows more" in table
    assert "Invalid value" in error_line(run(db_file, "outbox", "--limit", "0"), 2)


# -- proposal ids past 999 -----------------------------------------------------------------


def test_proposal_ids_sort_numerically_past_999(db_file: Path) -> None:
    with closing(sqlite3.connect(db_file)) as conn:
        conn.execute("INSERT INTO counter (name, value) VALUES ('proposal-2026', 998)")
        conn.commit()
    made = [submit(db_file, f"Item {i}") for i in range(3)]
    assert made == ["P-2026-999", "P-2026-1000", "P-2026-1001"]
    listed = [r["id"] for r in json.loads(ok(db_file, "list", "--json").stdout)]
    # newest first; submitted at the same moment, the higher number first (text order
    # would put P-2026-999 first)
    assert listed == made[::-1]
    table = ok(db_file, "list").stdout
    assert table.index("P-2026-1001") < table.index("P-2026-1000") < table.index("P-2026-999")
