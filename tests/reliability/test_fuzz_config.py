"""Region config and workflow files: a clean ConfigError/WorkflowError or a valid load,
never another exception, whatever the file holds."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from regie.errors import ConfigError, WorkflowError
from regie.region import parse_region
from regie.workflows.validate import parse_workflow
from reliability.budget import (
    FUZZ_REGION_MUTATED,
    FUZZ_REGION_TEXT,
    FUZZ_WORKFLOW_MUTATED,
    FUZZ_WORKFLOW_TEXT,
)
from reliability.driver import CONFIG, ROOT
from reliability.fuzzing import fuzz_settings, nasty_text

REGION = CONFIG.read_text(encoding="utf-8")
WORKFLOWS = {
    p.stem: p.read_text(encoding="utf-8")
    for p in sorted((ROOT / "src" / "regie" / "workflows").glob("*.toml"))
}
TOKENS = [
    '""',
    "0",
    "-1",
    "1e9",
    "true",
    "[]",
    "{}",
    '"x"',
    '"2027-02-30"',
    '"25:99"',
    '"ede"',
    '"coordinator"',
    '"table"',
    '"oogo"',
    "nan",
    "inf",
    '"a@b"',
    "[[",
    "]]",
    "=",
    '"\\u0000"',
    "'''",
    '"""',
    "#",
]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """The file with a few line-level edits: drop, duplicate, swap, or change a value."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["drop", "dup", "swap", "value", "key", "insert", "cut"]))
        if how == "drop":
            del lines[i]
        elif how == "dup":
            lines.insert(i, lines[i])
        elif how == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif how == "value" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            value = draw(st.one_of(st.sampled_from(TOKENS), nasty_text.map(repr)))
            lines[i] = f"{key}= {value}"
        elif how == "key" and "=" in lines[i]:
            lines[i] = (
                draw(st.sampled_from(["bogus", "id", "chair", "party"]))
                + " ="
                + lines[i].split("=", 1)[1]
            )
        elif how == "insert":
            lines.insert(i, draw(nasty_text))
        elif how == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    return "\n".join(lines)


def load_region(text: str) -> None:
    try:
        region = parse_region(text, "fuzz.toml")
    except ConfigError as exc:
        assert all(line.startswith("fuzz.toml") for line in exc.lines), exc
        assert all("\n" not in problem or len(problem) < 2000 for *_, problem in exc.problems)
        return
    assert region.parties and region.people  # a valid load is a usable region


def load_workflow(text: str) -> None:
    try:
        wf = parse_workflow(text, "fuzz.toml")
    except WorkflowError as exc:
        assert all(line.startswith("fuzz.toml") for line in exc.lines), exc
        return
    assert wf.stages and wf.final in [s.id for s in wf.stages]


@fuzz_settings(FUZZ_REGION_MUTATED)
@given(mutated(REGION))
def test_mutated_region_config(text: str) -> None:
    load_region(text)


@fuzz_settings(FUZZ_REGION_TEXT)
@given(st.one_of(nasty_text, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
@example("")
@example("\x00")
@example("[region]\nname = 1")
def test_arbitrary_text_as_region_config(text: str) -> None:
    load_region(text)


@fuzz_settings(FUZZ_WORKFLOW_MUTATED)
@given(st.sampled_from(sorted(WORKFLOWS)).flatmap(lambda name: mutated(WORKFLOWS[name])))
def test_mutated_workflow(text: str) -> None:
    load_workflow(text)


@fuzz_settings(FUZZ_WORKFLOW_TEXT)
@given(st.one_of(nasty_text, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
@example("")
@example('purpose = "adoption"\n[[stages]]')
def test_arbitrary_text_as_workflow(text: str) -> None:
    load_workflow(text)


def test_budget_files_exist() -> None:
    assert Path(CONFIG).exists() and len(WORKFLOWS) == 3
