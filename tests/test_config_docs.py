"""docs/CONFIG.md against the loader.

Every key the loader accepts (walked from the pydantic models of the region file and of
a workflow definition, by their TOML names) has a row in a key table of CONFIG.md, and
every row names a key the loader accepts; the Default column says what the loader does.
Every notice kind, recipient group and old group name is documented. The TOML examples
parse, the complete example region loads, and the outputs shown are what regie prints.

How CONFIG.md is read:

* Key tables have the header ``| Key | Type | Default | Meaning | Example |`` (the region
  file) or ``| Workflow key | ... |`` (a workflow definition). The first cell of a row is
  the full key path between backticks, e.g. ``bodies[].meetings[].date``.
* A fenced block right after an HTML comment ``<!-- config: PATH -->`` is a complete
  region config, ``<!-- file: PATH -->`` a file next to it (a workflow), both written to
  PATH under a temporary folder. ``<!-- check-output: PATH -->`` is the output of
  ``regie init --config NAME --check`` run in PATH's folder; ``<!-- error-output: PATH:
  OLD -> NEW ; ... -->`` the errors after those edits of PATH, run from the temporary
  folder. ``<!-- foodvalley-structure -->`` is the [structure] of config/foodvalley.toml.
"""

from __future__ import annotations

import json
import re
import tomllib
import types
import typing
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from regie.notifications.config import GROUP_ALIASES, GROUPS, NOTICE_KINDS
from regie.region import _RegionFile, load_region
from regie.workflows.definition import PURPOSES
from regie.workflows.validate import _WorkflowIn

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "CONFIG.md"
FOODVALLEY = ROOT / "config" / "foodvalley.toml"

KEY_HEADER = ("Key", "Type", "Default", "Meaning", "Example")
WORKFLOW_KEY_HEADER = ("Workflow key", "Type", "Default", "Meaning", "Example")
GROUP_HEADER = ("Group", "Who gets the notice")
ALIAS_HEADER = ("Old name", "Read as")
CLEAN_ENV = {"REGIE_DB": None, "REGIE_USER": None, "REGIE_NOW": None, "REGIE_LANG": None}

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
_MARKER = re.compile(r"<!-- ([a-z-]+)(?:: (.*))? -->")
_CODE_SPAN = re.compile(r"`([^`]+)`")


# --- reading CONFIG.md ---------------------------------------------------------------------


@cache
def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _outside_fences(text: str) -> str:
    return _FENCE.sub("", text)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@cache
def _tables() -> dict[tuple[str, ...], list[list[str]]]:
    """Rows of every Markdown table, by header (tables with the same header together)."""
    tables: dict[tuple[str, ...], list[list[str]]] = {}
    lines = _outside_fences(_doc()).splitlines()
    i = 0
    while i < len(lines):
        is_table = i + 1 < len(lines) and lines[i].startswith("|")
        if not (is_table and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip())):
            i += 1
            continue
        rows = tables.setdefault(tuple(_cells(lines[i])), [])
        i += 2
        while i < len(lines) and lines[i].startswith("|"):
            rows.append(_cells(lines[i]))
            i += 1
    return tables


def _rows(header: tuple[str, ...]) -> list[list[str]]:
    rows = _tables().get(header)
    assert rows, f"docs/CONFIG.md has no table with the header | {' | '.join(header)} |"
    return rows


def _first_code_span(row: list[str], header: tuple[str, ...]) -> str:
    match = re.fullmatch(r"`([^`]+)`", row[0])
    assert match, f"row {row} of the '{header[0]}' table must start with one code span"
    return match.group(1)


def _documented(header: tuple[str, ...]) -> dict[str, list[str]]:
    """Rows by the key in their first cell; each row complete, no key twice."""
    found: dict[str, list[str]] = {}
    for row in _rows(header):
        key = _first_code_span(row, header)
        assert len(row) == len(header), f"'{key}': {len(row)} cells, the header has {len(header)}"
        empty = [name for name, cell in zip(header, row, strict=True) if not cell]
        assert not empty, f"'{key}' has an empty {' and '.join(empty)} column in docs/CONFIG.md"
        assert key not in found, f"'{key}' is documented twice in docs/CONFIG.md"
        found[key] = row
    return found


