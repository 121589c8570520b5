"""Issue 16, the recipient side: who gets which notice, with which facts.

Real SQLite databases (the FoodValley ``world`` and the Heuvelland region through the CLI);
notices are read from the outbox the events filled in their own transaction.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from regie.cli import cli
from regie.clock import AMSTERDAM
from regie.engine import agenda, decisions, moves
from regie.engine.calendar import WorkCalendar
from regie.engine.facts import region_facts
from regie.engine.storage import Tx
from regie.errors import ConfigError
from regie.notifications import outbox
from regie.notifications.kinds import CONFIRM_WORKING_DAYS, EVENT_KINDS, NOTICE_KINDS
from regie.notifications.recipients import working_days_after
from regie.notifications.smtp_settings import load_settings, with_coordinator
from regie.region import parse_region

ROOT = Path(__file__).resolve().parents[2]
HEUVELLAND = ROOT / "tests" / "data" / "region-heuvelland"
LEADS = {"gerrit-hoogendoorn", "koen-smit"}  # koen-smit is on the table and the chairs too
COORDINATOR = ("Mirjam Verhoef", "mirjam.verhoef@foodvalley.example.org")


def rows(world: Any, action: str) -> list[dict[str, Any]]:
    """The outbox rows of the last ``action`` event, oldest first."""
    found = world.sql(
        "SELECT o.kind, o.person_id, o.context, o.status, e.actor FROM outbox o "
        "JOIN audit_event e ON e.id = o.event_id WHERE e.id = "
        "(SELECT MAX(id) FROM audit_event WHERE action = ?) AND o.kind != 'digest' "
        "ORDER BY o.id",
        (action,),
    )
    assert found, f"no notices for {action}"
    return [
        {"kind": k, "person": p, "context": json.loads(c), "status": s, "actor": a}
        for k, p, c, s, a in found
    ]


def by_kind(found: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in found:
        out.setdefault(row["kind"], set()).add(row["person"])
    return out


def members(world: Any, body_id: str) -> set[str]:
    return set(world.region.body(body_id).members)


def submit(world: Any, actor: str | None = None) -> str:
    extra = {"actor": actor} if actor else {}
    return str(
        world.submit(
            title="Dashboard jeugd", admin_lead="gerrit-hoogendoorn", official_lead="koen-smit",
            **extra,
        )
    )  # fmt: skip


def deadline(world: Any, meeting_id: str) -> str:
    """The document deadline of a meeting, by the region's calendar."""
    (body, starts), *_ = world.sql("SELECT body_id, starts_at FROM meeting WHERE id = ?",
                                   (meeting_id,))  # fmt: skip
    with world.db.session(write=False) as session:
        calendar = region_facts(Tx(session)).calendar
    day = world.meeting_start(meeting_id).date()
    return calendar.deadline(day, world.region.body(body).deadline_working_days).isoformat()


def set_rules(world: Any, **changes: list[str]) -> None:
    """Change who gets what, before the first event (rules are read once per config
    generation)."""
    rules = {k: list(v.groups) for k, v in NOTICE_KINDS.items()} | changes
    with world.db.session() as session:
        Tx(session).execute("UPDATE region_setting SET value = ? WHERE key = 'notifications'",
                            (json.dumps(rules),))  # fmt: skip
        session.commit()


def to_oogo_decided(world: Any) -> str:
    pid = submit(world)
    world.to_final(pid)
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Vastgesteld.",
               override="agreed by e-mail")  # fmt: skip
    return pid


