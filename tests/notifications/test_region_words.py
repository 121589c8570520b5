"""Mails speak the region's words: stage, outcome and purpose words from its workflows, the
bodies that play a role named as the region names them, parties by their short name.

Real SQLite files, real services, real outbox rows, rendered with the real templates in
both languages: FoodValley (its words happen to be the old ones), a second region with a
table, a steering group and a "Bestuurlijk overleg" (no AO, no LEA, no OOGO), and an outbox
row queued before the words travelled with the notice.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from regie.clock import AMSTERDAM, FixedClock
from regie.engine import agenda, agenda_approval, audit, decisions, moves
from regie.engine.setup import init_database
from regie.engine.storage import Database, Tx
from regie.notifications import outbox
from regie.notifications.recipients import notices_for_event
from regie.notifications.render import render_notice
from regie.notifications.types import OutboxRow
from regie.region import load_region

SENDER = "regie@example.org"


class Mail:
    """One outbox row rendered in one language: subject, text and HTML as a reader sees them."""

    def __init__(self, row: OutboxRow, lang: str) -> None:
        self.row, self.lang = row, lang
        rendered = render_notice(None, replace(row, language=lang), sender_address=SENDER)  # type: ignore[arg-type]
        msg = email.message_from_bytes(rendered.as_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.subject = str(msg["Subject"])
        self.plain, self.html = self._part(msg, "plain"), self._part(msg, "html")

    @staticmethod
    def _part(msg: EmailMessage, subtype: str) -> str:
        part = msg.get_body((subtype,))
        assert part is not None, f"no text/{subtype} part"
        return str(part.get_content())

    @property
    def all(self) -> str:
        return "\n".join((self.subject, self.plain, self.html))


def outbox_rows(db: Database) -> list[OutboxRow]:
    with db.session(write=False) as session:
        found = Tx(session).all(f"SELECT {outbox.ROW_COLUMNS} FROM outbox ORDER BY id")
    return [outbox.row_from_tuple(r) for r in found]


def render_all(db: Database) -> list[Mail]:
    return [Mail(row, lang) for row in outbox_rows(db) for lang in ("nl", "en")]


def first(mails: list[Mail], kind: str, lang: str, person: str | None = None) -> Mail:
    for mail in mails:
        if mail.row.kind == kind and mail.lang == lang and person in (None, mail.row.person_id):
            return mail
    raise AssertionError(f"no {kind} mail in {lang} for {person or 'anybody'}")


def line_with(text: str, start: str) -> str:
    found = [line for line in text.splitlines() if start in line]
    assert found, f"no line with {start!r} in:\n{text}"
    return found[0]


def with_digest(db: Database, person: str) -> None:
    with db.session() as session:
        Tx(session).execute("UPDATE person SET digest = ? WHERE id = ?", (True, person))
        session.commit()


# -- FoodValley: its own words, which are the ones its mails always had ------------------------


def _foodvalley_story(world: Any) -> str:
    pid = str(
        world.submit(
            title="Dashboard jeugd",
            parties=["ede", "swv-vo"],
            admin_lead="gerrit-hoogendoorn",
            official_lead="koen-smit",
        )
    )
    world.call(agenda.publish_agenda, meeting_id="tafel-model-2026-12-08")
    world.advance(pid)
    world.to_meeting_of(pid)  # the chairs' meeting sets the route
    world.call(moves.set_route, proposal_id=pid, route=["table", "chairs", "ao", "oogo"])
    meeting = world.to_final(pid)
    world.call(
        decisions.decide,
        proposal_id=pid,
        outcome="adopted",
        text="Vastgesteld.",
        override="agreed by e-mail",
    )
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    with_digest(world.db, "marloes-kamphuis")  # a LEA Barneveld member
    world.call(agenda.oogo_news, meeting_id=meeting)
    assert outbox.build_digests(world.db, now=world.clock.now() + timedelta(days=1)) >= 1
    return pid


def test_foodvalley_mails_keep_their_words(world: Any) -> None:
    _foodvalley_story(world)
    rows = outbox_rows(world.db)
    assert all("words" in r.context for r in rows if r.kind != "digest")
    mails = render_all(world.db)

    nl, en = first(mails, "submitted", "nl"), first(mails, "submitted", "en")
    assert "Daarna bepaalt het voorzittersoverleg de route van het voorstel." in nl.plain
    assert "Daarna bepaalt het voorzittersoverleg de route van het voorstel." in nl.html
    assert "The chairs' meeting will then set the proposal's route." in en.plain
    assert "Tafel:        Tafel Model passende samenwerking" in nl.plain
    assert "Table:     Tafel Model passende samenwerking" in en.plain
    assert "Doel:         ter vaststelling" in nl.plain

    nl, en = first(mails, "route_set", "nl"), first(mails, "route_set", "en")
    assert "Het voorzittersoverleg heeft de route van dit voorstel vastgesteld:" in nl.plain
    assert "tafel → voorzittersoverleg → ambtelijk overleg → OOGO" in nl.plain
    assert "The chairs' meeting has set the route of this proposal:" in en.plain
    assert "table → chairs' meeting → civil servants' meeting → OOGO" in en.plain
    assert "table → chairs&#39; meeting" in en.html  # escaped

    nl = first(mails, "decision_recorded", "nl")
    line = line_with(nl.plain, "zonder gemandateerde stem voor")
    assert line.endswith("zonder gemandateerde stem voor Ede, SWV VO."), line
    assert "Ede, SWV VO" in first(mails, "decision_recorded", "en").html

    nl = first(mails, "oogo_news", "nl", "ingrid-schouten")
    en = first(mails, "oogo_news", "en", "ingrid-schouten")
    assert nl.subject.startswith("Nieuws uit het OOGO van ")
    assert "Zet dit nieuws op de agenda van de volgende vergadering van de LEA Ede." in nl.plain
    assert "- P-2026-001 Dashboard jeugd: vastgesteld" in nl.plain
    assert en.subject.startswith("News from the OOGO of ")
    assert "Please put it on the agenda of the next meeting of LEA Ede." in en.html

    assert "Doel: ter vaststelling" in first(mails, "agenda", "nl").plain
    digest = first(mails, "digest", "nl", "marloes-kamphuis")
    assert "- nieuws uit het OOGO" in digest.plain
    assert "news from the OOGO" in first(mails, "digest", "en", "marloes-kamphuis").html


# -- a second region: none of FoodValley's words ------------------------------------------------

STAGES = """\
[[workflows.{p}.stages]]
id = "tafel"
body = "tafel-jeugd"
label = {{ nl = "jeugdtafel", en = "youth table" }}