def _blocks() -> Iterator[tuple[str, str, str, str]]:
    """(marker, argument, language, text) of every fenced block; marker "" when unmarked."""
    text = _doc()
    for fence in _FENCE.finditer(text):
        line_before = text[: fence.start()].rstrip().rpartition("\n")[2]
        marker = _MARKER.fullmatch(line_before)
        kind, arg = (marker.group(1), marker.group(2) or "") if marker else ("", "")
        yield kind, arg, fence.group(1), fence.group(2)


def _marked(kind: str) -> list[tuple[str, str]]:
    return [(arg, text) for marker, arg, _lang, text in _blocks() if marker == kind]


# --- what the loader accepts ---------------------------------------------------------------


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """(the model a field holds, the key path's separator before its keys: "." for one,
    "[]." for a list of them, ".*." for a table of them keyed by an id)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, "."
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _model_in(args[0])
    if origin in (list, dict):
        model, _ = _model_in(args[-1])
        return model, "[]." if origin is list else ".*."
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            model, sep = _model_in(arg)
            if model is not None:
                return model, sep
    return None, "."


def _accepted(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Every key path the loader accepts under ``model``, by its TOML name (the alias)."""
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        yield key, field
        inner, sep = _model_in(field.annotation)
        if inner is not None:
            yield from _accepted(inner, key + sep)


REFERENCES = (
    ("region config", _RegionFile, KEY_HEADER),
    ("workflow definition", _WorkflowIn, WORKFLOW_KEY_HEADER),
)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _default_problem(key: str, field: FieldInfo, cell: str) -> str | None:
    if field.is_required():
        return None if cell.startswith("required") else f"{key}: required, documented {cell!r}"
    if cell.startswith("required"):
        return f"{key}: optional in the loader, but documented as required"
    default = field.get_default(call_default_factory=True)
    if default is None:
        return None if cell.startswith("not set") else f"{key}: must start with 'not set'"
    if isinstance(default, BaseModel):
        return None
    if default == {}:  # a table of tables keyed by id, empty
        return None if cell.startswith("none") else f"{key}: must start with 'none'"
    shown = f"`{_toml(default)}`"
    return None if cell.startswith(shown) else f"{key}: default {shown}, documented {cell!r}"


# --- the keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(("what", "model", "header"), REFERENCES, ids=["region", "workflow"])
def test_every_key_the_loader_accepts_is_documented(
    what: str, model: type[BaseModel], header: tuple[str, ...]
) -> None:
    documented = _documented(header)
    missing = [key for key, _field in _accepted(model) if key not in documented]
    assert not missing, (
        f"{what} keys not documented in docs/CONFIG.md: {', '.join(missing)}; add a row "
        f"| `KEY` | type | default | meaning | example | to a '{header[0]}' table"
    )


@pytest.mark.parametrize(("what", "model", "header"), REFERENCES, ids=["region", "workflow"])
def test_every_documented_key_is_accepted(
    what: str, model: type[BaseModel], header: tuple[str, ...]
) -> None:
    accepted = {key for key, _field in _accepted(model)}
    unknown = [key for key in _documented(header) if key not in accepted]
    assert not unknown, f"docs/CONFIG.md documents {what} keys the loader rejects: {unknown}"


@pytest.mark.parametrize(("what", "model", "header"), REFERENCES, ids=["region", "workflow"])
def test_the_default_column_says_what_the_loader_does(
    what: str, model: type[BaseModel], header: tuple[str, ...]
) -> None:
    documented = _documented(header)
    problems = [
        problem
        for key, field in _accepted(model)
        if key in documented and (problem := _default_problem(key, field, documented[key][2]))
    ]
    assert not problems, f"wrong Default column for {what} keys: {'; '.join(problems)}"


# --- notices -------------------------------------------------------------------------------


def test_every_notice_kind_is_documented_with_its_default_groups() -> None:
    documented = _documented(KEY_HEADER)
    for kind, spec in NOTICE_KINDS.items():
        row = documented.get(f"notifications.{kind}")
        assert row is not None, f"notice kind '{kind}' is not documented in docs/CONFIG.md"
        shown = f"`{_toml(list(spec.groups))}`"
        assert row[2] == shown, f"notice kind '{kind}': default groups {shown}, doc {row[2]!r}"


def test_every_recipient_group_is_documented() -> None:
    documented = _documented(GROUP_HEADER)
    missing = [group for group in GROUPS if group not in documented]
    assert not missing, f"recipient groups not documented in docs/CONFIG.md: {missing}"
    unknown = [group for group in documented if group not in GROUPS]
    assert not unknown, f"docs/CONFIG.md documents unknown recipient groups: {unknown}"


