"""The generated command lines of the CLI fuzz tests, shared by the SQLite and the
PostgreSQL runs: every command of `regie`, its options, known ids and nasty text, and
arguments that are not UTF-8 (as Python receives undecodable argv bytes: surrogates)."""

from __future__ import annotations

from collections.abc import Iterator

import click
from hypothesis import strategies as st

from regie.cli import cli
from reliability import driver as d
from reliability.fuzzing import nasty_text

# long-running or networked: the demo, the mail sink server, the sender (SMTP, --watch),
# the web service (tests/web and tests/browser run it)
SKIP = {("demo",), ("mail-sink",), ("scheduler",), ("send",), ("serve",)}


def commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)  # through the group's API: the root loads lazily
    for name in sorted(group.list_commands(ctx)):
        cmd = group.get_command(ctx, name)
        if (*path, name) in SKIP or cmd is None:
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

# bytes that are not UTF-8, as Python hands them over (os.fsdecode: surrogate escapes)
not_utf8 = st.binary(min_size=1, max_size=8).map(lambda b: (b"P-\xff" + b).decode(
    "utf-8", "surrogateescape"))  # fmt: skip


def options(cmd: click.Command) -> list[str]:
    return sorted(
        {o for p in cmd.params if isinstance(p, click.Option) for o in p.opts}
        | {"--help", "--json"}
    )


@st.composite
def argv(draw: st.DrawFn, *, bad_bytes: bool = False) -> list[str]:
    path = draw(st.sampled_from(sorted(COMMANDS)))
    token = st.one_of(st.sampled_from(options(COMMANDS[path])), st.sampled_from(IDS), nasty_text)
    args = [*path, *draw(st.lists(token, max_size=7))]
    if bad_bytes:
        args.insert(draw(st.integers(0, len(args))), draw(not_utf8))
    return args


def assert_clean(args: list[str], out: d.Outcome) -> None:
    if tuple(args) in GROUPS and out.code == 2 and out.stderr.startswith("Usage:"):
        return  # a group without its command prints its help
    assert not out.bad, (args, out.bad, out.stdout[-500:], out.stderr[-500:])