[[workflows.{p}.stages]]
id = "stuur"
body = "stuurgroep"
label = {{ nl = "stuurgroep", en = "steering group" }}

[[workflows.{p}.stages]]
id = "bestuur"
body = "bestuur"
label = {{ nl = "Bestuurlijk overleg", en = "administrative meeting" }}

[workflows.{p}.moves]
advance = [["tafel", "stuur"], ["stuur", "bestuur"]]
returns = [["stuur", "tafel"], ["bestuur", "tafel"], ["bestuur", "stuur"]]
defer = ["tafel", "stuur", "bestuur"]
withdraw = ["tafel", "stuur", "bestuur"]
"""
WORKFLOW = """\
[workflows.{p}]
label = {{ nl = "{nl}", en = "{en}" }}
final = "bestuur"
route_setter = "stuur"
requires_mandate = {mandate}
default_route = ["tafel", "stuur", "bestuur"]
outcomes = [{outcomes}]

"""
OUTCOMES = {
    "information": '{ id = "noted", label = { nl = "gezien", en = "seen" } }',
    "adoption": '{ id = "adopted", label = { nl = "akkoord", en = "agreed" } }, '
    '{ id = "rejected", label = { nl = "niet akkoord", en = "not agreed" } }',
    "advice": '{ id = "advice_given", label = { nl = "geadviseerd", en = "advised" }, '
    "text_required = true }",
}
PURPOSE_WORDS = {
    "information": ("ter kennisname", "to note"),
    "adoption": ("ter besluitvorming", "for decision"),
    "advice": ("ter consultatie", "for consultation"),
}


def _meetings(*days: str, time: str = "10:00") -> str:
    return ", ".join(f'{{ date = {d}, time = "{time}", location = "Huis" }}' for d in days)


TABLE_MEETINGS = _meetings("2027-01-14", "2027-02-25", "2027-03-25")
STEERING_MEETINGS = _meetings("2027-01-28", "2027-03-11")
TOP_MEETINGS = _meetings("2027-02-11", "2027-04-08", time="19:30")
REGION = f"""\
[region]
name = "Rivierenland Jeugd"
coordinator = "regisseur"