def story(world: Any) -> None:
    """Every event that causes notices, the acting person often in the groups notified."""
    pid = submit(world)  # the coordinator submits: a member of the routing body
    other = submit(world, actor="koen-smit")  # a lead on the table submits
    world.call(agenda.publish_agenda, meeting_id="tafel-model-2026-12-08")  # coordinator
    world.to_meeting_of(other)
    world.call(moves.defer, proposal_id=other, reason="no time", actor=world.chair("tafel-model"))
    world.advance(pid)
    world.to_meeting_of(pid)
    world.call(moves.set_route, proposal_id=pid, route=["table", "chairs", "ao", "oogo"])
    world.to_final(pid)
    oogo_chair = world.chair("oogo")
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Vastgesteld.",
               override="agreed by e-mail")  # fmt: skip
    world.call(decisions.confirm, proposal_id=pid, actor=oogo_chair, version=1)
    world.call(agenda.oogo_news, meeting_id=world.show(pid)["meeting"])
    world.call(moves.withdraw, proposal_id=other, reason="not needed",
               actor=world.chair("tafel-model"))  # fmt: skip


# -- 1. nobody gets a notice of their own action; the submitter gets a receipt ---------------


def test_no_one_gets_a_notice_of_their_own_action_but_the_receipt(world: Any) -> None:
    story(world)
    found = world.sql(
        "SELECT e.action, o.kind, o.person_id, e.actor FROM outbox o "
        "JOIN audit_event e ON e.id = o.event_id WHERE o.kind != 'digest'"
    )
    actions = {action for action, *_ in found}
    assert actions >= {"submitted", "agenda_published", "deferred", "advanced", "route_set",
                       "decided", "confirmed", "oogo_news", "withdrawn"}  # fmt: skip
    own = {(action, kind) for action, kind, person, actor in found if person == actor}
    assert own == {("submitted", "submitted_receipt")}
    receipts = {(p, a) for _ac, kind, p, a in found if kind == "submitted_receipt"}
    assert receipts == {("coordinator", "coordinator"), ("koen-smit", "koen-smit")}
    # Without the exclusion they would have had these: the groups do include them.
    assert "coordinator" in members(world, "voorzitters") | members(world, "tafel-model")
    assert world.chair("oogo") in members(world, "oogo")  # confirmed: no decision_final


def test_the_receipt_is_the_first_kind_of_a_submission_and_can_be_switched_off(
    world: Any,
) -> None:
    assert EVENT_KINDS["submitted"][0] == "submitted_receipt"
    assert NOTICE_KINDS["submitted_receipt"].groups == ("actor",)
    set_rules(world, submitted_receipt=[])
    submit(world)
    found = rows(world, "submitted")
    assert "coordinator" not in {r["person"] for r in found}  # though a routing member
    assert "submitted_receipt" not in by_kind(found)


# -- 2. the leads' instruction, with the document deadline --------------------------------


def test_submitted_the_leads_get_placed_lead_with_the_deadline(world: Any) -> None:
    submit(world)
    found = rows(world, "submitted")
    kinds = by_kind(found)
    assert kinds["placed_lead"] == LEADS  # koen-smit too, though on the table and the chairs
    routing_and_table = members(world, "tafel-model") | members(world, "voorzitters")
    assert kinds["submitted"] == routing_and_table - LEADS - {"coordinator"}
    assert "placed" not in kinds  # every table member already has the submission
    due = deadline(world, "tafel-model-2026-12-08")
    assert {r["context"]["documents_due"] for r in found} == {due}
    assert due == "2026-12-03"  # 3 working days before Tuesday 8 December


def test_advanced_leads_get_placed_lead_members_get_placed(world: Any) -> None:
    pid = submit(world)
    world.advance(pid)
    found = rows(world, "advanced")
    meeting = world.show(pid)["meeting"]
    assert by_kind(found) == {
        "placed_lead": LEADS,
        "placed": members(world, "voorzitters") - LEADS - {"coordinator"},  # who advanced it
    }
    due = deadline(world, meeting)
    assert (meeting, due) == ("voorzitters-2026-12-17", "2026-12-10")
    assert {r["context"]["documents_due"] for r in found} == {due}


