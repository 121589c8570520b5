"""A region's own workflows and roles: loading them, and every problem with them at once.

Starts from the second example region (``tests/data/region-heuvelland``), breaks one thing
per test and checks the ConfigError: file, key path, what to do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from regie.errors import ConfigError
from regie.region import load_region
from regie.region_structure import bodies_for
from regie.workflows.definition import builtin_workflows

DATA = Path(__file__).parent / "data" / "region-heuvelland"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "region"
    shutil.copytree(DATA, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(folder: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_region(folder / "region.toml")
    return caught.value.problems


def test_the_example_loads_its_own_workflows(folder: Path) -> None:
    region = load_region(folder / "region.toml")
    assert region.own_workflows == {"information", "adoption", "advice"}
    adoption = region.workflows["adoption"]
    assert adoption.source == str(folder / "workflows" / "adoption.toml")
    assert [s.body for s in adoption.stages] == ["werkgroep", "stuurgroep", "bo"]
    info = region.workflows["information"]
    assert info.source == f"{folder / 'region.toml'} [workflows.information]"
    assert info.default_route == ["werkgroep", "stuurgroep"]
    assert info.text.startswith('purpose = "information"')  # stored as TOML, hashed as such
    roles = region.roles
    assert (roles.routing_body, roles.top_body, roles.news_bodies) == (
        "stuurgroep",
        "bo",
        ("werkgroep-jeugd",),
    )


def test_purposes_the_region_leaves_out_use_the_builtin(folder: Path) -> None:
    (folder / "workflows" / "advice.toml").unlink()
    found = problems(folder)  # the built-in advice workflow needs table, chairs, ao, oogo
    assert [key for _f, key, _p in found] == ["bodies"] * 4
    kinds = [p.split("'")[1] for _f, _key, p in found]
    assert kinds == ["table", "chairs", "ao", "oogo"]
    assert all("built-in workflow (advice)" in p for _f, _key, p in found)


def test_a_region_without_own_workflows_gets_the_builtins(tmp_path: Path) -> None:
    region = load_region(Path(__file__).parents[1] / "config" / "foodvalley.toml")
    assert region.own_workflows == frozenset()
    assert region.workflows == builtin_workflows()


def test_an_inline_workflow_error_names_its_table(folder: Path) -> None:
    edit(folder / "region.toml", 'final = "stuurgroep"', 'final = "stuurgroepp"')
    [(file, key, problem)] = problems(folder)
    assert file == f"{folder / 'region.toml'} [workflows.information]"
    assert key == "final" and "unknown stage 'stuurgroepp'" in problem


def test_an_inline_workflow_with_another_purpose(folder: Path) -> None:
    edit(
        folder / "region.toml",
        "[workflows.information]\n",
        '[workflows.information]\npurpose = "advice"\n',
    )
    [(_file, key, problem)] = problems(folder)
    assert key == "purpose" and "given for 'information'" in problem


def test_a_workflow_defined_twice(folder: Path) -> None:
    shutil.copy(folder / "workflows" / "adoption.toml", folder / "workflows" / "information.toml")
    edit(
        folder / "workflows" / "information.toml", 'purpose = "adoption"', 'purpose = "information"'
    )
    found = problems(folder)
    assert [key for _f, key, _p in found] == ["workflows"]
    assert "information workflow is defined twice" in found[0][2]


def test_a_missing_workflows_folder(folder: Path) -> None:
    shutil.rmtree(folder / "workflows")
    found = problems(folder)
    assert found[0][1] == "workflows.dir" and "does not exist" in found[0][2]


def test_a_stage_after_the_start_must_name_one_body(folder: Path) -> None:
    edit(folder / "workflows" / "adoption.toml", 'body = "bo"', 'body = "gemeente"')
    edit(folder / "region.toml", 'kind = "bestuur"', 'kind = "werkgroep"')
    found = problems(folder)
    keys = {(Path(f).name, key) for f, key, _p in found}
    assert ("adoption.toml", "stages.bo.body") in keys
    why = next(p for f, key, p in found if f.endswith("adoption.toml"))
    assert why.startswith("no body with id or kind 'gemeente'")


def test_the_start_may_name_a_kind_with_several_bodies(folder: Path) -> None:
    edit(folder / "region.toml", 'kind = "stuurgroep"', 'kind = "werkgroep"')
    region = load_region(folder / "region.toml")  # stuurgroep is also named by its id
    pairs = [(b.id, b.kind) for b in region.bodies]
    assert bodies_for("werkgroep", pairs) == ["werkgroep-jeugd", "stuurgroep"]
    assert bodies_for("stuurgroep", pairs) == ["stuurgroep"]


def test_roles_name_bodies(folder: Path) -> None:
    edit(folder / "region.toml", 'news_to = ["werkgroep"]', 'news_to = ["werkgroep", "lea"]')
    edit(folder / "region.toml", 'routing_body = "stuurgroep"', 'routing_body = "stuurgroup"')
    found = problems(folder)
    assert [key for _f, key, _p in found] == ["structure.routing_body", "structure.news_to[1]"]
    assert "did you mean 'stuurgroep'?" in found[0][2]


def test_one_body_per_party_is_the_regions_rule(folder: Path) -> None:
    edit(
        folder / "region.toml",
        "routing_chaired_by_coordinator = true\n",
        "routing_chaired_by_coordinator = true\n"
        'one_body_per_party = [{ body_kind = "werkgroep", party_kind = "gemeente" }]\n',
    )
    found = problems(folder)
    assert [key for _f, key, _p in found] == ["bodies[0].party", "bodies", "bodies"]
    assert "gemeente 'bergdorp' (parties[0]) has no body of kind 'werkgroep'" in found[1][2]


def test_the_route_is_set_where_the_routing_body_meets(folder: Path) -> None:
    edit(
        folder / "workflows" / "adoption.toml", 'route_setter = "stuurgroep"', 'route_setter = "bo"'
    )
    [(file, key, problem)] = problems(folder)
    assert (Path(file).name, key) == ("adoption.toml", "route_setter")
    assert "stage 'bo', which meets in 'bo', but the routing body is 'stuurgroep'" in problem


def test_route_setter_defaults_to_the_stage_after_the_start(folder: Path) -> None:
    edit(folder / "workflows" / "adoption.toml", 'route_setter = "stuurgroep"\n', "")
    assert load_region(folder / "region.toml").workflows["adoption"].route_setter == "stuurgroep"


def test_a_broken_adoption_workflow_is_one_problem(folder: Path) -> None:
    edit(
        folder / "workflows" / "adoption.toml", "requires_mandate = true", 'requires_mandate = "ja"'
    )
    [(file, key, problem)] = problems(folder)
    assert (Path(file).name, key) == ("adoption.toml", "requires_mandate")
    assert problem.startswith("must be true or false")
