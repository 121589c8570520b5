"""`regie audit search` and `regie audit decisions` (issue 19): the search index follows
every text the engine writes (in the same transaction), Dutch stemming, ranking, each
filter, who decided for which party, the migration that fills an existing database, the
CLI and its refusals, and the PostgreSQL ``dutch`` configuration. Real SQLite files (the
``world`` fixture) and the real PostgreSQL server; a fixed clock."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from regie.cli import cli
from regie.clock import FixedClock
from regie.dispute.search import bare_search, decisions, search, snippet
from regie.dispute.stems import stems
from regie.engine import attendance, changes, storage
from regie.engine import decisions as deciding
from regie.engine.schema_version import alembic_config
from regie.engine.setup import init_database
from regie.engine.storage import Database
from regie.errors import UsageError
from regie.workflows.definition import builtin_workflows

TITLE = "Regionaal beleidskader onderwijs-zorgarrangementen"
SUMMARY = "Besluit over de inzet van de middelen voor thuiszitters."
V1 = "De regio stelt het beleidskader OZA vast."
V2 = "De regio stelt het beleidskader OZA vast, met zwembadvervoer voor leerlingen in 2027."
CORRECTION = "De looptijd ontbreekt in de tekst."
POSITION = "Akkoord, mits de monitor jaarlijks terugkomt in het overleg."
OTHER_TITLE = "Leerlingenvervoer naar het speciaal onderwijs"
OTHER_SUMMARY = (
    "Gemeenten en samenwerkingsverbanden regelen het vervoer van leerlingen samen; de "
    "aanbesteding loopt via Ede, met afspraken over reistijd, begeleiding en kosten, en in "
    "een bijlage het verband met het beleidskader."
)


@dataclass
class Story:
    decided: str  # adopted, amended (v2) and confirmed, at the OOGO
    open: str  # still at its table
    meeting: str  # the OOGO meeting that decided
    present: str  # Ede's mandated representative, present
    position_by: str  # SWV VO's representative, who gave a prior position


def tell(world: Any) -> Story:
    oogo = world.body_id("oogo")
    pid = world.submit(title=TITLE, summary=SUMMARY, parties=["ede", "swv-vo"], focus_point="sp5")
    other = world.submit(title=OTHER_TITLE, summary=OTHER_SUMMARY, parties=["barneveld"],
                         focus_point="sp2")  # fmt: skip
    while world.show(pid)["state"] != "oogo":
        world.advance(pid)
    meeting = str(world.show(pid)["meeting"])
    world.approve(meeting)
    by = world.mandated("swv-vo", oogo)
    world.call(attendance.record_prior_position, meeting_id=meeting, proposal_id=pid, person=by,
               stance="agree", position="Eerste versie van het standpunt over kosten.")  # fmt: skip
    world.call(attendance.record_prior_position, meeting_id=meeting, proposal_id=pid, person=by,
               stance="agree", position=POSITION)  # fmt: skip
    world.to_meeting_of(pid)
    present = world.mandated("ede", oogo)
    world.call(attendance.record_attendance, meeting_id=meeting, person=present, status="present")
    world.call(deciding.decide, proposal_id=pid, outcome="adopted", text=V1)
    world.clock.set(world.clock.now() + timedelta(hours=2))
    chair = world.chair("oogo")
    world.call(deciding.request_correction, actor=chair, proposal_id=pid, version=1,
               comment=CORRECTION)  # fmt: skip
    world.call(deciding.confirm, proposal_id=pid, amend_text=V2)
    world.call(deciding.confirm, actor=chair, proposal_id=pid, version=2)
    return Story(pid, other, meeting, present, by)


@pytest.fixture
def story(world: Any) -> Story:
    return tell(world)


def find(world: Any, text: str, **filters: Any) -> list[dict[str, Any]]:
    return list(world.read(search, text=text, **filters))


def ids(hits: list[dict[str, Any]]) -> list[str]:
    return [h["id"] for h in hits]


def entries(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return sorted(
            conn.execute(
                "SELECT proposal_id, kind, ref, meeting_id, text, stems, at FROM search_entry"
            ).fetchall()
        )


# -- stemming, kinds of text, ranking ---------------------------------------------------


def test_dutch_stemming_finds_other_forms_of_a_word(world: Any, story: Story) -> None:
    assert stems("besluiten") == stems("besluit")
    (hit,) = find(world, "besluiten")  # the summary says "Besluit"
    assert (hit["id"], hit["kind"], hit["ref"]) == (story.decided, "proposal", "summary")
    assert hit["snippet"].startswith("Besluit over de inzet")
    # all words must match, each in any of its forms; a compound is one word
    assert ids(find(world, "thuiszitter onderwijs zorgarrangement")) == [story.decided]
    assert find(world, "thuiszitters arrangement") == []


def test_every_kind_of_text_is_found(world: Any, story: Story) -> None:
    cases = {
        "zwembadvervoer": ("decision", "2"),  # only in the amended text
        "looptijd": ("correction", "1"),
        "monitor jaarlijks": ("position", "swv-vo"),
        "Leerlingenvervoer": ("proposal", "title"),
    }
    for text, (kind, ref) in cases.items():
        hit = find(world, text)[0]
        assert (hit["kind"], hit["ref"]) == (kind, ref), text
    # the first prior position was replaced by the second: its words are gone
    assert find(world, "eerste versie standpunt") == []
    assert [h["kind"] for h in find(world, "beleidskader OZA vast")] == ["decision"]


def test_a_title_match_ranks_above_a_passing_mention(world: Any, story: Story) -> None:
    hits = find(world, "beleidskader")
    assert ids(hits) == [story.decided, story.open]
    assert (hits[0]["kind"], hits[0]["ref"]) == ("proposal", "title")
    assert (hits[1]["kind"], hits[1]["ref"]) == ("proposal", "summary")
    assert hits[0]["score"] > hits[1]["score"] > 0  # relevance: higher is better
    assert "beleidskader" in hits[1]["snippet"] and hits[1]["snippet"].startswith("… ")
    bare = world.read(bare_search, text="beleidskader", limit=10)
    assert {b[0] for b in bare} == {story.decided, story.open} and len(bare) >= 3


def test_a_hit_says_where_how_and_by_whom_it_was_decided(world: Any, story: Story) -> None:
    (hit,) = find(world, "zwembadvervoer", lang="nl")
    assert (hit["body"], hit["meeting"], hit["outcome"], hit["version"]) == (
        world.body_id("oogo"), story.meeting, "adopted", 2)  # fmt: skip
    assert hit["outcome_label"] == "vastgesteld" and hit["confirmed"] is True
    assert hit["meeting_starts_at"].startswith(world.show(story.decided)["meeting_starts_at"][:10])
    by = {p["party"]: p["by"] for p in hit["decided_by"]}
    assert [(v["person"], v["as"], v["as_label"]) for v in by["ede"]] == [
        (story.present, "present", "aanwezig")]  # fmt: skip
    assert [(v["person"], v["as"], v["stance"]) for v in by["swv-vo"]] == [
        (story.position_by, "prior_position", "agree")]  # fmt: skip
    (still,) = find(world, "Leerlingenvervoer")
    assert (still["decided"], still["outcome"], still["decided_by"]) == (False, None, [])
    assert (still["body"], still["meeting"]) == ("tafel-model", world.show(story.open)["meeting"])


# -- filters ------------------------------------------------------------------------------


def test_each_filter(world: Any, story: Story) -> None:
    both = "beleidskader"
    day = date.fromisoformat(world.show(story.decided)["meeting_starts_at"][:10])
    open_day = date.fromisoformat(world.show(story.open)["meeting_starts_at"][:10])
    assert ids(find(world, both, party="ede")) == [story.decided]
    assert ids(find(world, both, party="barneveld")) == [story.open]
    assert ids(find(world, both, body=world.body_id("oogo"))) == [story.decided]
    assert ids(find(world, both, body="tafel-model")) == [story.open]
    assert ids(find(world, both, focus_point="sp2")) == [story.open]
    assert ids(find(world, both, outcome="adopted")) == [story.decided]
    assert find(world, both, outcome="rejected") == []
    assert ids(find(world, both, since=day)) == [story.decided]
    assert ids(find(world, both, since=str(day), until=str(day))) == [story.decided]
    assert ids(find(world, both, until=str(open_day))) == [story.open]
    assert ids(find(world, both, since=open_day, until=day - timedelta(days=1))) == [story.open]
    assert ids(find(world, both, party="ede", outcome="adopted", since=day)) == [story.decided]
    assert ids(find(world, both, limit=1)) == [story.decided]


def test_decisions_lists_the_standing_version_newest_first(world: Any, story: Story) -> None:
    (d,) = world.read(decisions, lang="en")
    assert (d["id"], d["version"], d["decision_text"], d["outcome_label"]) == (
        story.decided, 2, V2, "adopted")  # fmt: skip
    assert d["confirmed"] and {p["party"] for p in d["decided_by"]} == {"ede", "swv-vo"}
    assert world.read(decisions, party="barneveld") == []
    assert world.read(decisions, outcome="rejected") == []
    # a second decision at a later meeting comes first
    later = world.submit(title="Tweede besluit", parties=["ede"])
    world.to_final(later)
    world.call(attendance.record_attendance, meeting_id=world.show(later)["meeting"],
               person=world.mandated("ede", world.body_id("oogo")), status="present")  # fmt: skip
    world.call(deciding.decide, proposal_id=later, outcome="rejected", text="Niet nu.")
    listed = world.read(decisions)
    assert [x["id"] for x in listed] == [later, story.decided]
    assert (listed[0]["confirmed"], listed[0]["outcome"]) == (False, "rejected")
    assert [x["id"] for x in world.read(decisions, outcome="adopted")] == [story.decided]
    assert [x["id"] for x in world.read(decisions, limit=1)] == [later]


def test_refusals_name_the_option_and_the_fix(world: Any, story: Story) -> None:
    before = entries(world.path)
    cases = [
        ({"text": "de het van"}, "give words to search for"),
        ({"text": ""}, "give words to search for"),
        ({"text": "x", "since": "2026-13-01"}, "--since '2026-13-01' is not a date; write it as"),
        ({"text": "x", "until": "1-2-2027"}, "--until '1-2-2027' is not a date"),
        ({"text": "x", "since": "2027-02-01", "until": "2027-01-01"}, "is after --until"),
        ({"text": "x", "party": "edee"}, "--party 'edee': there is no such party; did you"),
        ({"text": "x", "body": "oogoo"}, "--body 'oogoo': there is no such body; did you mean"),
        ({"text": "x", "focus_point": "sp9"}, "--focus-point 'sp9': there is no such"),
        ({"text": "x", "outcome": "adoptd"}, "did you mean 'adopted'"),
        ({"text": "x", "limit": 0}, "--limit 0: give a number of at least 1"),
    ]  # fmt: skip
    for kwargs, message in cases:
        with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("?", r"\?")):
            world.read(search, **kwargs)
    with pytest.raises(UsageError, match="there is no such party"):
        world.read(decisions, party="nobody")
    assert entries(world.path) == before


# -- the index follows the writes, in their transaction ------------------------------------


def test_the_index_is_written_in_the_changes_transaction(world: Any, story: Story) -> None:
    count = len(entries(world.path))
    with world.db.transaction() as session:
        ch = changes.begin(session, world.clock, world.chair("oogo"))
        ch.record("correction_requested", proposal_id=story.decided, meeting_id=story.meeting,
                  payload={"version": 2, "comment": "Ongedaan gemaakte opmerking"})  # fmt: skip
        assert [h["id"] for h in search(session, "ongedaan opmerking")] == [story.decided]
        session.rollback()
    assert find(world, "ongedaan opmerking") == [] and len(entries(world.path)) == count
    # a refused amendment (no decision awaits confirmation any more) indexes nothing
    from regie.errors import InvalidMove

    with pytest.raises(InvalidMove):
        world.call(deciding.confirm, proposal_id=story.decided, amend_text="Zwemles voor iedereen")
    assert find(world, "zwemles") == [] and len(entries(world.path)) == count


def test_the_migration_fills_an_existing_database(world: Any, story: Story) -> None:
    """The story's database taken back to 0015 (no index), then upgraded: the index made from
    its rows is the one the engine kept while it wrote them."""
    from alembic import command

    kept = entries(world.path)
    assert {k[1] for k in kept} == {"proposal", "decision", "correction", "position"}
    world.db.dispose()
    engine_db = Database(world.url)
    try:
        with engine_db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0015")
        assert storage.current_revision(engine_db) == "0015"
        with closing(sqlite3.connect(world.path)) as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert not {n for n in names if n.startswith("search")}
        storage.upgrade(engine_db)
    finally:
        engine_db.dispose()
    assert entries(world.path) == kept
    assert ids(find(world, "zwembadvervoer")) == [story.decided]
    assert find(world, "looptijd")[0]["kind"] == "correction"


def test_snippet_cuts_around_the_first_match() -> None:
    text = " ".join(f"woord{i}" for i in range(40)) + " de besluiten vallen later"
    cut = snippet(text, stems("besluit"), before=2, after=3)
    assert cut == "… woord39 de besluiten vallen later"
    assert snippet("Kort besluit.", stems("besluit")) == "Kort besluit."
    assert snippet("Niets hier\nmaar wel twee regels", ["x"], after=2) == "Niets hier …"


# -- the CLI --------------------------------------------------------------------------------


def regie(world: Any, *args: str, lang: str = "nl") -> Result:
    environ = {"REGIE_DB": str(world.path), "REGIE_NOW": "2027-03-01T12:00",
               "REGIE_USER": world.coordinator, "REGIE_LANG": lang}  # fmt: skip
    result = CliRunner().invoke(cli, list(args), env=environ)
    assert "Traceback" not in result.output + result.stderr
    return result


def error_line(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("regie: error: "), result.stderr
    return lines[0]


def test_cli_search_table_and_json(world: Any, story: Story) -> None:
    shown = regie(world, "audit", "search", "zwembadvervoer")
    assert shown.exit_code == 0, shown.output + shown.stderr
    out = " ".join(shown.stdout.split())
    assert story.decided in out and "besluit v2" in out and "vastgesteld" in out
    assert "standpunt vooraf" in out and "aanwezig" in out
    english = " ".join(regie(world, "audit", "search", "looptijd", lang="en").stdout.split())
    assert "correction request v1" in english and "adopted" in english
    data = json.loads(regie(world, "audit", "search", "beleidskader", "--json").stdout)
    assert [h["id"] for h in data] == [story.decided, story.open]
    assert data[0]["kind"] == "proposal" and data[0]["decided_by"][0]["party"] == "ede"
    filtered = regie(world, "audit", "search", "beleidskader", "--party", "barneveld", "--json")
    assert [h["id"] for h in json.loads(filtered.stdout)] == [story.open]
    none = regie(world, "audit", "search", "onvindbaar")
    assert none.exit_code == 0 and "Niets gevonden voor onvindbaar." in none.stdout


def test_cli_decisions(world: Any, story: Story) -> None:
    shown = regie(world, "audit", "decisions", "--body", world.body_id("oogo"))
    assert shown.exit_code == 0, shown.output + shown.stderr
    assert story.decided in shown.stdout and "zwembadvervoer" in shown.stdout
    data = json.loads(regie(world, "audit", "decisions", "--json", "--outcome", "adopted").stdout)
    assert [(d["id"], d["version"]) for d in data] == [(story.decided, 2)]
    empty = regie(world, "audit", "decisions", "--since", "2030-01-01")
    assert empty.exit_code == 0 and "Geen besluiten." in empty.stdout


def test_cli_refusals_are_one_line_and_change_nothing(world: Any, story: Story) -> None:
    before = entries(world.path)
    assert "is not a date" in error_line(
        regie(world, "audit", "search", "x", "--since", "gisteren")
    )
    assert "there is no such party" in error_line(
        regie(world, "audit", "decisions", "--party", "onbekend"))  # fmt: skip
    assert "no such focus-point" in error_line(
        regie(world, "audit", "search", "x", "--focus-point", "sp0"))  # fmt: skip
    assert "give words to search for" in error_line(regie(world, "audit", "search", "  "))
    assert "--limit 0" in error_line(regie(world, "audit", "search", "x", "--limit", "0"))
    assert entries(world.path) == before


# -- PostgreSQL: the dutch text-search configuration ----------------------------------------


@pytest.fixture
def pg_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_scratch: Any,
             region: Any, world: Any) -> Iterator[Any]:  # fmt: skip
    World, START = type(world), world.clock.now()  # noqa: N806  (conftest's, by the fixture)

    monkeypatch.setenv("REGIE_KEY_FILE", str(tmp_path / "regie.key"))
    monkeypatch.delenv("REGIE_SECRET", raising=False)
    with pg_scratch("regie_search") as url:
        w = World(tmp_path / "unused.db", region)  # its services, on PostgreSQL
        w.db.dispose()
        w.url, w.db, w.clock = url, Database(url), FixedClock(START)
        init_database(db=w.db, clock=w.clock, region=region, workflows=builtin_workflows())
        try:
            yield w
        finally:
            w.db.dispose()


@pytest.mark.postgres
def test_postgres_uses_the_dutch_configuration(pg_world: Any) -> None:
    w = pg_world
    pid = w.submit(title=TITLE, summary=SUMMARY, parties=["ede", "swv-vo"])
    other = w.submit(title=OTHER_TITLE, summary=OTHER_SUMMARY, parties=["barneveld"])
    assert ids(find(w, "besluiten")) == [pid]  # PostgreSQL's dutch stemmer: besluit
    assert ids(find(w, "beleidskader")) == [pid, other]  # the title first
    assert ids(find(w, "beleidskader", party="barneveld")) == [other]
    assert [b[0] for b in w.read(bare_search, text="leerlingen vervoer")] == [other]
    with w.db.transaction(write=False) as session:
        tx = storage.Tx(session)
        index = str(tx.scalar("SELECT indexdef FROM pg_indexes WHERE indexname = ?",
                              ("ix_search_entry_tsv",)))  # fmt: skip
        tx.execute("SET LOCAL enable_seqscan = off")  # a tiny table: make the planner show it
        plan = "\n".join(
            str(r[0])
            for r in tx.all(  # the condition search.py and bare_search ask
                "EXPLAIN SELECT e.id FROM search_entry e WHERE to_tsvector('dutch', e.text) "
                "@@ plainto_tsquery('dutch', 'beleidskader')"
            )
        )
        assert tx.scalar("SELECT to_tsvector('dutch', 'besluiten')::text") == "'besluit':1"
    assert "USING gin (to_tsvector('dutch'::regconfig, text))" in index
    assert "ix_search_entry_tsv" in plan, plan