[[parties]]
id = "oosterdorp"
name = "Gemeente Oosterdorp"
short_name = "Oosterdorp"
kind = "gemeente"

[[parties]]
id = "westerveen"
name = "Gemeente Westerveen"
kind = "gemeente"

[[parties]]
id = "bureau"
name = "Jeugdbureau"
kind = "bureau"

[[people]]
id = "regisseur"
name = "Iris Bakker"
email = "iris@rivierenland.example.org"
party = "bureau"

[[people]]
id = "beleid-oost"
name = "Tom Visser"
email = "tom@oosterdorp.example.org"
party = "oosterdorp"

[[people]]
id = "wethouder-west"
name = "Petra Smit"
email = "petra@westerveen.example.org"
party = "westerveen"

[[people]]
id = "wethouder-oost"
name = "Joyce Brown"
email = "joyce@oosterdorp.example.org"
party = "oosterdorp"
language = "en"

[[bodies]]
id = "tafel-jeugd"
name = "Tafel Jeugd"
kind = "tafel"
chair = "beleid-oost"
members = ["beleid-oost", "regisseur", "wethouder-oost"]
meetings = [{TABLE_MEETINGS}]

[[bodies]]
id = "stuurgroep"
name = "Stuurgroep"
kind = "stuurgroep"
chair = "regisseur"
members = ["regisseur", "beleid-oost"]
meetings = [{STEERING_MEETINGS}]

[[bodies]]
id = "bestuur"
name = "Bestuurlijk overleg"
article = "het"
kind = "bestuur"
chair = "wethouder-west"
members = ["wethouder-west", "wethouder-oost"]
meetings = [{TOP_MEETINGS}]

[structure]
routing_body = "stuurgroep"
top_body = "bestuur"
news_to = ["tafel-jeugd"]

