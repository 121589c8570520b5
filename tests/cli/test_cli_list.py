"""`regie list` pages (issue 15, goal 4): 50 newest first by default, --limit, --all, the
"N more" line in nl and en; --json keeps its list shape and is limited the same way."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from regie.cli import cli

NOW = "2026-11-23T10:00"
CLEAN = {"REGIE_DB": None, "REGIE_DEBUG": None, "REGIE_LANG": None, "REGIE_KEY_FILE": None}
MADE = 55


def run(db: Path, *args: str) -> Result:
    env = {**CLEAN, "REGIE_NOW": NOW, "REGIE_USER": "coordinator"}
    return CliRunner().invoke(cli, ["--db", str(db), *args], env=env)


def ok(db: Path, *args: str) -> Result:
    result = run(db, *args)
    assert result.exit_code == 0, (args, result.output)
    return result


def ids(db: Path, *args: str) -> list[str]:
    return [r["id"] for r in json.loads(ok(db, "list", *args, "--json").stdout)]


@pytest.fixture
def many(db_file: Path) -> Path:
    """MADE proposals: one submitted, the others copies of its row, each a minute newer;
    every third one concerns swv-vo instead of ede."""
    ok(db_file, "submit", "--title", "Item 1", "--purpose", "adoption", "--table",
       "tafel-model", "--party", "ede")  # fmt: skip
    with closing(sqlite3.connect(db_file)) as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(proposal)") if r[1] != "id"]
        first = conn.execute(f"SELECT {', '.join(cols)} FROM proposal").fetchone()
        row = dict(zip(cols, first, strict=True))
        start = datetime.fromisoformat(str(row["submitted_at"]))
        for i in range(2, MADE + 1):
            at = str(start + timedelta(minutes=i))
            values = {**row, "title": f"Item {i}", "submitted_at": at, "updated_at": at}
            conn.execute(
                f"INSERT INTO proposal (id, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})",
                [f"P-2026-{i:03d}", *values.values()],
            )
            party = "swv-vo" if i % 3 == 0 else "ede"
            conn.execute("INSERT INTO proposal_party VALUES (?, ?)", (f"P-2026-{i:03d}", party))
        conn.commit()
    return db_file


def newest(n: int, first: int = MADE) -> list[str]:
    return [f"P-2026-{i:03d}" for i in range(first, first - n, -1)]


def test_default_page_is_the_50_newest_first(many: Path) -> None:
    assert ids(many) == newest(50)
    table = ok(many, "list").stdout
    assert "P-2026-055" in table and "P-2026-006" in table and "P-2026-005" not in table
    assert table.index("P-2026-055") < table.index("P-2026-054")


def test_limit_and_all(many: Path) -> None:
    assert ids(many, "--limit", "3") == newest(3)
    assert ids(many, "--all") == newest(MADE)
    assert ids(many, "--all", "--limit", "3") == newest(MADE)  # --all wins
    assert "more" not in ok(many, "--lang", "en", "list", "--all").stdout
    assert run(many, "list", "--limit", "0").exit_code == 2


def test_the_more_line_in_dutch_and_english(many: Path) -> None:
    nl = ok(many, "list", "--limit", "10").stdout.rstrip().splitlines()[-1]
    assert nl == "nog 45, niet getoond (de nieuwste 10 staan hier; --limit N of --all voor meer)"
    en = ok(many, "--lang", "en", "list").stdout.rstrip().splitlines()[-1]
    assert en == "5 more, not shown (newest 50 shown; --limit N or --all for more)"


def test_no_more_line_when_everything_fits(many: Path) -> None:
    out = ok(many, "--lang", "en", "list", "--limit", str(MADE)).stdout
    assert "more" not in out and "P-2026-001" in out


def test_json_keeps_its_shape_and_is_limited(many: Path) -> None:
    rows = json.loads(ok(many, "list", "--json", "--limit", "2").stdout)
    assert isinstance(rows, list) and len(rows) == 2
    assert set(rows[0]) >= {"id", "title", "purpose", "stage", "state", "meeting", "body"}


def test_filters_run_with_the_page_and_count_only_matches(many: Path) -> None:
    swv = [i for i in newest(MADE) if int(i.split("-")[2]) % 3 == 0]
    assert ids(many, "--party", "swv-vo", "--all") == swv
    assert ids(many, "--party", "swv-vo", "--limit", "4") == swv[:4]
    en = ok(many, "--lang", "en", "list", "--party", "swv-vo", "--limit", "4").stdout
    assert en.rstrip().splitlines()[-1].startswith(f"{len(swv) - 4} more, not shown")
    assert ids(many, "--state", "table", "--limit", "1") == newest(1)
    assert ids(many, "--stage", "table", "--purpose", "adoption", "--limit", "1") == newest(1)


def test_filters_are_still_checked(many: Path) -> None:
    for args in (["--state", "tabel"], ["--party", "nobody", "--all"], ["--stage", "x"]):
        result = run(many, "list", *args, "--json")
        assert result.exit_code == 2 and "there is no such" in result.stderr, args
