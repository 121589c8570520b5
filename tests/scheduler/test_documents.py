"""Rule 1 of issue 18, documents: the leads' reminder 3 working days before the document
deadline, the deferral at the deadline without documents, the chair's exception; with a
real SQLite database, the sweep and a fixed clock (tafel-model meets 2026-12-08 09:30,
deadline 3 working days: Thursday 2026-12-03)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from regie.cli import cli
from regie.clock import AMSTERDAM, to_local, to_utc_naive
from regie.engine import documents, moves
from regie.engine.check import check_database
from regie.engine.facts import region_facts
from regie.engine.storage import Tx
from regie.errors import NotAllowed, UsageError
from regie.notifications.render import render_parts
from regie.scheduler import documents as rule
from regie.scheduler.sweep import sweep

LEADS = {"ingrid-schouten", "koen-smit"}  # the leads of focus point sp1
TABLE_CHAIR = "marloes-kamphuis"  # chair of tafel-model
FIRST, NEXT = "tafel-model-2026-12-08", "tafel-model-2027-01-12"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def submit(world: Any) -> str:
    pid = world.submit(focus_point="sp1", admin_lead="ingrid-schouten", official_lead="koen-smit")
    assert world.show(pid)["meeting"] == FIRST
    return pid


def swept(world: Any, when: datetime) -> list[str]:
    world.at(when)
    return [d.item for d in sweep(world.db, world.clock, {"documents": rule.RULE}).fired]


def notices(world: Any, kind: str) -> list[tuple[str, dict[str, Any]]]:
    rows = world.sql("SELECT person_id, context FROM outbox WHERE kind = ? ORDER BY id", (kind,))
    return [(r[0], json.loads(r[1])) for r in rows]


def events(world: Any, action: str) -> list[tuple[Any, ...]]:
    return world.sql(
        "SELECT proposal_id, meeting_id, actor, payload FROM audit_event WHERE action = ? "
        "ORDER BY id",
        (action,),
    )


def test_the_dates_follow_the_calendar_weekends_kings_day_and_christmas(world: Any) -> None:
    with world.db.session(write=False) as session:
        cal = region_facts(Tx(session)).calendar

    def dates(meeting: datetime, working_days: int) -> tuple[str, datetime, datetime]:
        t = rule.times(cal, to_utc_naive(meeting), working_days)
        return t.deadline.isoformat(), to_local(t.remind_at), to_local(t.defer_at)

    # a weekend between the deadline and the Tuesday meeting
    assert dates(local(2026, 12, 8, 9, 30), 3) == (
        "2026-12-03", local(2026, 11, 30, 9), local(2026, 12, 4, 9)
    )  # fmt: skip
    # Christmas, New Year and the region's closed days 28-31 December
    assert dates(local(2027, 1, 7, 9, 30), 7) == (
        "2026-12-21", local(2026, 12, 16, 9), local(2026, 12, 22, 9)
    )  # fmt: skip
    # King's Day (27 April), the closed 7 May and Ascension Day; summer time (UTC+2)
    assert dates(local(2027, 5, 10, 19, 30), 5) == (
        "2027-04-29", local(2027, 4, 23, 9), local(2027, 4, 30, 9)
    )  # fmt: skip
    assert to_utc_naive(local(2027, 4, 23, 9)).hour == 7


def test_the_reminder_goes_to_the_leads_at_nine_three_working_days_before(world: Any) -> None:
    pid = submit(world)
    assert swept(world, local(2026, 11, 30, 8, 59)) == []
    assert swept(world, local(2026, 11, 30, 9, 0)) == [f"reminder:{pid}@{FIRST}"]
    assert swept(world, local(2026, 11, 30, 9, 1)) == []  # once, across sweeps
    sent = notices(world, "documents_reminder")
    assert {person for person, _ in sent} == LEADS
    (ev,) = events(world, "reminder_sent")
    assert ev[:3] == (pid, FIRST, "scheduler")
    assert json.loads(ev[3]) == {"deadline": "2026-12-03", "by": "scheduler", "rule": "documents"}
    subject, text, html = render_parts("documents_reminder", "nl", sent[0][1])
    assert pid in subject and "3 december" in text and "Beantwoord deze mail" in text
    assert "regie docs" not in text and "--url" not in text  # no command in the mail
    subject, text, html = render_parts("documents_reminder", "en", sent[0][1])
    assert "documents due" in subject and "Reply to this mail" in html


def test_no_reminder_and_no_deferral_when_a_document_was_added(world: Any) -> None:
    pid = submit(world)
    world.call(
        documents.add_document, actor="koen-smit", proposal_id=pid, url="https://x.nl/notitie.pdf"
    )
    assert swept(world, local(2026, 11, 30, 9)) == []
    assert swept(world, local(2026, 12, 4, 9)) == []
    assert world.show(pid)["meeting"] == FIRST
    assert notices(world, "documents_reminder") == []


def test_at_the_deadline_an_item_without_documents_is_deferred(world: Any) -> None:
    pid = submit(world)
    assert swept(world, local(2026, 12, 3, 23, 59)) == [f"reminder:{pid}@{FIRST}"]  # overdue
    assert swept(world, local(2026, 12, 4, 9)) == [f"defer:{pid}@{FIRST}"]
    assert swept(world, local(2026, 12, 4, 10)) == []
    shown = world.show(pid)
    assert (shown["meeting"], shown["state"]) == (NEXT, "table")
    (ev,) = events(world, "deferred")
    assert ev[:3] == (pid, NEXT, "scheduler")
    payload = json.loads(ev[3])
    assert payload == {
        "from_meeting": FIRST, "stage": "table", "reason": payload["reason"], "meeting": NEXT,
        "late": False, "by": "scheduler", "rule": "documents",
    }  # fmt: skip
    assert "03-12-2026" in payload["reason"]
    assert {p for p, _ in notices(world, "deferred")} == LEADS | {TABLE_CHAIR}
    # the next meeting's reminder comes in its own time (deadline Thursday 7 January)
    assert swept(world, local(2027, 1, 4, 9)) == [f"reminder:{pid}@{NEXT}"]
    assert check_database(db=world.db).problems == []  # the trail replays to the state


def test_the_deferral_records_what_regie_defer_records(world: Any, tmp_path: Path) -> None:
    by_hand = submit(world)
    by_rule = submit(world)
    world.at(local(2026, 12, 4, 8))
    world.call(moves.defer, proposal_id=by_hand, reason="r")
    swept(world, local(2026, 12, 4, 9))
    hand, auto = events(world, "deferred")
    assert hand[1] == auto[1] == NEXT
    assert set(json.loads(auto[3])) == set(json.loads(hand[3])) | {"by", "rule"}
    assert world.show(by_hand)["state"] == world.show(by_rule)["state"]


def test_an_exception_keeps_the_item_on_its_meeting(world: Any) -> None:
    pid = submit(world)
    world.call(
        documents.grant_exception,
        actor=TABLE_CHAIR,
        proposal_id=pid,
        meeting_id=FIRST,
        reason="Stukken volgen ter vergadering",
    )
    assert swept(world, local(2026, 12, 4, 9)) == []  # reminder overdue, but deferral time
    assert world.show(pid)["meeting"] == FIRST
    assert events(world, "deferred") == []


def test_services_refuse_bad_input_and_the_wrong_people(world: Any, tmp_path: Path) -> None:
    pid = submit(world)
    with pytest.raises(UsageError, match="https://"):
        world.call(documents.add_document, proposal_id=pid, url="javascript:alert(1)")
    with pytest.raises(UsageError, match="either --url URL or --file PATH"):
        world.call(documents.add_document, proposal_id=pid)
    with pytest.raises(NotAllowed, match="only its leads"):
        world.call(
            documents.add_document, actor="esther-mulder", proposal_id=pid, url="https://a.nl"
        )
    with pytest.raises(NotAllowed, match="only the chair of 'tafel-model'"):
        world.call(documents.grant_exception, actor="koen-smit", proposal_id=pid,
                   meeting_id=FIRST, reason="x")  # fmt: skip
    with pytest.raises(UsageError, match="not on tafel-model-2027-01-12"):
        world.call(documents.grant_exception, proposal_id=pid, meeting_id=NEXT, reason="x")
    doc = tmp_path / "notitie.pdf"
    doc.write_bytes(b"%PDF-1.4 stukken")
    added = world.call(documents.add_document, actor=TABLE_CHAIR, proposal_id=pid, file=str(doc))
    digest = hashlib.sha256(b"%PDF-1.4 stukken").hexdigest()
    assert added.file == {"name": "notitie.pdf", "size": 16, "sha256": digest}
    with world.db.session(write=False) as session:
        found = documents.documents_for(Tx(session), pid, FIRST)
    assert [d.file.get("name") for d in found] == ["notitie.pdf"]


CLEAN = {"REGIE_DB": None, "REGIE_USER": None, "REGIE_NOW": None, "REGIE_LANG": None}


def run(world: Any, *args: str, user: str = "coordinator") -> Any:
    env = {**CLEAN, "REGIE_NOW": "2026-11-24T10:00", "REGIE_USER": user}
    result = CliRunner().invoke(cli, ["--db", str(world.path), "--lang", "en", *args], env=env)
    assert "Traceback" not in result.output + result.stderr
    return result


def test_cli_docs_and_exception(world: Any) -> None:
    pid = submit(world)
    world.db.dispose()
    bad = run(world, "docs", "add", pid, "--url", "ftp://x.nl/a.pdf")
    assert bad.exit_code == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "https://" in bad.stderr
    ok = run(world, "docs", "add", pid, "--url", "https://x.nl/a.pdf", "--title", "Notitie")
    assert ok.exit_code == 0, ok.stderr
    assert f"{pid}: document recorded for meeting {FIRST}" in ok.stdout
    listed = run(world, "docs", "list", pid, "--json")
    assert [d["url"] for d in json.loads(listed.stdout)] == ["https://x.nl/a.pdf"]
    refused = run(world, "exception", pid, "--meeting", FIRST, "--reason", "x", user="koen-smit")
    assert refused.exit_code == 1 and "only the chair" in refused.stderr
    granted = run(world, "exception", pid, "--meeting", FIRST, "--reason", "x", user=TABLE_CHAIR)
    assert granted.exit_code == 0, granted.stderr
    assert len(events(world, "deadline_exception")) == 1
