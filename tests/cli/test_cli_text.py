"""Text people type (issue #14): control characters (ESC, BEL, bidi overrides…) are refused
on input with a message naming the input and the position; nothing regie prints carries
them raw, also for data that holds them already; summaries and document lists have
limits."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from regie import text_input
from regie.cli import cli
from regie.engine import attendance, decisions, moves, parties
from regie.errors import UsageError

NOW = "2026-11-23T10:00"
# what a terminal acts on: C0 but tab and LF, DEL, C1, bidi overrides, surrogates, U+2028/9
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
EVIL = ["\x1b[31m", "\x07", "\u202e", "\x9b", "\x00", "\u2066", "\x7f"]


def run(db: Path, *args: str) -> Result:
    env = {"REGIE_DB": None, "REGIE_DEBUG": None, "REGIE_LANG": "en", "REGIE_NOW": NOW,
           "REGIE_USER": "coordinator"}  # fmt: skip
    result = CliRunner().invoke(cli, ["--db", str(db), *args], env=env)
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def submit_args(title: str, *more: str) -> list[str]:
    return ["submit", "--title", title, "--purpose", "adoption", "--table", "tafel-model",
            "--party", "ede", *more]  # fmt: skip


@pytest.mark.parametrize("bad", EVIL)
@pytest.mark.parametrize(
    ("option", "what"),
    [
        ("--title", "the title (--title)"),
        ("--summary", "the summary (--summary)"),
        ("--doc", "link 1 (--doc)"),
    ],  # fmt: skip
)
def test_submit_refuses_control_characters(db_file: Path, bad: str, option: str, what: str) -> None:
    args = submit_args("A title") if option != "--title" else submit_args(f"ab{bad}c")
    if option != "--title":
        args += [option, f"ab{bad}c"]
    r = run(db_file, *args)
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.strip().splitlines()
    if bad == "\x00":  # refused with the command line, before any service
        assert "('ab\\x00c') contains a NUL character; remove it" in line
    else:
        assert line.startswith(f"regie: error: {what} contains ") and "at character 3" in line
    assert "remove it" in line and not RAW.search(line)  # the message shows it escaped
    with closing(sqlite3.connect(db_file)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM proposal").fetchone() == (0,)


def test_line_breaks_and_tabs_are_cleaned_not_refused(db_file: Path) -> None:
    r = run(db_file, *submit_args(" A\r\nB\tC\u2028D ", "--summary", " one\r\ntwo\rthree\t. \n"))
    assert r.exit_code == 0, r.output
    shown = json.loads(run(db_file, "show", r.stdout.split()[0], "--json").stdout)
    assert (shown["title"], shown["summary"]) == ("A B C D", "one\ntwo\nthree\t.")


def test_summary_and_document_lists_have_limits(db_file: Path) -> None:
    long = "x" * (text_input.SUMMARY_MAX + 1)
    r = run(db_file, *submit_args("T", "--summary", long))
    assert "the summary (--summary) is 5001 characters long; shorten it to at most 5000" in (
        r.stderr
    )
    docs = [a for i in range(text_input.LINKS_MAX + 1) for a in ("--doc", f"https://d/{i}")]
    r = run(db_file, *submit_args("T", *docs))
    assert r.exit_code == 2 and "21 links to documents (--doc); give at most 20" in r.stderr
    r = run(db_file, *submit_args("T", "--doc", "https://d/" + "x" * text_input.LINK_MAX))
    assert r.exit_code == 2 and "link 1 (--doc) is 2010 characters long" in r.stderr
    r = run(db_file, *submit_args("T", "--summary", "y" * text_input.SUMMARY_MAX))
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda w, pid, t: w.call(moves.withdraw, proposal_id=pid, reason=t), "the reason"),
        (lambda w, pid, t: w.call(moves.defer, proposal_id=pid, reason=t), "the reason"),
        (
            lambda w, pid, t: w.call(
                parties.correct_parties, proposal_id=pid, add=["rhenen"], reason=t
            ),
            "the reason",
        ),  # fmt: skip
        (
            lambda w, pid, t: w.call(decisions.decide, proposal_id=pid, outcome="adopted", text=t),
            "the decision text",
        ),  # fmt: skip
        (
            lambda w, pid, t: w.call(
                decisions.decide, proposal_id=pid, outcome="adopted", text="ok", dissent=t
            ),
            "the dissent",
        ),  # fmt: skip
        (
            lambda w, pid, t: w.call(
                decisions.decide, proposal_id=pid, outcome="adopted", text="ok", override=t
            ),
            "the override reason",
        ),  # fmt: skip
        (
            lambda w, pid, t: w.call(
                attendance.record_prior_position,
                meeting_id="x",
                proposal_id=pid,
                person="coordinator",
                stance="agree",
                position=t,
            ),
            "the position",
        ),  # fmt: skip
    ],
)
def test_every_text_a_service_stores_is_checked(world, call, what) -> None:  # type: ignore[no-untyped-def]
    pid = world.submit()
    before = world.snapshot()
    with pytest.raises(UsageError, match=f"^{what} .*contains the text-direction control U\\+202E"):
        call(world, pid, "fine until \u202e here")
    assert world.snapshot() == before


def _plant(db: Path, title: str, name: str) -> str:
    """Data from before these checks (or written around regie) with raw control codes."""
    r = run(db, *submit_args("plain"))
    pid = r.stdout.split()[0]
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE proposal SET title = ? WHERE id = ?", (title, pid))
        conn.execute("UPDATE body SET name = ? WHERE id = 'tafel-model'", (name,))
        conn.commit()
    return pid


def test_nothing_is_printed_raw_to_a_terminal(db_file: Path) -> None:
    """Tables (rich), plain lines and JSON: control codes escaped, rich markup and emoji
    codes shown as typed (a title '[/x]' was an internal error: MarkupError)."""
    title = "a\x1b]0;owned\x07b [/x] [bold]c :warning: \u202edlrow\x9b2J"
    name = "Tafel\x1b[2J \u2066Model"
    pid = _plant(db_file, title, name)
    outputs = {
        "list": run(db_file, "list"),
        "list --json": run(db_file, "list", "--json"),
        "show": run(db_file, "show", pid),
        "show --json": run(db_file, "show", pid, "--json"),
        "meetings": run(db_file, "meetings", "--body", "tafel-model"),
        "agenda": run(db_file, "agenda", "tafel-model-2026-12-08"),
        "audit show": run(db_file, "audit", "show", pid),
    }
    for what, r in outputs.items():
        assert r.exit_code == 0, (what, r.output)
        assert not RAW.search(r.stdout), (what, r.stdout)
    assert all(word in outputs["list"].stdout for word in ("[/x]", "[bold]c", ":warning:"))
    assert "a\\x1b]0;owned\\x07b [/x] [bold]c :warning: \\u202edlrow\\x9b2J" in (
        outputs["show"].stdout
    )
    listed = json.loads(outputs["list --json"].stdout)
    assert [p["title"] for p in listed if p["id"] == pid] == [title]  # JSON reads back exactly
    unknown = run(db_file, "show", "P-\x1b[2J\u202e")
    assert unknown.exit_code == 1 and not RAW.search(unknown.stderr)