@pytest.mark.parametrize("move", ["returned", "deferred"])
def test_a_return_or_deferral_tells_the_leads_and_the_deadline(world: Any, move: str) -> None:
    pid = submit(world)
    if move == "returned":
        world.advance(pid)
        world.to_meeting_of(pid)
        world.call(moves.return_, proposal_id=pid, to="table", reason="more figures")
    else:
        world.to_meeting_of(pid)
        world.call(moves.defer, proposal_id=pid, reason="no time")
    found = rows(world, move)
    kinds = by_kind(found)
    assert kinds[move] == LEADS | {world.chair("tafel-model")}
    assert kinds["placed"] == members(world, "tafel-model") - kinds[move] - {"coordinator"}
    meeting = world.show(pid)["meeting"]
    assert {r["context"]["documents_due"] for r in found} == {deadline(world, meeting)}
    placing = [kinds for kinds in EVENT_KINDS.values() if "placed" in kinds]
    assert len(placing) == 4
    assert all(k.index("placed_lead") < k.index("placed") for k in placing)


# -- 3. a withdrawal reaches everyone who got the submission --------------------------------


def test_a_withdrawal_reaches_every_recipient_of_the_submission(world: Any) -> None:
    # a table member reads a daily digest: her submission row gets bundled
    reader = "marloes-kamphuis"
    with world.db.session() as session:
        Tx(session).execute("UPDATE person SET digest = ? WHERE id = ?", (True, reader))
        session.commit()
    pid = submit(world, actor="koen-smit")
    submission = rows(world, "submitted")
    got = {r["person"] for r in submission}
    assert reader in got and "coordinator" in got
    made = outbox.build_digests(world.db, now=datetime(2026, 11, 24, 9, tzinfo=AMSTERDAM))
    assert made == 1
    statuses = dict(world.sql("SELECT person_id, status FROM outbox WHERE kind != 'digest' "
                              "AND proposal_id = ?", (pid,)))  # fmt: skip
    assert statuses[reader] == "digested"
    with world.db.session() as session:  # whatever became of a row: failed, cancelled
        Tx(session).execute("UPDATE outbox SET status = 'cancelled' WHERE person_id = ? "
                            "AND proposal_id = ?", ("thijs-veldhuizen", pid))  # fmt: skip
        session.commit()
    world.at(datetime(2026, 11, 25, 10))
    world.call(moves.withdraw, proposal_id=pid, reason="not needed")  # by the coordinator
    found = rows(world, "withdrawn")
    reached = {r["person"] for r in found}
    assert reached == got - {"coordinator"}  # everyone but who withdrew it
    assert {"koen-smit", reader, "thijs-veldhuizen", "gerrit-hoogendoorn"} <= reached
    assert by_kind(found) == {"withdrawn": reached}
    assert "submission_recipients" in NOTICE_KINDS["withdrawn"].groups


# -- 4. the chair's decision mail: by when, and whom to tell ----------------------------


def test_decision_mails_carry_confirm_by_two_working_days_later(world: Any) -> None:
    # Only the chair amends, and gets no notice of it: the coordinator does, if the
    # region asks for it.
    set_rules(world, decision_amended=["body_chair", "coordinator"])
    pid = to_oogo_decided(world)
    (decided,) = rows(world, "decided")
    assert decided["kind"] == "decision_recorded"
    day = world.meeting_start(world.show(pid)["meeting"]).date()
    assert day == date(2027, 1, 28)  # a Thursday: Friday, then Monday
    assert decided["context"]["confirm_by"] == "2027-02-01"
    world.at(datetime(2027, 4, 26, 10))  # the Monday before King's Day
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"),
               amend_text="Vastgesteld, met aanpassing.")  # fmt: skip
    (amended,) = rows(world, "amended")
    assert amended["person"] == "coordinator"
    assert amended["kind"] == "decision_amended"
    assert amended["context"]["confirm_by"] == "2027-04-29"  # King's Day is closed
    assert CONFIRM_WORKING_DAYS == 2
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=2)
    assert all("confirm_by" not in r["context"] for r in rows(world, "confirmed"))