""" + "".join(
    WORKFLOW.format(
        p=p,
        nl=PURPOSE_WORDS[p][0],
        en=PURPOSE_WORDS[p][1],
        mandate="false" if p == "information" else "true",
        outcomes=OUTCOMES[p],
    )
    + STAGES.format(p=p)
    for p in ("information", "adoption", "advice")
)
# FoodValley's words, none of which this region has.
FOREIGN = ("OOGO", "LEA", "voorzitters", "ambtelijk", "AO ", "chairs'", "civil servants")


class Region2:
    def __init__(self, tmp_path: Path) -> None:
        config = tmp_path / "rivierenland.toml"
        config.write_text(REGION, encoding="utf-8")
        self.region = load_region(config)
        self.db = Database(f"sqlite:///{tmp_path / 'r2.db'}")
        self.clock = FixedClock(datetime(2027, 1, 4, 9, tzinfo=AMSTERDAM))
        init_database(db=self.db, clock=self.clock, region=self.region)

    def at(self, day: str, hour: int = 21) -> None:
        self.clock.set(datetime.fromisoformat(day).replace(hour=hour, tzinfo=AMSTERDAM))

    def call(self, fn: Any, actor: str = "regisseur", **kwargs: Any) -> Any:
        with self.db.session() as session:
            return fn(session=session, clock=self.clock, actor=actor, **kwargs)


@pytest.fixture
def region2(tmp_path: Path) -> Any:
    r = Region2(tmp_path)
    yield r
    r.db.dispose()


def _second_region_story(r: Region2) -> None:
    """Submit, agenda, advance, route, advance, decide (overriding two uncovered parties),
    confirm, news; a second proposal is sent back and withdrawn."""
    submitted = r.call(
        moves.submit,
        title="Kader thuiszitters",
        purpose="adoption",
        parties=["oosterdorp", "westerveen"],
        admin_lead="wethouder-west",
    )
    pid = submitted.proposal_id
    other = r.call(
        moves.submit, title="Monitor", purpose="information", parties=["westerveen"]
    ).proposal_id
    r.call(agenda.publish_agenda, meeting_id="tafel-jeugd-2027-01-14")
    r.at("2027-01-14")
    r.call(moves.advance, proposal_id=pid)
    r.call(moves.advance, proposal_id=other)
    r.at("2027-01-28")  # the steering group meets: it sets the route
    r.call(moves.set_route, proposal_id=pid, route=["tafel", "stuur", "bestuur"])
    r.call(moves.return_, proposal_id=other, to="tafel", reason="meer cijfers")
    r.call(moves.withdraw, proposal_id=other, reason="niet meer nodig")
    r.call(moves.advance, proposal_id=pid)
    r.call(agenda_approval.approve, meeting_id="bestuur-2027-02-11")  # it sets the BO agenda
    r.at("2027-02-11")
    r.call(
        decisions.decide,
        proposal_id=pid,
        outcome="adopted",
        text="Kader vastgesteld.",
        override="akkoord per e-mail",
    )
    r.call(decisions.confirm, proposal_id=pid, actor="wethouder-west", version=1)
    with_digest(r.db, "beleid-oost")
    r.at("2027-02-12", 9)
    r.call(agenda.oogo_news, meeting_id="bestuur-2027-02-11")
    assert outbox.build_digests(r.db, now=datetime(2027, 2, 13, 9, tzinfo=AMSTERDAM)) == 1


def test_second_region_mails_use_its_own_words(region2: Region2) -> None:
    _second_region_story(region2)
    mails = render_all(region2.db)
    kinds = {m.row.kind for m in mails}
    assert kinds >= {"submitted", "placed", "agenda", "route_set", "returned", "withdrawn",
                     "decision_recorded", "decision_final", "oogo_news", "digest"}  # fmt: skip
    for mail in mails:
        for word in FOREIGN:
            assert word not in mail.all, (mail.row.kind, mail.lang, word, mail.all)

    nl, en = first(mails, "submitted", "nl"), first(mails, "submitted", "en")
    assert "Daarna bepaalt de stuurgroep de route van het voorstel." in nl.plain
    assert "Daarna bepaalt de stuurgroep de route van het voorstel." in nl.html
    assert "The steering group will then set the proposal's route." in en.plain
    assert "Jeugdtafel:   Tafel Jeugd" in nl.plain
    assert ">Jeugdtafel</th><td>Tafel Jeugd</td>" in nl.html
    assert "Youth table: Tafel Jeugd" in en.plain
    assert "Doel:         ter besluitvorming" in nl.plain and "for decision" in en.html

    nl, en = first(mails, "route_set", "nl"), first(mails, "route_set", "en")
    assert "De stuurgroep heeft de route van dit voorstel vastgesteld:" in nl.plain
    assert "jeugdtafel → stuurgroep → Bestuurlijk overleg" in nl.plain
    assert "The steering group has set the route of this proposal:" in en.html
    assert "youth table → steering group → administrative meeting" in en.plain

    assert (
        "teruggestuurd van de stuurgroep naar de jeugdtafel" in first(mails, "returned", "nl").plain
    )
    placed = [m.plain for m in mails if m.row.kind == "placed" and m.lang == "nl"]
    assert any(
        "op de agenda van de vergadering van het Bestuurlijk overleg" in text for text in placed
    )
    assert any("op de agenda van de vergadering van de Stuurgroep" in text for text in placed)
    assert "ter kennisname" in first(mails, "agenda", "nl").plain

    for lang, start in (("nl", "zonder gemandateerde stem voor"), ("en", "mandated voice for")):
        line = line_with(first(mails, "decision_recorded", lang).plain, start)
        assert line.endswith(f"{start} Oosterdorp, Gemeente Westerveen."), line
    assert "Uitkomst: akkoord" in first(mails, "decision_final", "nl").plain
    assert "Outcome: agreed" in first(mails, "decision_final", "en").plain

    nl, en = first(mails, "oogo_news", "nl"), first(mails, "oogo_news", "en")
    assert nl.subject == "Nieuws uit het Bestuurlijk overleg van donderdag 11 februari 2027"
    assert en.subject == "News from the administrative meeting of Thursday 11 February 2027"
    assert "Zet dit nieuws op de agenda van de volgende vergadering van de Tafel Jeugd." in nl.plain
    assert "- P-2027-001 Kader thuiszitters: akkoord" in nl.plain
    assert "Please put it on the agenda of the next meeting of Tafel Jeugd." in en.html
    assert "- nieuws uit het Bestuurlijk overleg" in first(mails, "digest", "nl").plain
    assert "news from the administrative meeting" in first(mails, "digest", "en").html


def test_a_region_without_a_routing_body_names_none(region2: Region2) -> None:
    with region2.db.session() as session:
        tx = Tx(session)
        tx.execute(
            "UPDATE region_setting SET value = ? WHERE key = 'roles'",
            ('{"routing_body": null, "top_body": "bestuur", "news_bodies": ["tafel-jeugd"]}',),
        )
        tx.execute("UPDATE region_setting SET value = '99' WHERE key = 'generation'")
        session.commit()
    region2.call(moves.submit, title="Plan", purpose="adoption", parties=["westerveen"])
    mails = render_all(region2.db)
    submitted = first(mails, "submitted", "nl")
    assert "Plan" in submitted.subject
    assert "de route van het voorstel" not in submitted.all
    assert "will then set" not in first(mails, "submitted", "en").all


def test_words_are_read_once_per_config_generation(region2: Region2) -> None:
    region2.call(moves.submit, title="Een", purpose="adoption", parties=["westerveen"])
    with region2.db.session() as session:
        tx = Tx(session)
        statements: list[str] = []
        driver = session.connection().connection.driver_connection
        driver.set_trace_callback(statements.append)
        event = tx.all("SELECT MAX(id) FROM audit_event")[0][0]
        found = next(ev for _row, ev in audit.iter_events(session) if ev.id == event)
        assert found.action == "submitted"
        statements.clear()
        assert notices_for_event(tx, found)
        driver.set_trace_callback(None)
    joined = "\n".join(statements)
    assert "short_name" not in joined and "workflow_version" not in joined, joined


# -- a row queued before the words travelled with it -----------------------------------------


def _as_before(context: dict[str, Any]) -> dict[str, Any]:
    """A context as recipients.py wrote it before: no words, the news body under ``lea``."""
    old = {k: v for k, v in context.items() if k not in ("words", "party_names", "news_body")}
    if "news_body" in context:
        old["lea"] = context["news_body"]
    if "items" in context:  # a digest: its items' contexts too
        old["items"] = [{**i, "context": _as_before(i["context"])} for i in context["items"]]
    return old


def test_an_old_row_without_words_still_renders(world: Any) -> None:
    _foodvalley_story(world)
    old_rows = [replace(row, context=_as_before(row.context)) for row in outbox_rows(world.db)]
    mails = [Mail(row, lang) for row in old_rows for lang in ("nl", "en")]
    assert {m.row.kind for m in mails} >= {"submitted", "route_set", "oogo_news", "digest"}
    nl = first(mails, "route_set", "nl")
    assert "Het voorzittersoverleg heeft de route van dit voorstel vastgesteld:" in nl.plain
    assert "tafel → voorzittersoverleg → ambtelijk overleg → OOGO" in nl.plain
    assert "Tafel:        Tafel Model passende samenwerking" in nl.plain
    news = first(mails, "oogo_news", "nl", "ingrid-schouten")
    assert news.subject.startswith("Nieuws uit het OOGO van ")
    assert "de volgende vergadering van de LEA Ede." in news.plain
    assert "- nieuws uit het OOGO" in first(mails, "digest", "nl", "marloes-kamphuis").plain
    recorded = first(mails, "decision_recorded", "en")
    assert re.search(r"mandated voice for ede, swv-vo\.", recorded.plain), recorded.plain


def test_every_notice_kind_has_a_digest_name_in_both_languages() -> None:
    from regie.notifications.kinds import NOTICE_KINDS
    from regie.notifications.words import KIND_NAMES

    for lang in ("nl", "en"):
        missing = set(NOTICE_KINDS) - {"digest"} - set(KIND_NAMES[lang])
        assert not missing, f"{lang}: no digest name for {sorted(missing)}"
