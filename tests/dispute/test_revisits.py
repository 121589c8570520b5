"""Revisits (issue 19): a proposal like an earlier final decision is stopped at submission
with the list of those decisions, until the coordinator says it reopens one
(``--revisits P-… --reason``: a link shown both ways, in mails and pages) or that they are
not related (``--not-related``: recorded in the audit trail). Real SQLite files, the real
CLI, and the similarity query once on the real PostgreSQL server."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from test_revisit_quality import decide_all

from regie.cli import cli
from regie.clock import AMSTERDAM, to_local
from regie.dispute.revisits import similar_decisions
from regie.engine.setup import init_database
from regie.engine.storage import Database, Tx, as_datetime
from regie.notifications.outbox import ROW_COLUMNS, row_from_tuple
from regie.notifications.render import render_notice
from regie.notifications.types import OutboxRow
from regie.region import Region
from regie.workflows.definition import builtin_workflows

CLEAN = {"REGIE_DB": None, "REGIE_USER": None, "REGIE_NOW": None, "REGIE_LANG": None}

EARLIER = {
    "key": "thuiszitters",
    "focus": "sp4",
    "title": "Regionale aanpak thuiszitters",
    "summary": "Een sluitende aanpak voor leerplichtige kinderen die langer dan vier weken "
    "thuiszitten zonder onderwijs: leerplicht, samenwerkingsverband en jeugdhulp overleggen "
    "binnen twee weken.",
    "decision": "Vastgesteld: de regionale thuiszittersaanpak met een casusoverleg.",
}
LATER_TITLE = "Thuiszittende leerlingen in Ede sneller terug naar school"
LATER_SUMMARY = (
    "Een casusoverleg van leerplicht, samenwerkingsverband en jeugdhulp voor thuiszitters, "
    "zodat geen kind langer dan vier weken zonder onderwijs zit."
)


def decided_earlier(world: Any) -> str:
    return decide_all(world, [EARLIER])["thuiszitters"]


def run(world: Any, *args: str) -> Result:
    now = to_local(world.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    env = {**CLEAN, "REGIE_NOW": now, "REGIE_USER": "coordinator"}
    result = CliRunner().invoke(cli, ["--db", str(world.path), "--lang", "en", *args], env=env)
    assert "Traceback" not in result.output + result.stderr
    return result


def submit(
    world: Any, *extra: str, title: str = LATER_TITLE, summary: str = LATER_SUMMARY
) -> Result:
    return run(
        world, "submit", "--title", title, "--summary", summary, "--purpose", "adoption",
        "--table", "tafel-model", "--party", "ede", "--focus", "sp4", *extra,
    )  # fmt: skip


def stored(world: Any) -> dict[str, Any]:
    return {
        "proposals": world.sql("SELECT id FROM proposal ORDER BY id"),
        "revisits": world.sql("SELECT * FROM revisit"),
        "audit": world.audit_count(),
        "outbox": world.sql("SELECT COUNT(*) FROM outbox"),
    }


def submitted_payload(world: Any, pid: str) -> dict[str, Any]:
    rows = world.sql(
        "SELECT payload FROM audit_event WHERE action = 'submitted' AND proposal_id = ?", (pid,)
    )
    return dict(json.loads(rows[0][0]))


def test_a_similar_proposal_is_stopped_with_the_earlier_decisions(world: Any) -> None:
    earlier = decided_earlier(world)
    before = stored(world)
    r = submit(world)
    assert r.exit_code == 1, r.output
    decided_on = world.meeting_start(world.show(earlier)["meeting"]).date().isoformat()
    message = r.stderr
    oogo = world.sql("SELECT name FROM body WHERE id = 'oogo'")[0][0]  # the region's name
    assert f"{earlier} ({decided_on}, {oogo}, adopted: " in message
    assert "Vastgesteld: de regionale thuiszittersaanpak met een casusoverleg." in message
    assert "--revisits P-… --reason" in message and "--not-related" in message
    assert stored(world) == before  # nothing submitted, nothing mailed


def test_revisits_records_the_link_shown_both_ways(world: Any) -> None:
    earlier = decided_earlier(world)
    r = submit(world, "--revisits", earlier, "--reason", "Ede wil de termijn verkorten")
    assert r.exit_code == 0, r.output + r.stderr
    pid = r.stdout.split()[0]
    assert world.sql("SELECT proposal_id, earlier_id, reason FROM revisit") == [
        (pid, earlier, "Ede wil de termijn verkorten")
    ]
    assert submitted_payload(world, pid)["revisits"] == {
        "proposal": earlier,
        "title": EARLIER["title"],
        "reason": "Ede wil de termijn verkorten",
    }
    later_shown = run(world, "show", pid).stdout
    link = f"{earlier} {EARLIER['title']} (Ede wil de termijn verkorten)"
    assert re.search(rf"\n  reopens +{re.escape(link)}\n", later_shown), later_shown
    earlier_shown = run(world, "show", earlier).stdout
    link = f"{pid} {LATER_TITLE} (Ede wil de termijn verkorten)"
    assert re.search(rf"\n  reopened by +{re.escape(link)}\n", earlier_shown), earlier_shown
    as_json = json.loads(run(world, "show", earlier, "--json").stdout)
    assert [r["proposal"] for r in as_json["reopened_by"]] == [pid]


def test_not_related_is_recorded_with_the_decisions_shown(world: Any) -> None:
    earlier = decided_earlier(world)
    r = submit(world, "--not-related")
    assert r.exit_code == 0, r.output + r.stderr
    pid = r.stdout.split()[0]
    assert submitted_payload(world, pid)["not_related"] == [earlier]
    assert world.sql("SELECT COUNT(*) FROM revisit") == [(0,)]


def test_an_unrelated_proposal_is_submitted_as_before(world: Any) -> None:
    decided_earlier(world)
    r = submit(
        world,
        title="Logopedie op school voor kleuters",
        summary="Een logopedist screent alle kleuters en begeleidt kinderen met een "
        "taalachterstand.",
    )
    assert r.exit_code == 0, r.output + r.stderr
    payload = submitted_payload(world, r.stdout.split()[0])
    assert "not_related" not in payload and "revisits" not in payload


@pytest.mark.parametrize(
    ("extra", "code", "says"),
    [
        (("--revisits", "EARLIER", "--reason", "x", "--not-related"), 2, "exclude each other"),
        (("--revisits", "P-2020-999", "--reason", "x"), 1, "'P-2020-999' does not exist"),
        (("--revisits", "OPEN", "--reason", "x"), 2, "is not a final decision"),
        (("--revisits", "EARLIER"), 2, "the reason (--reason) is empty"),
        (("--reason", "x", "--not-related"), 2, "--reason goes with --revisits"),
    ],
)
def test_refusals_store_nothing(world: Any, extra: tuple[str, ...], code: int, says: str) -> None:
    earlier = decided_earlier(world)
    still_open = world.submit(title="Crisisopvang voor jongeren", not_related=True)
    names = {"EARLIER": earlier, "OPEN": still_open}
    before = stored(world)
    r = submit(world, *(names.get(x, x) for x in extra))
    assert r.exit_code == code, r.output
    assert says in r.stderr
    assert stored(world) == before


def load_row(world: Any, row_id: int) -> OutboxRow:
    return row_from_tuple(world.sql(f"SELECT {ROW_COLUMNS} FROM outbox WHERE id = ?",
                                    (row_id,))[0])  # fmt: skip


def test_the_mail_of_a_revisiting_proposal_names_the_decision_it_reopens(world: Any) -> None:
    earlier = decided_earlier(world)
    r = submit(world, "--revisits", earlier, "--reason", "nieuwe cijfers <2026>")
    pid = r.stdout.split()[0]
    world.to_meeting_of(pid)
    world.advance(pid)  # a later mail about it (to the next stage) says it too
    rows = world.sql("SELECT id, language, kind FROM outbox WHERE proposal_id = ? ORDER BY id",
                     (pid,))  # fmt: skip
    assert len({kind for _i, _l, kind in rows}) >= 3, rows  # submitted, receipt, placed
    rows = [(row_id, lang) for row_id, lang, _kind in rows]
    for row_id, lang in rows:
        with world.db.transaction(write=False) as session:
            msg = render_notice(Tx(session), load_row(world, row_id), sender_address="r@x.org")
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        assert plain is not None and html is not None
        word = "Heropent:     besluit" if lang == "nl" else "Reopens:   decision"
        assert f"{word} {earlier} {EARLIER['title']}" in plain.get_content()
        assert "nieuwe cijfers &lt;2026&gt;" in html.get_content()  # escaped


@pytest.mark.postgres
def test_the_similarity_query_on_postgresql(
    tmp_path: Path, region: Region, pg_scratch: Any, monkeypatch: pytest.MonkeyPatch, world: Any
) -> None:
    monkeypatch.setenv("REGIE_KEY_FILE", str(tmp_path / "regie.key"))
    monkeypatch.delenv("REGIE_SECRET", raising=False)
    with pg_scratch("regie_revisit") as url:
        world = on_postgres(type(world))(tmp_path / "unused.db", region)
        world.db.dispose()
        world.db = Database(url)
        try:
            init_database(
                db=world.db, clock=world.clock, region=region, workflows=builtin_workflows()
            )
            earlier = decided_earlier(world)
            with world.db.session(write=False) as session:
                found = similar_decisions(session, LATER_TITLE, LATER_SUMMARY)
            assert [s.id for s in found] == [earlier]
            assert (found[0].body, found[0].outcome) == ("oogo", "adopted")
        finally:
            world.db.dispose()


def on_postgres(world_class: type) -> type:
    """conftest's World (taken from the fixture) on PostgreSQL: its raw reads go through
    regie's own transaction."""
    return type("PgWorld", (_PgReads, world_class), {})


