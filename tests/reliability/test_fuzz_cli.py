"""Generated argument lists for every command, and proposal texts through submit.

The property: never a traceback, exit code 0, 1, 2 or 3, and a refusal is one
"regie: error:" line. Good titles and summaries are stored exactly as normalised.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from regie.cli import cli
from regie.engine.moves import TITLE_MAX
from reliability import driver as d
from reliability.budget import FUZZ_CLI_ARGS, FUZZ_CLI_VALUES, FUZZ_TEXTS
from reliability.fuzzing import fuzz_settings, nasty_text

# long-running or networked: the demo, the mail sink server, the sender (SMTP, --watch)
SKIP = {("demo",), ("mail-sink",), ("send",)}


def commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        if (*path, name) in SKIP:
            continue
        yield (*path, name), cmd
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*path, name))


COMMANDS = dict(commands(cli))
GROUPS = {path for path, cmd in COMMANDS.items() if isinstance(cmd, click.Group)}
IDS = [
    "P-2026-001",
    "P-2026-002",
    "P-2026-999",
    "P-1",
    "tafel-model",
    "oogo-2027-01-28",
    "ao-2027-01-07",
    "coordinator",
    "sandra-kooiman",
    "ede",
    "table",
    "chairs",
    "ao",
    "oogo",
    "adoption",
    "adopted",
    "noted",
    "sp1",
    "",
    "-",
    "--",
    "0",
    "-1",
    "9" * 30,
]


def options(cmd: click.Command) -> list[str]:
    return sorted(
        {o for p in cmd.params if isinstance(p, click.Option) for o in p.opts}
        | {"--help", "--json"}
    )


@st.composite
def argv(draw: st.DrawFn) -> list[str]:
    path = draw(st.sampled_from(sorted(COMMANDS)))
    token = st.one_of(st.sampled_from(options(COMMANDS[path])), st.sampled_from(IDS), nasty_text)
    return [*path, *draw(st.lists(token, max_size=7))]


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory, scenario_template: Path) -> Iterator[Path]:
    """One database for the whole module, in a folder that is also the working directory
    (commands that write files, like `db backup`, write there)."""
    folder = tmp_path_factory.mktemp("fuzz")
    db = folder / "regie.db"
    shutil.copyfile(scenario_template, db)
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield db
    finally:
        os.chdir(old)


def assert_clean(args: list[str], out: d.Outcome) -> None:
    if tuple(args) in GROUPS and out.code == 2 and out.stderr.startswith("Usage:"):
        return  # a group without its command prints its help
    assert not out.bad, (args, out.bad, out.stdout[-500:], out.stderr[-500:])


@fuzz_settings(FUZZ_CLI_ARGS)
@given(argv())
@example(["attend", "ao-2027-01-07", "coordinator"])
@example(
    [
        "submit",
        "--title",
        "x",
        "--purpose",
        "adoption",
        "--table",
        "tafel-model",
        "--party",
        "ede",
        "--focus",
        "sp9",
    ]
)
@example(["meetings", "--limit", "-1"])
@example(["db", "backup", "\x00"])  # found by this test: was an internal error
@example(["outbox", "cancel", "9" * 30])  # found: OverflowError, an internal error
@example(["init", "--config", "\r\n"])  # found: the error message spanned two lines
@example(["db", "backup", "\x07\u2028"])  # found: U+2028 split the message
def test_generated_arguments(fuzz_db: Path, args: list[str]) -> None:
    assert_clean(args, d.run(fuzz_db, args))


TEMPLATES = [
    ["show", "{0}"],
    ["show", "{0}", "--json"],
    ["advance", "{0}"],
    ["advance", "P-2026-005", "--meeting", "{0}"],
    ["return", "P-2026-004", "--to", "{0}"],
    ["defer", "{0}", "--reason", "{1}"],
    ["withdraw", "P-2026-004", "--reason", "{0}"],
    ["decide", "P-2026-005", "--outcome", "{0}", "--text", "{1}"],
    ["confirm", "P-2026-002", "--amend", "{0}"],
    ["attend", "{0}", "{1}", "--present"],
    ["attend", "oogo-2027-01-28", "coordinator", "--prior-position", "{0}", "--stance", "agree",
     "--position", "{1}"],
    ["route", "P-2026-005", "{0}", "{1}"],
    ["list", "--state", "{0}"],
    ["list", "--party", "{0}", "--json"],
    ["meetings", "--body", "{0}"],
    ["agenda", "{0}"],
    ["audit", "show", "{0}"],
    ["db", "backup", "{0}"],
    ["init", "--config", "{0}"],
    ["--db", "{0}", "list"],
]


@fuzz_settings(FUZZ_CLI_VALUES)
@given(
    st.sampled_from(TEMPLATES),
    nasty_text,
    st.one_of(st.sampled_from(IDS), nasty_text),
    st.sampled_from([d.COORDINATOR, "sandra-kooiman", "nobody", ""]),
    st.sampled_from([d.START, "2027-06-01T12:00", "not a time", "2027-13-01"]),
)
@example(["show", "{0}"], "P-2026-001", "", "coordinator", "garbage")
@example(["--db", "{0}", "list"], "~0", "", "coordinator", d.START)  # found: RuntimeError
def test_generated_values(
    fuzz_db: Path, template: list[str], a: str, b: str, user: str, now: str
) -> None:
    args = [t.format(a, b) for t in template]
    if args[0] == "--db" and not a.strip():
        args = args[2:]
    assert_clean(args, d.run(fuzz_db, args, user=user, now=now))


long_text = st.integers(TITLE_MAX - 2, TITLE_MAX + 2).map(lambda n: "é" * n)


@fuzz_settings(FUZZ_TEXTS)
@given(st.one_of(nasty_text, long_text), st.one_of(nasty_text, st.just("x" * 20_000)))
@example("A\r\nB\tC", " keep\r\n inner\nlines ")
@example("\u202eevil\u202c title", "שלום \u0301")
@example("\x00", "")
def test_titles_and_summaries(fuzz_db: Path, title: str, summary: str) -> None:
    out = d.submit(fuzz_db, title, summary=summary)
    assert not out.bad, (title, summary, out)
    normal = " ".join(title.split())
    if out.code != 0:
        assert out.code == 2, out
        assert not normal or len(normal) > TITLE_MAX or "\x00" in title + summary, out
        return
    pid = out.stdout.split()[0]
    shown = d.show(fuzz_db, pid)
    assert shown["title"] == normal
    assert shown.get("summary", summary.strip()) == summary.strip()