def test_working_days_after_skips_closed_days() -> None:
    cal = WorkCalendar(extra_closed=frozenset({date(2027, 1, 5)}))
    assert working_days_after(cal, date(2026, 12, 24), 2) == date(2026, 12, 29)
    assert working_days_after(cal, date(2027, 1, 1), 2) == date(2027, 1, 6)  # Fri, Tue shut
    assert working_days_after(cal, date(2027, 1, 6), 0) == date(2027, 1, 6)


def test_every_context_names_the_coordinator(world: Any) -> None:
    story(world)
    contexts = [json.loads(c) for (c,) in world.sql("SELECT context FROM outbox WHERE kind "
                                                    "!= 'digest'")]  # fmt: skip
    assert len(contexts) > 50
    named = {(c["coordinator_name"], c["coordinator_email"]) for c in contexts}
    assert named == {COORDINATOR}


# -- 5. the Dutch articles of body names ----------------------------------------------------


def test_foodvalley_contexts_carry_the_articles(world: Any) -> None:
    pid = submit(world)
    (table,) = {(r["context"]["table_article"], r["context"]["body_article"])
                for r in rows(world, "submitted")}  # fmt: skip
    assert table == ("de", "de")  # de Tafel Model passende samenwerking, on its meeting
    world.advance(pid)
    found = rows(world, "advanced")
    assert {r["context"]["body_name"] for r in found} == {"Regionaal voorzittersoverleg"}
    assert {r["context"]["body_article"] for r in found} == {"het"}
    world.to_final(pid)
    found = rows(world, "advanced")
    assert {(r["context"]["body_name"], r["context"]["body_article"]) for r in found} == {
        ("Regionaal bestuurlijk OOGO onderwijs en jeugd", "het")
    }
    articles = dict(world.sql("SELECT id, article FROM body"))
    assert {b for b, a in articles.items() if a == "het"} == {"voorzitters", "ao", "oogo"}


def _heuvelland(tmp_path: Path, *args: str, now: str) -> None:
    env = {"REGIE_DB": str(tmp_path / "h.db"), "REGIE_USER": "regisseur", "REGIE_NOW": now,
           "REGIE_LANG": None}  # fmt: skip
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output + result.stderr


def test_heuvelland_contexts_carry_its_articles_and_deadlines(tmp_path: Path) -> None:
    shutil.copytree(HEUVELLAND, tmp_path / "heuvelland")
    _heuvelland(tmp_path, "init", "--config", str(tmp_path / "heuvelland" / "region.toml"),
                now="2026-12-01T09:00")  # fmt: skip
    _heuvelland(tmp_path, "submit", "--title", "Kader", "--purpose", "adoption", "--party",
                "bergdorp", now="2026-12-29T10:00")  # fmt: skip
    pid = "P-2026-001"
    _heuvelland(tmp_path, "advance", pid, now="2027-02-04T20:00")
    _heuvelland(tmp_path, "advance", pid, now="2027-02-18T20:00")
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(tmp_path / "h.db")) as conn:
        found = conn.execute(
            "SELECT o.context FROM outbox o JOIN audit_event e ON e.id = o.event_id "
            "WHERE e.id = (SELECT MAX(id) FROM audit_event WHERE action = 'advanced')"
        ).fetchall()
    contexts = [json.loads(c) for (c,) in found]
    assert contexts
    assert {(c["body_name"], c["body_article"], c["table_article"]) for c in contexts} == {
        ("Bestuurlijk overleg", "het", "de")
    }
    # 7 working days before Thursday 11 March 2027
    assert {c["documents_due"] for c in contexts} == {"2027-03-02"}
    assert {c["coordinator_name"] for c in contexts} == {"Noor Hendriks"}