def test_every_old_group_name_is_documented() -> None:
    shown = {}
    for old, row in _documented(ALIAS_HEADER).items():
        match = _CODE_SPAN.fullmatch(row[1])
        assert match, f"old group name '{old}': write the new name as one code span"
        shown[old] = match.group(1)
    assert shown == GROUP_ALIASES, f"old group names in docs/CONFIG.md: {shown}"


# --- the examples --------------------------------------------------------------------------


def test_every_toml_block_parses() -> None:
    blocks = [text for _marker, _arg, lang, text in _blocks() if lang == "toml"]
    assert blocks
    for text in blocks:
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            pytest.fail(f"a ```toml block of docs/CONFIG.md is not valid TOML ({exc}):\n{text}")


def _write_examples(folder: Path) -> list[Path]:
    """Write every config and file block under ``folder``; the configs' paths."""
    configs = []
    for marker in ("config", "file"):
        for arg, text in _marked(marker):
            path = folder / arg
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            if marker == "config":
                configs.append(path)
    return configs


def test_the_complete_examples_load(tmp_path: Path) -> None:
    configs = _write_examples(tmp_path)
    assert configs, "docs/CONFIG.md has no block marked <!-- config: PATH -->"
    for path in configs:
        load_region(path)  # raises ConfigError, naming every problem


def test_the_second_region_is_what_the_doc_says(tmp_path: Path) -> None:
    """Beekdal: one table, Stuurgroep, Bestuurlijk overleg; its own three workflows;
    route tafel -> stuurgroep -> bo; Thursday-evening meetings, 7-working-day deadlines."""
    _write_examples(tmp_path)
    region = load_region(tmp_path / "beekdal" / "region.toml")
    assert region.own_workflows == set(PURPOSES)
    assert [body.kind for body in region.bodies] == ["table", "stuurgroep", "bo"]
    assert [body.name for body in region.bodies][1:] == ["Stuurgroep", "Bestuurlijk overleg"]
    for wf in region.workflows.values():
        assert wf.default_route == ["tafel", "stuurgroep", "bo"]
        assert (wf.route_setter, wf.final) == ("stuurgroep", "bo")
    roles = region.roles
    assert (roles.routing_body, roles.top_body) == ("stuurgroep", "bo")
    assert roles.news_bodies == ("tafel-thuiszitters",)
    for body in region.bodies:
        assert body.deadline_working_days == 7
        for meeting in body.meetings:
            assert meeting.date.strftime("%A") == "Thursday"
            assert meeting.time.hour >= 18


def _run(folder: Path, config: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from regie.cli import cli  # here: the other checks do not need the command line

    monkeypatch.chdir(folder)
    return CliRunner().invoke(cli, ["init", "--config", config, "--check"], env=CLEAN_ENV)


def test_the_check_output_shown_is_what_regie_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_examples(tmp_path)
    shown = _marked("check-output")
    assert shown, "docs/CONFIG.md shows no check output (<!-- check-output: PATH -->)"
    for arg, text in shown:
        path = tmp_path / arg
        result = _run(path.parent, path.name, monkeypatch)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == text, f"regie prints:\n{result.stdout}"


def test_the_error_output_shown_is_what_regie_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_examples(tmp_path)
    shown = _marked("error-output")
    assert shown, "docs/CONFIG.md shows no error output (<!-- error-output: PATH: EDITS -->)"
    for arg, text in shown:
        name, _, edits = arg.partition(": ")
        path = tmp_path / name
        config = path.read_text(encoding="utf-8")
        for edit in edits.split(" ; "):
            old, new = edit.split(" -> ")
            assert config.count(old) == 1, f"the edit '{edit}' must match once in {name}"
            config = config.replace(old, new)
        path.write_text(config, encoding="utf-8")
        result = _run(tmp_path, name, monkeypatch)
        assert result.exit_code == 2, result.output
        assert result.stderr == text, f"regie prints:\n{result.stderr}"


def test_the_foodvalley_structure_block_is_the_configs() -> None:
    shown = _marked("foodvalley-structure")
    assert len(shown) == 1, "docs/CONFIG.md must show FoodValley's [structure] block once"
    with FOODVALLEY.open("rb") as handle:
        config = tomllib.load(handle)
    assert tomllib.loads(shown[0][1]) == {"structure": config["structure"]}
