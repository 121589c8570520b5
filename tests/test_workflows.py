"""Workflow definitions: the shipped files, the loader and its validation messages."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regie.errors import UsageError, WorkflowError
from regie.region import load_region
from regie.workflows import (
    BODY_KINDS,
    Workflow,
    builtin_workflows,
    load_workflow,
    parse_workflow,
    stored_workflow,
)
from regie.workflows.definition import builtin_texts

DATA = Path(__file__).parent / "data"

BASE = """\
purpose = "adoption"
label = { nl = "ter vaststelling", en = "for adoption" }
final = "oogo"
route_setter = "chairs"
requires_mandate = true
default_route = ["table", "chairs", "ao", "oogo"]

[[stages]]
id = "table"
body = "table"
label = { nl = "tafel", en = "table" }

[[stages]]
id = "chairs"
body = "chairs"
label = { nl = "voorzittersoverleg", en = "chairs' meeting" }

[[stages]]
id = "ao"
body = "ao"
label = { nl = "ambtelijk overleg", en = "civil servants' meeting" }

[[stages]]
id = "oogo"
body = "oogo"
label = { nl = "OOGO", en = "OOGO" }

[moves]
advance = [["table", "chairs"], ["chairs", "ao"], ["ao", "oogo"]]
returns = [["chairs", "table"], ["ao", "chairs"], ["oogo", "ao"]]
defer = ["table", "chairs", "ao", "oogo"]
withdraw = ["table", "chairs", "ao", "oogo"]

[[outcomes]]
id = "adopted"
label = { nl = "vastgesteld", en = "adopted" }

