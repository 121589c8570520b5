"""Rule of conduct 4, ownership: focus point leads, and every partner at a table.

A missing lead and a partner at no body where proposals start are warnings: the config
loads, `regie init` exits 0 and prints ``regie: warning: FILE: KEY: text`` lines on stderr.
A lead who is not a person of the region is an error with its key path. Configs are
FoodValley's and Heuvelland's (whose proposals start at a body of kind ``werkgroep``), each
with one or two lines edited the way a coordinator would.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from regie.cli import cli
from regie.errors import ConfigError
from regie.region import Region, load_region, parse_region
from regie.region_warnings import region_warnings, start_bodies, warnings_json

ROOT = Path(__file__).resolve().parents[1]
FOODVALLEY = ROOT / "config" / "foodvalley.toml"
HEUVELLAND = Path(__file__).parent / "data" / "region-heuvelland"
DOC = ROOT / "docs" / "CONFIG.md"
CLEAN_ENV = {
    "REGIE_DB": None,
    "REGIE_USER": None,
    "REGIE_NOW": "2026-11-23T10:00",
    "REGIE_LANG": None,
}

# FoodValley, edited: sp4 without its official lead, and the VSV/RMC programme director
# (the programme's only person) off the Monitor table; she still sits in the chairs' meeting,
# which is no body where proposals start.
NO_SP4_OFFICIAL = ('official_lead = "lotte-vermeulen"\n', "")
VSV_OFF_THE_TABLE = ('  "daan-meijer",\n  "gerda-timmer",\n', '  "daan-meijer",\n')
SP4_WARNING = (
    "focus_points[3].official_lead",
    "focus point 'sp4' has no official lead; every focus point has an administrative and an "
    'official lead (rule of conduct 4): add official_lead = "<person id>" (e.g. a policy officer)',
)
VSV_WARNING = (
    "parties[11]",
    "party 'vsv-rmc' has nobody in a body where proposals start (tafel-model, tafel-monitor); "
    "every partner takes part in at least one table or working group (rule of conduct 4): add "
    "one of its people (gerda-timmer) to the members of one of them",
)


def edited(path: Path, *edits: tuple[str, str]) -> str:
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"the edit {old!r} must match once in {path}"
        text = text.replace(old, new)
    return text


def foodvalley(*edits: tuple[str, str]) -> Region:
    return parse_region(edited(FOODVALLEY, *edits), "foodvalley.toml")


def heuvelland(*edits: tuple[str, str]) -> Region:
    config = HEUVELLAND / "region.toml"  # its workflows folder is found next to it
    return parse_region(edited(config, *edits), str(config))


# --- focus point leads ----------------------------------------------------------------------


def test_foodvalley_has_its_leads_and_no_warnings() -> None:
    region = load_region(FOODVALLEY)
    leads = {fp.id: (fp.admin_lead, fp.official_lead) for fp in region.focus_points}
    assert leads == {
        "sp1": ("ingrid-schouten", "koen-smit"),
        "sp2": ("gerrit-hoogendoorn", "marloes-kamphuis"),
        "sp3": ("ruud-eijkelenboom", "olivia-brandsma"),
        "sp4": ("peter-hazeleger", "lotte-vermeulen"),
        "sp5": ("wim-brouwer", "esther-mulder"),
    }
    assert region_warnings(region) == []


def test_a_focus_point_without_an_official_lead_warns_at_its_key() -> None:
    assert region_warnings(foodvalley(NO_SP4_OFFICIAL)) == [SP4_WARNING]


def test_a_focus_point_without_leads_warns_for_each() -> None:
    region = foodvalley(
        ('admin_lead = "ingrid-schouten"\n', ""), ('official_lead = "koen-smit"\n', "")
    )
    found = region_warnings(region)
    assert [key for key, _ in found] == [
        "focus_points[0].admin_lead",
        "focus_points[0].official_lead",
    ]
    assert "focus point 'sp1' has no administrative lead" in found[0][1]
    assert 'add admin_lead = "<person id>"' in found[0][1]


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (
            ('official_lead = "lotte-vermeulen"', 'official_lead = "lotte-vermeulem"'),
            "focus_points[3].official_lead",
            "unknown person 'lotte-vermeulem'; did you mean 'lotte-vermeulen'? use the id of "
            "an entry in [[people]]",
        ),
        (
            ('admin_lead = "wim-brouwer"', 'admin_lead = "wim-brouwr"'),
            "focus_points[4].admin_lead",
            "unknown person 'wim-brouwr'; did you mean 'wim-brouwer'? use the id of an entry "
            "in [[people]]",
        ),
    ],
)
def test_an_unknown_lead_is_an_error_with_its_key(
    edit: tuple[str, str], key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        foodvalley(edit)
    assert caught.value.problems == [("foodvalley.toml", key, problem)]


# --- every partner at a table -----------------------------------------------------------------


def test_the_bodies_where_proposals_start_follow_the_workflows() -> None:
    assert start_bodies(load_region(FOODVALLEY)) == ["tafel-model", "tafel-monitor"]
    assert start_bodies(heuvelland()) == ["werkgroep-jeugd"]


def test_a_partner_at_no_table_warns_at_its_party() -> None:
    assert region_warnings(foodvalley(VSV_OFF_THE_TABLE)) == [VSV_WARNING]


def test_a_partner_without_people_warns_too() -> None:
    party = (
        '[[parties]]\nid = "netwerk"\n',
        '[[parties]]\nid = "ggd"\nname = "GGD Gelderland-Midden"\nkind = "other"\n\n'
        '[[parties]]\nid = "netwerk"\n',
    )
    ((key, text),) = region_warnings(foodvalley(party))
    assert key == "parties[12]"
    assert text.startswith("party 'ggd' has nobody in a body where proposals start")
    assert text.endswith(
        'add a [[people]] entry with party = "ggd" and make them a member of one of them'
    )


def test_the_coordinators_own_party_is_no_partner() -> None:
    region = load_region(FOODVALLEY)
    at_tables = {m for b in region.bodies if b.id in start_bodies(region) for m in b.members}
    netwerk = [p.id for p in region.people if p.party == "netwerk"]
    assert netwerk == [region.coordinator] and not set(netwerk) & at_tables
    assert region_warnings(region) == []
    # the same party, once the coordinator belongs to another one, is a partner like any
    moved = foodvalley(
        (
            'email = "mirjam.verhoef@foodvalley.example.org"\nparty = "netwerk"',
            'email = "mirjam.verhoef@foodvalley.example.org"\nparty = "vsv-rmc"',
        )
    )
    assert [key for key, _ in region_warnings(moved)] == ["parties[12]"]


def test_a_region_whose_proposals_start_at_a_werkgroep() -> None:
    """Heuvelland's first stage names kind 'werkgroep'; its SWV takes part through its
    policy officer. Without her in the werkgroep, the SWV sits only in the BO."""
    assert region_warnings(heuvelland()) == []
    left = heuvelland(
        (
            'members = ["beleid-bergdorp", "beleid-dalwijk", "beleid-swv", "regisseur"]',
            'members = ["beleid-bergdorp", "beleid-dalwijk", "regisseur"]',
        )
    )
    assert [key for key, _ in region_warnings(left)] == ["parties[2]"]
    assert region_warnings(left)[0][1].startswith(
        "party 'swv-heuvel' has nobody in a body where proposals start (werkgroep-jeugd)"
    )


# --- the command line -------------------------------------------------------------------------


def run(tmp_path: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "r.db"), *args], env=CLEAN_ENV)
    assert "Traceback" not in result.output + result.stderr
    return result


def broken_foodvalley(tmp_path: Path) -> Path:
    path = tmp_path / "foodvalley.toml"
    path.write_text(edited(FOODVALLEY, NO_SP4_OFFICIAL, VSV_OFF_THE_TABLE), encoding="utf-8")
    return path


def test_init_check_prints_the_warnings_on_stderr_and_exits_0(tmp_path: Path) -> None:
    config = broken_foodvalley(tmp_path)
    r = run(tmp_path, "init", "--config", str(config), "--check")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith(f"{config}: OK: region FoodValley")
    assert r.stderr.splitlines() == [
        f"regie: warning: {config}: {key}: {text}" for key, text in (SP4_WARNING, VSV_WARNING)
    ]
    summary = json.loads(run(tmp_path, "init", "--config", str(config), "--check", "--json").stdout)
    assert summary["warnings"] == [
        {"key": key, "text": text} for key, text in (SP4_WARNING, VSV_WARNING)
    ]
    assert not (tmp_path / "r.db").exists()


def test_init_check_of_foodvalley_prints_no_warning(tmp_path: Path) -> None:
    r = run(tmp_path, "init", "--config", str(FOODVALLEY), "--check")
    assert (r.exit_code, r.stderr) == (0, "")
    summary = json.loads(
        run(tmp_path, "init", "--config", str(FOODVALLEY), "--check", "--json").stdout
    )
    assert summary["warnings"] == []


def test_init_loads_despite_warnings_and_stores_the_leads(tmp_path: Path) -> None:
    config = broken_foodvalley(tmp_path)
    r = run(tmp_path, "init", "--config", str(config))
    assert r.exit_code == 0, r.stderr
    assert "region FoodValley loaded" in r.stdout
    assert [line.split(": ")[3] for line in r.stderr.splitlines()] == [
        "focus_points[3].official_lead",
        "parties[11]",
    ]
    with closing(sqlite3.connect(tmp_path / "r.db")) as conn:
        rows = conn.execute(
            "SELECT id, admin_lead, official_lead FROM focus_point ORDER BY id"
        ).fetchall()
    assert rows[2:4] == [
        ("sp3", "ruud-eijkelenboom", "olivia-brandsma"),
        ("sp4", "peter-hazeleger", None),
    ]
    again = json.loads(run(tmp_path, "init", "--config", str(FOODVALLEY), "--json").stdout)
    assert again["warnings"] == []
    with closing(sqlite3.connect(tmp_path / "r.db")) as conn:
        sp4 = conn.execute("SELECT official_lead FROM focus_point WHERE id = 'sp4'").fetchone()
    assert sp4 == ("lotte-vermeulen",)


def test_init_json_lists_the_warnings(tmp_path: Path) -> None:
    r = run(tmp_path, "init", "--config", str(broken_foodvalley(tmp_path)), "--json")
    assert r.exit_code == 0, r.stderr
    assert (
        warnings_json(foodvalley(NO_SP4_OFFICIAL, VSV_OFF_THE_TABLE))
        == json.loads(r.stdout)["warnings"]
    )
    assert len(json.loads(r.stdout)["warnings"]) == 2


# --- docs/CONFIG.md ---------------------------------------------------------------------------

_EXAMPLE = re.compile(r"<!-- (config|file): (\S+) -->\n```toml\n(.*?)^```$", re.M | re.S)
_SHOWN = re.compile(r"<!-- warning-output: (\S+): ([^\n]*) -->\n```text\n(.*?)^```$", re.M | re.S)


def write_doc_examples(folder: Path) -> str:
    """The example configs of docs/CONFIG.md (and their workflow files), under ``folder``."""
    doc = DOC.read_text(encoding="utf-8")
    for found in _EXAMPLE.finditer(doc):
        path = folder / found.group(2)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(found.group(3), encoding="utf-8")
    return doc


def test_the_warning_output_in_the_docs_is_what_regie_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block after <!-- warning-output: PATH: OLD -> NEW ; ... --> is the stderr of
    `regie init --config NAME --check` in PATH's folder, after those edits of the example."""
    shown = _SHOWN.search(write_doc_examples(tmp_path))
    assert shown, "docs/CONFIG.md shows no warning output (<!-- warning-output: PATH: EDITS -->)"
    name, edits, text = shown.groups()
    config = tmp_path / name
    pairs = []
    for edit in edits.split(" ; "):
        old, new = edit.split(" -> ")
        pairs.append((old, new))
    config.write_text(edited(config, *pairs), encoding="utf-8")
    monkeypatch.chdir(config.parent)
    r = CliRunner().invoke(cli, ["init", "--config", config.name, "--check"], env=CLEAN_ENV)
    assert r.exit_code == 0, r.stderr
    assert r.stderr == text, f"regie prints:\n{r.stderr}"


def test_the_complete_example_in_the_docs_warns_of_nothing(tmp_path: Path) -> None:
    write_doc_examples(tmp_path)
    beekdal = load_region(tmp_path / "beekdal" / "region.toml")
    assert beekdal.focus_points[0].official_lead == "sanne-peters"
    assert region_warnings(beekdal) == []
