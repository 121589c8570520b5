"""The README says what regie does (issue #14): every outcome id per purpose, the exit codes
regie really uses, how the daily digest is triggered, the `--substitute-for PERSON`
wording."""

from __future__ import annotations

import re
from pathlib import Path

from regie import errors
from regie.cli import support as cli_support
from regie.notifications import sender
from regie.workflows.definition import builtin_workflows

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n#", start + len(title))
    return README[start : end if end != -1 else None]


def test_every_outcome_id_per_purpose() -> None:
    table = _section("#### Outcomes per purpose")
    rows = {
        m[1]: set(re.findall(r"`([a-z_]+)`", m[2]))
        for m in re.finditer(r"^\| `([a-z]+)` \| (.*?) \|", table, re.M)
    }
    for purpose, wf in builtin_workflows().items():
        assert rows.get(purpose) == {o.id for o in wf.outcomes}, (purpose, rows.get(purpose))


def _codes() -> set[int]:
    classes: list[type] = [errors.RegieError]
    found = set()
    while classes:
        cls = classes.pop()
        found.add(int(cls.exit_code))  # type: ignore[attr-defined]
        classes += cls.__subclasses__()
    return found | {0, cli_support.INTERNAL_ERROR, sender.EXIT_UNREACHABLE}


def test_the_exit_codes_regie_uses_are_the_documented_ones() -> None:
    documented = {int(c) for c in re.findall(r"^\| (\d+) \| ", README, re.M)}
    assert documented == _codes()


def test_how_the_digest_is_triggered() -> None:
    text = " ".join(README.split())
    assert "digest = true" in text
    assert "every `regie send` (each round of `send --watch`) first bundles" in text
    assert "from before today" in text


def test_substitute_for_names_a_person() -> None:
    assert "--substitute-for PERSON" in README
    assert not re.search(r"--substitute-for P\b", README)