[[outcomes]]
id = "rejected"
label = { nl = "niet vastgesteld", en = "rejected" }
"""

ADVANCE = 'advance = [["table", "chairs"], ["chairs", "ao"], ["ao", "oogo"]]'
RETURNS = 'returns = [["chairs", "table"], ["ao", "chairs"], ["oogo", "ao"]]'
CHAIRS_STAGE = '[[stages]]\nid = "chairs"'
LEA_STAGE = '[[stages]]\nid = "lea"\nbody = "table"\nlabel = { nl = "LEA", en = "LEA" }\n\n'


def edited(*replacements: tuple[str, str]) -> str:
    text = BASE
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def problem_of(text: str) -> WorkflowError:
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(text, "test.toml")
    return caught.value


def test_base_text_is_valid() -> None:
    workflow = parse_workflow(BASE, "test.toml")
    assert workflow.start == "table"
    assert workflow.source == "test.toml"


# (test id, edits, expected key, fragment of the problem)
INVALID = [
    (
        "body that is no id",
        [('body = "ao"', 'body = "Council Room"')],
        "stages.ao.body",
        "a body id may also have '-'",
    ),
    (
        "one stage",
        [(BASE[BASE.index(CHAIRS_STAGE) : BASE.index("[moves]")], "")],
        "stages",
        "1 stages; a workflow has 2 to 6 stages",
    ),
    (
        "seven stages",
        [
            (
                CHAIRS_STAGE,
                "".join(LEA_STAGE.replace('"lea"', f'"s{i}"') for i in range(3)) + CHAIRS_STAGE,
            )
        ],
        "stages",
        "7 stages; a workflow has 2 to 6 stages",
    ),
    (
        "duplicate stage id",
        [('id = "ao"', 'id = "chairs"')],
        "stages[2].id",
        "stage id 'chairs' is used twice",
    ),
    (
        "move to unknown stage",
        [(ADVANCE, ADVANCE[:-1] + ', ["ao", "lea"]]')],
        "moves.advance[3]",
        "unknown stage 'lea'; use one of the stage ids: table, chairs, ao, oogo",
    ),
    (
        "defer at unknown stage",
        [('defer = ["table"', 'defer = ["tafel"')],
        "moves.defer[0]",
        "unknown stage 'tafel'",
    ),
    (
        "unreachable stage",
        [(CHAIRS_STAGE, LEA_STAGE + CHAIRS_STAGE), (ADVANCE, ADVANCE[:-1] + ', ["lea", "oogo"]]')],
        "stages.lea",
        "stage 'lea' cannot be reached from the start 'table'",
    ),
    (
        "stage with no way out",
        [(CHAIRS_STAGE, LEA_STAGE + CHAIRS_STAGE), (ADVANCE, ADVANCE[:-1] + ', ["table", "lea"]]')],
        "stages.lea",
        "stage 'lea' has no way out",
    ),
    (
        "final stage unknown",
        [('final = "oogo"', 'final = "board"')],
        "final",
        "unknown stage 'board'",
    ),
    (
        "no outcomes",
        [
            ("requires_mandate = true", "requires_mandate = true\noutcomes = []"),
            (BASE[BASE.index("[[outcomes]]") :], ""),
        ],
        "outcomes",
        "no outcomes: the final step at 'oogo' must record one",
    ),
    (
        "default route skips a stage",
        [('default_route = ["table", "chairs", "ao"', 'default_route = ["table", "ao"')],
        "default_route",
        "not a valid route (no advance from 'table' to 'ao')",
    ),
    (
        "default route stops early",
        [('default_route = ["table", "chairs", "ao", "oogo"]', 'default_route = ["table"]')],
        "default_route",
        "a route must end at 'oogo'",
    ),
    (
        "return to a later stage",
        [(RETURNS, RETURNS[:-1] + ', ["chairs", "ao"]]')],
        "moves.returns[3]",
        "return from 'chairs' to 'ao' does not go back",
    ),
    (
        "return to the same stage",
        [(RETURNS, RETURNS[:-1] + ', ["ao", "ao"]]')],
        "moves.returns[3]",
        "return from 'ao' to 'ao' does not go back",
    ),
    (
        "advance going back",
        [(ADVANCE, ADVANCE[:-1] + ', ["ao", "table"]]')],
        "moves.advance[3]",
        "advance from 'ao' to 'table' does not go forward",
    ),
    (
        "route setter not a stage",
        [('route_setter = "chairs"', 'route_setter = "voorzitters"')],
        "route_setter",
        "unknown stage 'voorzitters'",
    ),
    (
        "duplicate outcome id",
        [('id = "rejected"', 'id = "adopted"')],
        "outcomes[1].id",
        "outcome id 'adopted' is used twice",
    ),
    (
        "stage label without nl",
        [('{ nl = "voorzittersoverleg", en', "{ en")],
        "stages.chairs.label.nl",
        "required key is missing",
    ),
    (
        "workflow label without en",
        [('{ nl = "ter vaststelling", en = "for adoption" }', '{ nl = "ter vaststelling" }')],
        "label.en",
        "required key is missing",
    ),
    (
        "empty label",
        [('en = "adopted"', 'en = ""')],
        "outcomes.adopted.label.en",
        "must not be empty",
    ),
    (
        "purpose not known",
        [('purpose = "adoption"', 'purpose = "decision"')],
        "purpose",
        "must be one of: information, adoption, advice (got 'decision')",
    ),
    (
        "advance out of the final stage",
        [(ADVANCE, ADVANCE[:-1] + ', ["oogo", "ao"]]')],
        "moves.advance[3]",
        "'oogo' is the final stage (it records the outcome) and cannot advance",
    ),
    (
        "unknown top-level key",
        [("final =", 'colour = "red"\nfinal =')],
        "colour",
        "unknown key 'colour'; allowed keys here: purpose, label, final, route_setter",
    ),
    (
        "unknown stage key",
        [('body = "ao"', 'body = "ao"\ncolour = "red"')],
        "stages.ao.colour",
        "unknown key 'colour'; allowed keys here: id, body, label",
    ),
    (
        "unknown moves key",
        [("defer =", "skip = []\ndefer =")],
        "moves.skip",
        "allowed keys here: advance, returns, defer, withdraw",
    ),
    (
        "missing moves key",
        [(RETURNS + "\n", "")],
        "moves.returns",
        "required key is missing",
    ),
    (
        "edge with three stages",
        [('["chairs", "ao"], ["ao"', '["chairs", "ao", "oogo"], ["ao"')],
        "moves.advance[1]",
        'must be a pair; write it as ["from", "to"]',
    ),
    (
        "mandate as a string",
        [("requires_mandate = true", 'requires_mandate = "yes"')],
        "requires_mandate",
        "must be true or false (without quotes) (got 'yes')",
    ),
    (
        "stage id with a capital",
        [('id = "ao"', 'id = "AO"')],
        "stages[2].id",
        "use lowercase letters, digits and '_'",
    ),
    (
        "edge listed twice",
        [(ADVANCE, ADVANCE[:-1] + ', ["ao", "oogo"]]')],
        "moves.advance[3]",
        '["ao", "oogo"] is listed twice',
    ),
    (
        "toml syntax error",
        [('final = "oogo"', "final = oogo")],
        "line 3",
        "TOML syntax error",
    ),
]


@pytest.mark.parametrize(
    ("edits", "key", "fragment"),
    [pytest.param(e, k, f, id=name) for name, e, k, f in INVALID],
)
def test_invalid_definition_names_file_key_and_problem(
    edits: list[tuple[str, str]], key: str, fragment: str
) -> None:
    error = problem_of(edited(*edits))
    found = [problem for file, at, problem in error.problems if (file, at) == ("test.toml", key)]
    assert any(fragment in problem for problem in found), str(error)
    assert f"test.toml: {key}: " in str(error)
    assert "pydantic" not in str(error)
    assert all("\n" not in line for line in error.lines)


def test_no_stages() -> None:
    text = (
        BASE[: BASE.index("[[stages]]")].replace(
            "requires_mandate = true", "requires_mandate = true\nstages = []"
        )
        + BASE[BASE.index("[moves]") :]
    )
    error = problem_of(text)
    assert (error.key, error.problem[:20]) == ("stages", "there are no stages;")


def test_every_problem_of_a_round_is_reported() -> None:
    error = problem_of(
        edited(('final = "oogo"', 'final = "x"'), ('defer = ["table"', 'defer = ["tafel"'))
    )
    assert [key for _f, key, _p in error.problems] == ["final", "moves.defer[0]"]
    shape = problem_of(edited(('body = "ao"', 'body = "Y Y"'), ('en = "adopted"', 'en = ""')))
    assert [key for _f, key, _p in shape.problems] == [
        "stages.ao.body",
        "outcomes.adopted.label.en",
    ]


def test_builtins_load() -> None:
    workflows = builtin_workflows()
    assert list(workflows) == ["information", "adoption", "advice"]
    for purpose, workflow in workflows.items():
        assert isinstance(workflow, Workflow)
        assert workflow.purpose == purpose
        assert workflow.source == f"{purpose}.toml"
        assert workflow.start == "table"
        assert workflow.final == "oogo"
        assert workflow.route_setter == "chairs"
        assert workflow.default_route == ["table", "chairs", "ao", "oogo"]
        assert [s.body for s in workflow.stages] == list(BODY_KINDS)
        assert all(set(s.label) == {"nl", "en"} for s in workflow.stages)
        assert workflow.digest == hashlib.sha256(workflow.text.encode("utf-8")).hexdigest()
    assert builtin_workflows()["adoption"] is workflows["adoption"]


def test_builtin_specifics() -> None:
    info, adoption, advice = (builtin_workflows()[p] for p in ("information", "adoption", "advice"))
    assert info.label == {"nl": "ter informatie", "en": "for information"}
    assert adoption.label == {"nl": "ter vaststelling", "en": "for adoption"}
    assert (info.requires_mandate, adoption.requires_mandate, advice.requires_mandate) == (
        False,
        True,
        True,
    )
    assert info.outcome("noted").label == {"nl": "voor kennisgeving aangenomen", "en": "noted"}
    assert [o.id for o in adoption.outcomes] == ["adopted", "rejected"]
    assert [o.id for o in advice.outcomes] == ["positive", "negative", "no_consensus"]
    assert all(o.text_required for o in advice.outcomes)
    assert advice.outcome("no_consensus").label == {
        "nl": "geen overeenstemming",
        "en": "no consensus",
    }
    assert not adoption.outcome("adopted").text_required
    # decisions at the right level: information is noted (no decision) and may end below
    # the OOGO; an advice names its addressee; adoption ends at the OOGO only
    assert (info.records_decision, adoption.records_decision, advice.records_decision) == (
        False,
        True,
        True,
    )
    assert info.end_stages == ["chairs", "ao", "oogo"]
    assert adoption.end_stages == advice.end_stages == ["oogo"]
    assert (info.addressee, adoption.addressee, advice.addressee) == (False, False, True)
    assert ["table", "chairs"] in info.allowed_routes()
    assert ["table", "chairs"] not in adoption.allowed_routes()
    assert adoption.stage("chairs").label["nl"] == "voorzittersoverleg"


def test_builtin_text_is_the_packaged_file() -> None:
    package_dir = Path(__file__).parents[1] / "src" / "regie" / "workflows"
    for purpose, workflow in builtin_workflows().items():
        assert workflow.text == (package_dir / f"{purpose}.toml").read_text(encoding="utf-8")


def test_digest_changes_with_one_character() -> None:
    one = parse_workflow(BASE, "test.toml")
    two = parse_workflow(BASE.replace('en = "table"', 'en = "tablE"'), "test.toml")
    assert one.text == BASE
    assert len(one.digest) == 64
    assert one.digest != two.digest
    assert parse_workflow(BASE, "other.toml").digest == one.digest


def test_allowed_routes() -> None:
    workflows = builtin_workflows()
    assert ["table", "chairs", "oogo"] in workflows["information"].allowed_routes()
    assert workflows["information"].allowed_routes()[0] == ["table", "chairs", "ao", "oogo"]
    assert ["table", "chairs", "oogo"] in workflows["advice"].allowed_routes()
    assert workflows["adoption"].allowed_routes() == [["table", "chairs", "ao", "oogo"]]


def test_is_valid_route() -> None:
    info = builtin_workflows()["information"]
    assert info.is_valid_route(["table", "chairs", "oogo"])
    assert not info.is_valid_route([])
    assert not info.is_valid_route(["chairs", "oogo"])
    assert info.is_valid_route(["table", "chairs", "ao"])  # information may end at the AO
    assert not info.is_valid_route(["table"])  # but not at the table: the route goes via chairs
    assert not builtin_workflows()["adoption"].is_valid_route(["table", "chairs", "ao"])
    assert not info.is_valid_route(["table", "ao", "oogo"])
    assert not info.is_valid_route(["table", "chairs", "lea", "oogo"])
    assert not builtin_workflows()["adoption"].is_valid_route(["table", "chairs", "oogo"])


def test_next_stage() -> None:
    info = builtin_workflows()["information"]
    route = ["table", "chairs", "oogo"]
    assert info.next_stage(route, "table") == "chairs"
    assert info.next_stage(route, "chairs") == "oogo"
    assert info.next_stage(route, "oogo") is None
    with pytest.raises(ValueError):
        info.next_stage(route, "ao")


def test_check_route_lists_allowed_routes() -> None:
    adoption = builtin_workflows()["adoption"]
    adoption.check_route(["table", "chairs", "ao", "oogo"])
    with pytest.raises(UsageError) as caught:
        adoption.check_route(["table", "chairs", "oogo"])
    message = str(caught.value)
    assert "route 'table -> chairs -> oogo' is not allowed for adoption proposals" in message
    assert "no advance from 'chairs' to 'oogo'" in message
    assert message.endswith("allowed routes: table -> chairs -> ao -> oogo")
    allowed = (
        "table -> chairs -> ao -> oogo; table -> chairs; table -> chairs -> ao; "
        "table -> chairs -> oogo"
    )
    with pytest.raises(UsageError, match=allowed):
        builtin_workflows()["information"].check_route(["table", "oogo"])


def test_stage_and_outcome_lookup() -> None:
    adoption = builtin_workflows()["adoption"]
    assert adoption.stage("ao").body == "ao"
    with pytest.raises(KeyError):
        adoption.stage("lea")
    with pytest.raises(KeyError):
        adoption.outcome("noted")


def test_workflow_is_frozen() -> None:
    adoption = builtin_workflows()["adoption"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        adoption.final = "ao"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        adoption.stages[0].body = "ao"  # type: ignore[misc]


def test_trusted_and_validating_parse_agree_on_the_builtins() -> None:
    texts = builtin_texts()
    assert sorted(texts) == ["adoption.toml", "advice.toml", "information.toml"]
    for name, text in texts.items():
        validated = parse_workflow(text, name)
        assert stored_workflow(text, name) == validated
        assert builtin_workflows()[validated.purpose] == validated


def test_trusted_and_validating_parse_agree_on_a_regions_own_workflows() -> None:
    region = load_region(DATA / "region-heuvelland" / "region.toml")
    assert region.own_workflows == {"information", "adoption", "advice"}
    for purpose, validated in region.workflows.items():
        trusted = stored_workflow(validated.text, validated.source)
        assert trusted == validated, purpose
        assert validated != builtin_workflows()[purpose]  # the region's own, not a default


def test_trusted_parse_fills_in_the_defaults() -> None:
    text = BASE.replace('route_setter = "chairs"\n', "")
    assert "route_setter" not in text
    trusted, validated = stored_workflow(text, "t.toml"), parse_workflow(text, "t.toml")
    assert trusted == validated
    assert trusted.route_setter == "chairs"  # the stage after the start
    assert (trusted.ends, trusted.records_decision, trusted.addressee) == ([], True, False)
    assert trusted.advance[0] == ("table", "chairs")  # pairs are tuples, as validated
    assert trusted.digest == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_importing_the_runtime_workflows_loads_no_pydantic() -> None:
    code = (
        "import sys, regie.workflows, regie.labels, regie.engine.machine; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@given(st.lists(st.sampled_from(["table", "chairs", "ao", "oogo", "lea"]), max_size=6))
def test_valid_routes_are_exactly_the_allowed_ones(route: list[str]) -> None:
    for workflow in builtin_workflows().values():
        assert workflow.is_valid_route(route) == (route in workflow.allowed_routes())


def test_load_workflow_from_file(tmp_path: Path) -> None:
    path = tmp_path / "custom.toml"
    path.write_bytes(BASE.replace("\n", "\r\n").encode("utf-8"))
    workflow = load_workflow(path)
    assert workflow.source == str(path)
    assert workflow.text == BASE.replace("\n", "\r\n")
    assert workflow.digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_load_workflow_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="cannot read the file"):
        load_workflow(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'purpose = "adoption"\nlabel = "\xff"\n')
    with pytest.raises(WorkflowError) as caught:
        load_workflow(bad)
    assert (caught.value.file, caught.value.key) == (str(bad), "line 2")
    assert "not valid UTF-8" in caught.value.problem
    broken = tmp_path / "broken.toml"
    broken.write_text(edited(('final = "oogo"', 'final = "council"')), encoding="utf-8")
    with pytest.raises(WorkflowError, match=r"broken\.toml: final: unknown stage 'council'"):
        load_workflow(broken)