@pytest.mark.parametrize("value", ["den", "De", "the", ""])
def test_an_article_other_than_de_or_het_is_refused(value: str) -> None:
    text = (ROOT / "config" / "foodvalley.toml").read_text(encoding="utf-8")
    text = text.replace(
        'short_name = "AO"\narticle = "het"', f'short_name = "AO"\narticle = "{value}"'
    )
    with pytest.raises(ConfigError) as info:
        parse_region(text, "f.toml")
    assert info.value.key == "bodies[3].article"
    assert 'article = "de" or article = "het"' in info.value.problem


def test_the_article_defaults_to_de() -> None:
    text = (ROOT / "config" / "foodvalley.toml").read_text(encoding="utf-8")
    text = text.replace('short_name = "AO"\narticle = "het"\n', 'short_name = "AO"\n')
    region = parse_region(text, "f.toml")
    assert region.body("ao").article == "de" and region.body("oogo").article == "het"


# -- 6. sender and Reply-To ------------------------------------------------------------------


def _mail_setting(world: Any, mail: dict[str, Any]) -> None:
    with world.db.session() as session:
        Tx(session).execute("UPDATE region_setting SET value = ? WHERE key = 'mail'",
                            (json.dumps(mail),))  # fmt: skip
        session.commit()


def _settings(world: Any) -> Any:
    with world.db.session(write=False) as session:
        return load_settings(Tx(session), env={})


def test_sender_and_reply_to_defaults(world: Any) -> None:
    configured = _settings(world)  # foodvalley.toml sets from_address
    assert configured.from_address == "regie@foodvalley.example.org"
    assert configured.reply_to == COORDINATOR[1]  # not set: the coordinator
    _mail_setting(world, {"host": "127.0.0.1", "port": 8025})
    default = _settings(world)
    assert default.from_address == "regie@foodvalley.example.org"  # no personal mailbox
    assert default.from_address != COORDINATOR[1] and default.reply_to == COORDINATOR[1]
    assert default.domain == "foodvalley.example.org"
    _mail_setting(world, {"from_address": "m.verhoef@foodvalley.example.org",
                          "reply_to": "netwerk@foodvalley.example.org"})  # fmt: skip
    own = _settings(world)
    assert (own.from_address, own.reply_to) == (
        "m.verhoef@foodvalley.example.org",  # configured: used as it is
        "netwerk@foodvalley.example.org",
    )


def test_with_coordinator_fills_only_what_is_missing() -> None:
    assert with_coordinator({}, "a.b@x.example.org") == {
        "from_address": "regie@x.example.org",
        "reply_to": "a.b@x.example.org",
    }
    assert with_coordinator({"sender": "s@y.org"}, "a@x.org") == {
        "sender": "s@y.org",
        "reply_to": "a@x.org",
    }
    assert with_coordinator({}, None) == {}


def test_a_bad_reply_to_is_refused() -> None:
    text = (ROOT / "config" / "foodvalley.toml").read_text(encoding="utf-8")
    text = text.replace("[mail]\n", '[mail]\nreply_to = "netwerk"\n', 1)
    with pytest.raises(ConfigError) as info:
        parse_region(text, "f.toml")
    assert info.value.key == "mail.reply_to" and "not a valid e-mail" in info.value.problem


# -- 7. a digest keeps every item's full context ---------------------------------------------


def test_a_digest_keeps_each_items_context(world: Any) -> None:
    reader = "marloes-kamphuis"
    with world.db.session() as session:
        Tx(session).execute("UPDATE person SET digest = ? WHERE id = ?", (True, reader))
        session.commit()
    submit(world)
    (item,) = [r for r in rows(world, "submitted") if r["person"] == reader]
    assert outbox.build_digests(world.db, now=datetime(2026, 11, 24, 9, tzinfo=AMSTERDAM)) == 1
    ((text,),) = world.sql("SELECT context FROM outbox WHERE kind = 'digest'")
    digest = json.loads(text)
    assert [i["context"] for i in digest["items"]] == [item["context"]]
    assert {"documents_due", "table_article", "coordinator_email"} <= set(item["context"])
    assert (digest["coordinator_name"], digest["coordinator_email"]) == COORDINATOR
