"""The region configuration loader: the example region, and one test per validation rule.

Most error tests load ``config/foodvalley.toml`` as a dict, break one thing, write it back
with the small TOML writer below and check the ConfigError: file, key path and problem.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from regie.errors import ConfigError
from regie.region import Mandate, MeetingSpec, Region, load_region, parse_region

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "foodvalley.toml"
DATA = Path(__file__).parent / "data" / "region"
ADD = "; "  # every problem names what is wrong, then how to fix it

# --- a tiny TOML writer -----------------------------------------------------------------------


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def dump_toml(data: dict[str, Any]) -> str:
    """Top-level scalars, then ``[table]``s, then ``[[array of tables]]``; enough for tests."""
    lines = [
        f"{_key(k)} = {_value(v)}"
        for k, v in data.items()
        if not isinstance(v, dict) and not _is_table_list(v)
    ]
    for name, value in data.items():
        entries = [value] if isinstance(value, dict) else value if _is_table_list(value) else []
        header = f"[{_key(name)}]" if isinstance(value, dict) else f"[[{_key(name)}]]"
        for entry in entries:
            lines += ["", header] + [f"{_key(k)} = {_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


# --- fixtures and helpers ---------------------------------------------------------------------

_BASE = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def data() -> dict[str, Any]:
    """The example region as a dict, to break in one place."""
    return copy.deepcopy(_BASE)


@pytest.fixture
def region() -> Region:
    return load_region(EXAMPLE)


def index(data: dict[str, Any], section: str, ident: str) -> int:
    return next(i for i, entry in enumerate(data[section]) if entry.get("id") == ident)


def entry(data: dict[str, Any], section: str, ident: str) -> dict[str, Any]:
    return data[section][index(data, section, ident)]


def find(data: dict[str, Any], section: str, **match: str) -> int:
    """Index of the first entry of ``section`` whose keys equal ``match``."""
    return next(
        i for i, item in enumerate(data[section]) if all(item.get(k) == v for k, v in match.items())
    )


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "region.toml"
    path.write_text(dump_toml(data), encoding="utf-8")
    return path


def error_for(path: Path | str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_region(path)
    return info.value


def check(tmp_path: Path, data: dict[str, Any], key: str, *fragments: str) -> ConfigError:
    """Load ``data``; the error must name the file, ``key`` and contain every fragment."""
    path = write(tmp_path, data)
    error = error_for(path)
    message = str(error)
    matches = [problem for file, at, problem in error.problems if at == key and file == str(path)]
    assert matches, f"no problem at {key} in: {message}"
    problem = next((m for m in matches if all(f in m for f in fragments)), matches[0])
    assert f"{path}: {key}: {problem}" in error.lines
    assert message == error.lines[0] or message.endswith("\n".join(error.lines))
    for fragment in fragments:
        assert fragment in problem, message
    assert ADD in problem, f"no fix in: {message}"
    assert "pydantic" not in message and "Input should be" not in message
    return error


# --- the example region ------------------------------------------------------------------------


def test_dump_toml_round_trips_the_example(data: dict[str, Any]) -> None:
    assert tomllib.loads(dump_toml(data)) == data


def test_example_region_loads(region: Region) -> None:
    assert region.name == "FoodValley"
    assert region.source == str(EXAMPLE)
    assert region.timezone == "Europe/Amsterdam"
    assert region.person(region.coordinator).name == "Mirjam Verhoef"
    assert region.body_of_kind("chairs").chair == region.coordinator
    assert region.body_of_kind("ao").id == "ao"
    assert region.body_of_kind("oogo").id == "oogo"
    assert [b.id for b in region.bodies_of_kind("table")] == ["tafel-model", "tafel-monitor"]
    assert [p.id for p in region.focus_points] == ["sp1", "sp2", "sp3", "sp4", "sp5"]
    assert any(person.language == "en" for person in region.people)


def test_example_loads_from_relative_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    region = load_region("config/foodvalley.toml")
    assert region.source == "config/foodvalley.toml"


def test_parse_region_takes_text() -> None:
    region = parse_region(EXAMPLE.read_text(encoding="utf-8"), "inline.toml")
    assert region.source == "inline.toml"


def test_example_parties_and_leas(region: Region) -> None:
    municipalities = [p.id for p in region.parties if p.kind == "municipality"]
    assert municipalities == [
        "barneveld",
        "ede",
        "nijkerk",
        "renswoude",
        "rhenen",
        "scherpenzeel",
        "veenendaal",
        "wageningen",
    ]
    for party in municipalities:
        (lea,) = [b for b in region.bodies_of_kind("lea") if b.party == party]
        assert lea.id == f"lea-{party}"
        assert len(lea.meetings) == 4
    assert region.party("swv-po").short == "SWV PO"
    assert region.roles.news_bodies == tuple(f"lea-{party}" for party in municipalities)
    assert region.party("swv-vo").kind == "swv_vo"


@pytest.mark.parametrize("body", ["ao", "oogo"])
def test_example_mandates_cover_every_municipality_and_swv(region: Region, body: str) -> None:
    day = dt.date(2027, 1, 1)
    mandated = {m.party for m in region.mandates if m.body == body and m.covers(day)}
    needed = {p.id for p in region.parties if p.kind in ("municipality", "swv_po", "swv_vo")}
    assert needed <= mandated


def test_example_substitutes(region: Region) -> None:
    pairs = {(s.party, s.body) for s in region.substitutes}
    assert {("ede", "ao"), ("ede", "oogo"), ("swv-vo", "ao"), ("swv-vo", "oogo")} <= pairs


def test_example_meetings_are_on_working_days(region: Region) -> None:
    for body in region.bodies:
        for meeting in body.meetings:
            assert not region.is_closed_day(meeting.date), meeting.meeting_id(body.id)
            assert dt.date(2026, 12, 1) <= meeting.date <= dt.date(2027, 12, 31)


def _due(region: Region, day: dt.date, working_days: int) -> dt.date:
    while working_days:
        day -= dt.timedelta(days=1)
        if not region.is_closed_day(day):
            working_days -= 1
    return day


def test_example_route_from_early_december_takes_under_three_months(region: Region) -> None:
    """table -> chairs -> AO -> OOGO, each meeting after the previous one and its deadline."""
    ready = dt.date(2026, 12, 2)
    route = [region.body("tafel-model")] + [
        region.body_of_kind(kind) for kind in ("chairs", "ao", "oogo")
    ]
    for body in route:
        meeting = next(
            m for m in body.meetings if _due(region, m.date, body.deadline_working_days) >= ready
        )
        ready = meeting.date
    assert ready < dt.date(2027, 3, 2)


def test_is_closed_day(region: Region) -> None:
    assert region.is_closed_day(dt.date(2027, 1, 9))  # Saturday
    assert region.is_closed_day(dt.date(2027, 1, 10))  # Sunday
    assert region.is_closed_day(dt.date(2027, 4, 27))  # King's Day
    assert region.is_closed_day(dt.date(2027, 3, 29))  # Easter Monday
    assert region.is_closed_day(dt.date(2026, 12, 28))  # extra closed day
    assert not region.is_closed_day(dt.date(2027, 3, 26))  # Good Friday, an open day
    assert not region.is_closed_day(dt.date(2027, 1, 12))  # an ordinary Tuesday


def test_lookups_raise_key_error(region: Region) -> None:
    assert region.body("ao").kind == "ao"
    with pytest.raises(KeyError):
        region.person("nobody")
    with pytest.raises(KeyError):
        region.party("nobody")
    with pytest.raises(KeyError):
        region.body("nobody")
    with pytest.raises(ValueError):
        region.body_of_kind("table")


def test_meeting_spec_ids_and_times() -> None:
    meeting = MeetingSpec.model_validate({"date": "2027-01-12", "time": "14:00"})
    assert meeting.meeting_id("ao") == "ao-2027-01-12"
    assert MeetingSpec(id="kick-off", date=meeting.date, time=meeting.time).meeting_id("ao") == (
        "kick-off"
    )
    start = meeting.starts_at()
    assert start.isoformat() == "2027-01-12T14:00:00+01:00"
    assert meeting.ends_at() - start == dt.timedelta(minutes=120)
    summer = MeetingSpec(date=dt.date(2027, 6, 3), time=dt.time(19, 30), duration_minutes=90)
    assert summer.starts_at().utcoffset() == dt.timedelta(hours=2)
    assert summer.ends_at().time() == dt.time(21, 0)


def test_mandate_covers() -> None:
    mandate = Mandate(
        person="p", party="x", body="ao", valid_from=dt.date(2026, 1, 1), valid_until=None
    )
    assert mandate.covers(dt.date(2030, 1, 1))
    assert not mandate.covers(dt.date(2025, 12, 31))
    closed = mandate.model_copy(update={"valid_until": dt.date(2026, 6, 30)})
    assert closed.covers(dt.date(2026, 6, 30))
    assert not closed.covers(dt.date(2026, 7, 1))


def test_time_as_string_is_accepted(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "ao")["meetings"][0]["time"] = "10:15"
    region = load_region(write(tmp_path, data))
    assert region.body("ao").meetings[0].time == dt.time(10, 15)


def test_optional_sections_may_be_left_out(tmp_path: Path, data: dict[str, Any]) -> None:
    for section in ("mandates", "substitutes", "calendar", "focus_points"):
        del data[section]
    del data["region"]["timezone"]
    region = load_region(write(tmp_path, data))
    assert region.mandates == [] and region.timezone == "Europe/Amsterdam"
    assert region.is_closed_day(dt.date(2027, 3, 26))  # Good Friday without open_days


# --- reading the file ------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    error = error_for(path)
    assert (error.file, error.key) == (str(path), "")
    assert str(error).startswith(f"{path}: file not found; check the path")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    error = error_for(tmp_path)
    assert error.key == "" and "is a directory" in str(error)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[region]\nname = "Gemeente Ede \u00eb"\n'.encode("latin-1"))
    error = error_for(path)
    assert error.key == "" and "not UTF-8" in error.problem


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[region]\nname = "FoodValley"\ncoordinator = \n', encoding="utf-8")
    error = error_for(path)
    assert error.key == "line 3"
    assert str(error).startswith(f"{path}: line 3: TOML syntax error: Invalid value; fix")


def test_toml_syntax_error_at_end_of_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[region]\nname = [1,\n 2", encoding="utf-8")
    error = error_for(path)
    assert error.key == "line 3" and "Unclosed array" in error.problem


def test_bad_fixture_files() -> None:
    """Hand-written broken files in tests/data/region: the expected key is in line 1."""
    for path in sorted(DATA.glob("*.toml")):
        expected = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# key: ")
        assert error_for(path).key == expected, path.name


# --- shape: unknown keys, missing keys, types ------------------------------------------------


def test_unknown_top_level_key(tmp_path: Path, data: dict[str, Any]) -> None:
    data["partys"] = [{"id": "x"}]
    check(tmp_path, data, "partys", "unknown key 'partys'", "parties")


def test_unknown_key_in_entry_suggests_the_right_one(tmp_path: Path, data: dict[str, Any]) -> None:
    body = entry(data, "bodies", "ao")
    body["chiar"] = body.pop("chair")
    check(tmp_path, data, "bodies[3].chiar", "unknown key 'chiar'", "did you mean 'chair'?")


def test_mandate_uses_toml_key_names(tmp_path: Path, data: dict[str, Any]) -> None:
    data["mandates"][2]["valid_from"] = data["mandates"][2].pop("from")
    check(
        tmp_path, data, "mandates[2].valid_from", "unknown key 'valid_from'", "did you mean 'from'?"
    )


def test_missing_key(tmp_path: Path, data: dict[str, Any]) -> None:
    del entry(data, "people", "koen-smit")["email"]
    i = index(data, "people", "koen-smit")
    check(tmp_path, data, f"people[{i}].email", "required key 'email' is missing")


def test_missing_table(tmp_path: Path, data: dict[str, Any]) -> None:
    del data["region"]
    check(tmp_path, data, "region", "required table [region] is missing")


@pytest.mark.parametrize(
    ("section", "field", "value", "fragment"),
    [
        ("people", "digest", "sometimes", "must be true or false"),
        ("people", "language", "de", "must be 'nl' or 'en'"),
        ("parties", "kind", "Gemeente", "not a kind"),
        ("people", "name", 42, "must be text"),
    ],
)
def test_wrong_value_type(
    tmp_path: Path, data: dict[str, Any], section: str, field: str, value: Any, fragment: str
) -> None:
    data[section][1][field] = value
    check(tmp_path, data, f"{section}[1].{field}", fragment)


@pytest.mark.parametrize(
    ("section", "ident_index"),
    [("parties", 0), ("people", 4), ("bodies", 1), ("focus_points", 2)],
)
def test_ids_are_lowercase_slugs(
    tmp_path: Path, data: dict[str, Any], section: str, ident_index: int
) -> None:
    data[section][ident_index]["id"] = "Bad Id"
    check(
        tmp_path,
        data,
        f"{section}[{ident_index}].id",
        "'Bad Id' is not a valid id",
        "lowercase letters, digits and '-'",
        "'bad-id'",
    )


def test_meeting_id_is_a_slug(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "oogo")["meetings"][1]["id"] = "-oogo"
    check(tmp_path, data, "bodies[4].meetings[1].id", "'-oogo' is not a valid id")


@pytest.mark.parametrize("email", ["jan.ede.example.org", "jan @ede.example.org", "jan@ede"])
def test_bad_email(tmp_path: Path, data: dict[str, Any], email: str) -> None:
    data["people"][3]["email"] = email
    check(tmp_path, data, "people[3].email", "is not a valid e-mail address", "name@domain.tld")


def test_unknown_timezone(tmp_path: Path, data: dict[str, Any]) -> None:
    data["region"]["timezone"] = "Europe/Foodvalley"
    check(tmp_path, data, "region.timezone", "unknown timezone 'Europe/Foodvalley'", "IANA")


def test_another_timezone_is_refused_not_misread(tmp_path: Path, data: dict[str, Any]) -> None:
    data["region"]["timezone"] = "Europe/London"
    check(tmp_path, data, "region.timezone", "'Europe/London' is not supported yet")


@pytest.mark.parametrize("days", [-1, 31])
def test_deadline_working_days_out_of_range(
    tmp_path: Path, data: dict[str, Any], days: int
) -> None:
    entry(data, "bodies", "oogo")["deadline_working_days"] = days
    check(tmp_path, data, "bodies[4].deadline_working_days", f"{days} is out of range", "0 to 30")


def test_deadline_working_days_bounds_are_allowed(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "oogo")["deadline_working_days"] = 30
    entry(data, "bodies", "ao")["deadline_working_days"] = 0
    assert load_region(write(tmp_path, data)).body("oogo").deadline_working_days == 30


@pytest.mark.parametrize("minutes", [0, -30])
def test_duration_must_be_positive(tmp_path: Path, data: dict[str, Any], minutes: int) -> None:
    entry(data, "bodies", "ao")["meetings"][2]["duration_minutes"] = minutes
    check(tmp_path, data, "bodies[3].meetings[2].duration_minutes", "length in minutes")


@pytest.mark.parametrize("value", ["25:00", "14h", 1400])
def test_bad_meeting_time(tmp_path: Path, data: dict[str, Any], value: Any) -> None:
    entry(data, "bodies", "ao")["meetings"][0]["time"] = value
    check(tmp_path, data, "bodies[3].meetings[0].time", "is not a time of day", '"14:00"')


def test_meeting_date_with_time_of_day(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "ao")["meetings"][0]["date"] = dt.datetime(2027, 1, 7, 9, 30)
    check(tmp_path, data, "bodies[3].meetings[0].date", "has a time of day", "YYYY-MM-DD")


def test_whole_number_expected(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "ao")["meetings"][0]["duration_minutes"] = 90.5
    check(tmp_path, data, "bodies[3].meetings[0].duration_minutes", "must be a whole number")


def test_missing_array_of_tables(tmp_path: Path, data: dict[str, Any]) -> None:
    del data["people"]
    check(tmp_path, data, "people", "the [[people]] entries are missing")


def test_table_given_as_value(tmp_path: Path, data: dict[str, Any]) -> None:
    data["calendar"] = [1]
    check(tmp_path, data, "calendar", "must be a table", "[calendar]")


def test_list_given_as_text(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "ao")["members"] = "thijs-veldhuizen"
    check(tmp_path, data, "bodies[3].members", "must be a list", 'members = ["...", "..."]')


def test_mandate_date_not_a_date(tmp_path: Path, data: dict[str, Any]) -> None:
    data["mandates"][5]["until"] = "end of 2027"
    check(tmp_path, data, "mandates[5].until", "is not a date", "YYYY-MM-DD")


# --- duplicate ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "first", "second"),
    [("parties", 1, 4), ("people", 2, 7), ("bodies", 0, 1), ("focus_points", 0, 4)],
)
def test_duplicate_id(
    tmp_path: Path, data: dict[str, Any], section: str, first: int, second: int
) -> None:
    ident = data[section][first]["id"]
    data[section][second]["id"] = ident
    check(
        tmp_path,
        data,
        f"{section}[{second}].id",
        f"'{ident}'",
        f"also at {section}[{first}].id",
        "must be unique",
    )


def test_duplicate_explicit_meeting_id_across_bodies(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "ao")["meetings"][1]["id"] = "kick-off"
    entry(data, "bodies", "oogo")["meetings"][2]["id"] = "kick-off"
    check(tmp_path, data, "bodies[4].meetings[2].id", "'kick-off'", "bodies[3].meetings[1].id")


def test_duplicate_generated_meeting_id(tmp_path: Path, data: dict[str, Any]) -> None:
    meetings = entry(data, "bodies", "ao")["meetings"]
    meetings.append({"date": meetings[1]["date"], "time": dt.time(15, 0)})
    last = len(meetings) - 1
    check(tmp_path, data, f"bodies[3].meetings[{last}].date", "'ao-2027-01-07'", "its own id")


# --- unknown references ----------------------------------------------------------------------


def test_unknown_party_of_person(tmp_path: Path, data: dict[str, Any]) -> None:
    data["people"][5]["party"] = "edee"
    check(tmp_path, data, "people[5].party", "unknown party 'edee'", "did you mean 'ede'?")


def test_unknown_party_of_mandate(tmp_path: Path, data: dict[str, Any]) -> None:
    data["mandates"][4]["party"] = "gemeente-x"
    check(tmp_path, data, "mandates[4].party", "unknown party 'gemeente-x'", "[[parties]]")


def test_unknown_party_of_substitute(tmp_path: Path, data: dict[str, Any]) -> None:
    data["substitutes"][1]["party"] = "swv-xx"
    check(tmp_path, data, "substitutes[1].party", "unknown party 'swv-xx'")


def test_unknown_party_of_body(tmp_path: Path, data: dict[str, Any]) -> None:
    i = index(data, "bodies", "lea-rhenen")
    data["bodies"][i]["party"] = "rhenen-x"
    check(tmp_path, data, f"bodies[{i}].party", "unknown party 'rhenen-x'")


def test_unknown_chair(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "ao")["chair"] = "thijs-veldhuyzen"
    check(
        tmp_path,
        data,
        "bodies[3].chair",
        "unknown person 'thijs-veldhuyzen'",
        "did you mean 'thijs-veldhuizen'?",
    )


def test_unknown_member(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "oogo")["members"][3] = "jan"
    check(tmp_path, data, "bodies[4].members[3]", "unknown person 'jan'", "[[people]]")


def test_member_listed_twice(tmp_path: Path, data: dict[str, Any]) -> None:
    members = entry(data, "bodies", "oogo")["members"]
    members.append(members[0])
    check(tmp_path, data, f"bodies[4].members[{len(members) - 1}]", "listed twice")


def test_unknown_person_of_mandate(tmp_path: Path, data: dict[str, Any]) -> None:
    data["mandates"][7]["person"] = "nobody"
    check(tmp_path, data, "mandates[7].person", "unknown person 'nobody'")


def test_unknown_person_of_substitute(tmp_path: Path, data: dict[str, Any]) -> None:
    data["substitutes"][0]["person"] = "nobody"
    check(tmp_path, data, "substitutes[0].person", "unknown person 'nobody'")


def test_unknown_coordinator(tmp_path: Path, data: dict[str, Any]) -> None:
    data["region"]["coordinator"] = "regisseur"
    check(tmp_path, data, "region.coordinator", "unknown person 'regisseur'")


def test_unknown_body_of_mandate(tmp_path: Path, data: dict[str, Any]) -> None:
    data["mandates"][0]["body"] = "a0"
    check(tmp_path, data, "mandates[0].body", "unknown body 'a0'", "did you mean 'ao'?")


def test_unknown_body_of_substitute(tmp_path: Path, data: dict[str, Any]) -> None:
    data["substitutes"][2]["body"] = "bo-jeugd"
    check(tmp_path, data, "substitutes[2].body", "unknown body 'bo-jeugd'", "[[bodies]]")


# --- bodies ----------------------------------------------------------------------------------


def test_chair_not_a_member(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "ao")["chair"] = "koen-smit"
    entry(data, "bodies", "ao")["members"].remove("koen-smit")
    check(
        tmp_path,
        data,
        "bodies[3].chair",
        "'koen-smit' is not a member of body 'ao'; add 'koen-smit' to bodies[3].members "
        "or choose a member as chair",
    )


@pytest.mark.parametrize("kind", ["chairs", "ao", "oogo"])
def test_a_body_the_builtin_workflows_need_is_missing(
    tmp_path: Path, data: dict[str, Any], kind: str
) -> None:
    for body in data["bodies"]:
        if body["kind"] == kind:
            body["kind"], body["id"] = "other", f"{kind}-renamed"
    for item in data["mandates"] + data["substitutes"]:
        if item["body"] == kind:
            item["body"] = f"{kind}-renamed"
    data["structure"] = {k: v for k, v in data["structure"].items() if not k.endswith("_body")}
    error = check(
        tmp_path,
        data,
        "bodies",
        f"no body of kind '{kind}'",
        "built-in workflows (information, adoption, advice)",
        "its own workflows under [workflows]",
    )
    # one problem, not one per workflow
    assert [key for _f, key, _p in error.problems].count("bodies") == 1


def test_a_body_kind_the_builtin_workflows_need_once_is_ambiguous(
    tmp_path: Path, data: dict[str, Any]
) -> None:
    entry(data, "bodies", "tafel-monitor")["kind"] = "chairs"
    check(
        tmp_path,
        data,
        "bodies",
        "2 bodies of kind 'chairs' (tafel-monitor, voorzitters)",
        "keep one of kind 'chairs'",
    )


def test_a_body_id_wins_over_a_kind(tmp_path: Path, data: dict[str, Any]) -> None:
    """Stage body "ao" names the body with id 'ao', so a second body of kind ao is fine."""
    entry(data, "bodies", "tafel-monitor")["kind"] = "ao"
    load_region(write(tmp_path, data))


def test_no_table(tmp_path: Path, data: dict[str, Any]) -> None:
    for ident in ("tafel-model", "tafel-monitor"):
        entry(data, "bodies", ident)["kind"] = "other"
    check(tmp_path, data, "bodies", "no body of kind 'table'", "add a [[bodies]] entry")


def test_bodies_no_workflow_uses_are_not_required(tmp_path: Path, data: dict[str, Any]) -> None:
    """Without the LEA rule of [structure], a region needs no LEAs at all."""
    data["bodies"] = [b for b in data["bodies"] if b["kind"] != "lea"]
    data["mandates"] = [m for m in data["mandates"] if not m["body"].startswith("lea-")]
    del data["structure"]["one_body_per_party"]
    data["structure"]["news_to"] = []
    region = load_region(write(tmp_path, data))
    assert region.bodies_of_kind("lea") == []


def test_coordinator_chairs_the_chairs_meeting(tmp_path: Path, data: dict[str, Any]) -> None:
    entry(data, "bodies", "voorzitters")["chair"] = "koen-smit"
    check(
        tmp_path,
        data,
        "bodies[2].chair",
        "must be chaired by the region coordinator 'coordinator'",
        'chair = "coordinator"',
    )


def test_municipality_without_lea(tmp_path: Path, data: dict[str, Any]) -> None:
    data["bodies"] = [b for b in data["bodies"] if b["id"] != "lea-nijkerk"]
    check(
        tmp_path,
        data,
        "bodies",
        "municipality 'nijkerk' (parties[2]) has no body of kind 'lea'",
        'kind = "lea" and party = "nijkerk"',
    )


def test_two_leas_for_one_municipality(tmp_path: Path, data: dict[str, Any]) -> None:
    i = index(data, "bodies", "lea-rhenen")
    data["bodies"][i]["party"] = "renswoude"
    check(
        tmp_path,
        data,
        f"bodies[{i}].party",
        f"'renswoude' already has a body of kind 'lea' (bodies[{i - 1}])",
        "exactly one",
    )


def test_lea_needs_a_party(tmp_path: Path, data: dict[str, Any]) -> None:
    i = index(data, "bodies", "lea-ede")
    del data["bodies"][i]["party"]
    check(tmp_path, data, f"bodies[{i}].party", "of kind 'lea'", 'party = "<municipality id>"')


def test_lea_party_must_be_a_municipality(tmp_path: Path, data: dict[str, Any]) -> None:
    i = index(data, "bodies", "lea-ede")
    data["bodies"][i]["party"] = "swv-po"
    check(tmp_path, data, f"bodies[{i}].party", "of kind 'swv_po'", "kind 'municipality'")


def test_overlapping_meetings_of_one_body(tmp_path: Path, data: dict[str, Any]) -> None:
    meetings = entry(data, "bodies", "ao")["meetings"]
    meetings.insert(3, {"id": "ao-extra", "date": meetings[2]["date"], "time": "11:00"})
    check(
        tmp_path,
        data,
        "bodies[3].meetings[3]",
        "meeting on 2027-02-04 11:00 overlaps bodies[3].meetings[2] (2027-02-04 09:30-11:30)",
        "move one of them",
    )


def test_back_to_back_meetings_do_not_overlap(tmp_path: Path, data: dict[str, Any]) -> None:
    meetings = entry(data, "bodies", "ao")["meetings"]
    meetings.append({"id": "ao-extra", "date": meetings[2]["date"], "time": "11:30"})
    assert len(load_region(write(tmp_path, data)).body("ao").meetings) == len(meetings)


# --- mandates and substitutes ----------------------------------------------------------------


def test_mandate_for_a_party_the_person_is_not_of(tmp_path: Path, data: dict[str, Any]) -> None:
    i = find(data, "mandates", person="marloes-kamphuis", body="ao")
    data["mandates"][i]["party"] = "ede"
    check(
        tmp_path,
        data,
        f"mandates[{i}].party",
        "'marloes-kamphuis' belongs to party 'barneveld', not 'ede'",
        'party = "barneveld"',
    )


def test_mandate_until_before_from(tmp_path: Path, data: dict[str, Any]) -> None:
    data["mandates"][3]["until"] = dt.date(2025, 12, 31)
    check(
        tmp_path,
        data,
        "mandates[3].until",
        "until 2025-12-31 is before from 2026-01-01",
        "swap the dates",
    )


def test_overlapping_mandates(tmp_path: Path, data: dict[str, Any]) -> None:
    later = dict(data["mandates"][1], **{"from": dt.date(2027, 6, 1)})
    del later["until"]
    data["mandates"].append(later)
    last = len(data["mandates"]) - 1
    check(
        tmp_path,
        data,
        f"mandates[{last}].from",
        "overlaps mandates[1] (2026-01-01 to 2027-12-31)",
        "let one end before the other starts",
    )


def test_consecutive_mandates_are_fine(tmp_path: Path, data: dict[str, Any]) -> None:
    later = dict(data["mandates"][1], **{"from": dt.date(2028, 1, 1)})
    del later["until"]
    data["mandates"].append(later)
    assert load_region(write(tmp_path, data)).mandates[-1].valid_until is None


def test_substitute_not_of_that_party(tmp_path: Path, data: dict[str, Any]) -> None:
    data["substitutes"][0]["person"] = "daan-meijer"
    check(
        tmp_path,
        data,
        "substitutes[0].person",
        "'daan-meijer' belongs to party 'swv-vo', not 'ede'",
        "choose a person of 'ede'",
    )


# --- every problem at once --------------------------------------------------------------------


def test_every_reference_problem_is_reported(tmp_path: Path, data: dict[str, Any]) -> None:
    data["people"][1]["party"] = "nobody"
    data["people"][2]["party"] = "nobody-else"
    data["mandates"][0]["body"] = "nobody"
    entry(data, "bodies", "voorzitters")["kind"] = "bestuur"
    error = check(tmp_path, data, "people[1].party", "'nobody'")
    keys = [key for _file, key, _problem in error.problems]
    assert keys[:2] == ["people[1].party", "people[2].party"]
    assert "mandates[0].body" in keys
    assert "bodies" in keys  # and the structure: no body of kind "chairs" any more
    assert str(error).startswith(f"{len(keys)} problems in the configuration")


def test_every_shape_problem_is_reported(tmp_path: Path, data: dict[str, Any]) -> None:
    data["people"][0]["email"] = "x"
    data["people"][3]["digest"] = "sometimes"
    entry(data, "bodies", "ao")["chiar"] = entry(data, "bodies", "ao").pop("chair")
    error = error_for(write(tmp_path, data))
    keys = [key for _file, key, _problem in error.problems]
    assert keys == ["people[0].email", "people[3].digest", "bodies[3].chiar"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["people"][0].update(email="x"),
        lambda d: d["region"].update(coordinator="x"),
        lambda d: d["mandates"][0].update(until=dt.date(2000, 1, 1)),
    ],
)
def test_errors_are_config_errors_with_exit_code_2(
    tmp_path: Path, data: dict[str, Any], mutate: Callable[[dict[str, Any]], None]
) -> None:
    mutate(data)
    error = error_for(write(tmp_path, data))
    assert error.exit_code == 2 and error.key and ADD in error.problem


def test_people_read_the_regions_language_unless_they_say(
    tmp_path: Path, data: dict[str, Any]
) -> None:
    data["region"]["language"] = "en"
    region = load_region(write(tmp_path, data))
    said = {p["id"]: p.get("language") for p in data["people"]}
    assert {p.id: p.language for p in region.people} == {
        ident: lang or "en" for ident, lang in said.items()
    }
    assert None in said.values() and "en" in said.values()  # both cases are in the example