class _PgReads:
    db: Any

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.db.session(write=False) as session:
            return Tx(session).all(query, params)

    def meeting_start(self, meeting_id: str) -> datetime:
        value = as_datetime(
            self.sql("SELECT starts_at FROM meeting WHERE id = ?", (meeting_id,))[0][0]
        )
        assert value is not None
        return to_local(value).astimezone(AMSTERDAM)


def test_the_decisions_index_holds_final_decisions_with_their_standing_text(world: Any) -> None:
    """A decision awaiting confirmation is not compared with (not final); an amended and
    then confirmed one is, with the amended text, in the same transaction as the move."""
    from regie.engine import attendance, decisions

    def document(pid: str) -> list[str]:
        return [r[0] for r in world.sql(
            "SELECT stems FROM search_decision WHERE proposal_id = ?", (pid,))]  # fmt: skip

    pid = world.submit("adoption", title="Regionale zomerschool taal", not_related=True)
    meeting = world.to_final(pid)
    oogo = world.body_id("oogo")
    for party in world.show(pid)["parties"]:
        world.call(attendance.record_attendance, meeting_id=meeting,
                   person=world.mandated(party, oogo), status="present")  # fmt: skip
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Zomerschool in Ede.")
    assert document(pid) == []  # awaiting confirmation: not final yet
    chair = world.chair("oogo")
    world.call(decisions.confirm, proposal_id=pid, actor=chair, version=1,
               amend_text="Zomerschool in Barneveld en Ede.")  # fmt: skip
    assert document(pid) == []  # amended: awaiting the confirmation of version 2
    world.call(decisions.confirm, proposal_id=pid, actor=chair, version=2)
    (stems,) = document(pid)
    from regie.dispute.stems import stems as stem_words

    words = stems.split()
    assert all(words.count(w) >= 2 for w in stem_words("Regionale zomerschool taal"))  # title x2
    assert "barneveld" in words  # the standing (amended) text
    with world.db.session(write=False) as session:
        found = similar_decisions(session, "Zomerschool taal regionaal", "Een zomerschool.")
    assert [s.id for s in found] == [pid]
