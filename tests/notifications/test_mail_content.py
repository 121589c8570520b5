"""What the mails say, read as the civil servant who gets them (issue 16).

One FoodValley story through the real engine (three purposes; submission, placement,
advance, defer, return, withdraw, a moved and a cancelled meeting, decide, amend,
retract, confirm, news), its real outbox rows rendered with the real templates: every
notice kind, in both languages, every outcome of its workflow, as a single mail and
inside a digest. Calendar parts are parsed with icalendar.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar

from regie.clock import AMSTERDAM, to_local
from regie.engine import agenda, decisions, moves
from regie.engine.setup import init_database
from regie.engine.storage import Tx
from regie.notifications import outbox
from regie.notifications.kinds import NOTICE_KINDS
from regie.notifications.render import render_notice
from regie.notifications.types import OutboxRow
from regie.scheduler.confirmation import ConfirmationRule
from regie.scheduler.documents import DocumentsRule
from regie.scheduler.sweep import sweep
from regie.workflows.definition import builtin_workflows

SENDER = "Netwerk FoodValley <regie@foodvalley.example.org>"
REPLY_TO = "Netwerkbureau <netwerk@foodvalley.example.org>"
COORDINATOR = ("Mirjam Verhoef", "mirjam.verhoef@foodvalley.example.org")
OUTCOMES = {
    "adoption": ("adopted", "rejected"),
    "advice": ("positive", "negative", "no_consensus"),
    "information": ("noted",),
}
DECISION_KINDS = {"decision_recorded", "decision_amended", "decision_final", "advice", "noted"}
MOVED, CANCELLED = "ao-2026-12-10", "ao-2027-01-07"
NEW_PLACE = "Gemeentehuis Barneveld"
SHOWS_MEETING = {  # the kinds whose mail shows the meeting's time
    "submitted", "submitted_receipt", "placed", "placed_lead", "agenda", "deferred",
    "returned", "meeting_changed", "meeting_cancelled", "decision_final", "advice",
}  # fmt: skip


class Mail:
    def __init__(self, tx: Tx | None, row: OutboxRow, lang: str) -> None:
        self.row, self.lang = replace(row, language=lang), lang
        raw = render_notice(tx, self.row, sender_address=SENDER, reply_to=REPLY_TO).as_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.msg = msg
        self.subject = str(msg["Subject"])
        self.plain = str(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        self.html = str(msg.get_body(("html",)).get_content())  # type: ignore[union-attr]

    @property
    def kind(self) -> str:
        return self.row.kind

    @property
    def all(self) -> str:
        return "\n".join((self.subject, self.plain, self.html))

    def calendars(self) -> list[tuple[Any, Calendar]]:
        return [
            (p, Calendar.from_ical(p.get_payload(decode=True)))
            for p in self.msg.walk()
            if p.get_content_type() == "text/calendar"
        ]


def _reinit(world: Any, region: Any) -> None:
    init_database(db=world.db, clock=world.clock, region=region, workflows=builtin_workflows())


def _spec(region: Any, meeting_id: str) -> Any:
    return next(s for s in region.body("ao").meetings if s.meeting_id("ao") == meeting_id)


def _story(world: Any) -> dict[str, str]:
    leads = {"admin_lead": "gerrit-hoogendoorn", "official_lead": "koen-smit"}
    ids = {p: world.submit(p, title=f"Voorstel {p}", **leads) for p in OUTCOMES}
    ids["deferred"] = world.submit(title="Later", **leads)
    ids["returned"] = world.submit(title="Terug", **leads)
    # the scheduler's documents rule (issue 18): no documents 3 working days before the deadline
    world.at(datetime(2026, 11, 30, 9, tzinfo=AMSTERDAM))
    sweep(world.db, world.clock, {"documents": DocumentsRule()})
    world.call(agenda.publish_agenda, meeting_id=world.show(ids["adoption"])["meeting"])
    # a published AO meeting moves (time and place), another is cancelled
    for meeting in (MOVED, CANCELLED):
        world.call(agenda.publish_agenda, meeting_id=meeting)
    region = world.region.model_copy(deep=True)
    moved = _spec(region, MOVED)
    moved.time, moved.location = time(15, 0), NEW_PLACE
    _reinit(world, region)
    region.body("ao").meetings.remove(_spec(region, CANCELLED))
    _reinit(world, region)

    world.call(moves.defer, proposal_id=ids["deferred"], reason="geen tijd meer")
    for key in ("adoption", "information", "advice", "returned"):
        world.advance(ids[key])
    world.to_meeting_of(ids["adoption"])  # the chairs' meeting
    world.call(moves.set_route, proposal_id=ids["information"], route=["table", "chairs"])
    world.call(decisions.decide, proposal_id=ids["information"], outcome="noted", text="Gezien.")
    world.call(moves.return_, proposal_id=ids["returned"], to="table", reason="meer cijfers")
    world.call(moves.withdraw, proposal_id=ids["returned"], reason="niet meer nodig")
    meeting = world.to_final_together(ids["adoption"], ids["advice"])
    pid = ids["adoption"]
    chair = world.chair("oogo")
    world.call(
        decisions.decide, proposal_id=pid, outcome="adopted", text="Vastgesteld.", override="mail"
    )
    world.call(decisions.confirm, proposal_id=pid, actor=chair, amend_text="Vastgesteld, met X.")
    world.call(decisions.retract, proposal_id=pid, reason="aanwezigheid klopte niet")
    world.call(
        decisions.decide, proposal_id=pid, outcome="adopted", text="Definitief.", override="mail"
    )
    world.call(decisions.request_correction, proposal_id=pid, actor=chair, version=3,
               comment="Ede ontbreekt.")  # fmt: skip
    world.call(decisions.confirm, proposal_id=pid, actor=chair, version=3)
    world.call(
        decisions.decide,
        proposal_id=ids["advice"],
        outcome="positive",
        text="Positief advies.",
        override="mail",
    )
    # the scheduler (issue 18): 6 working days unconfirmed, reminders and an escalation
    world.clock.advance(timedelta(days=10))
    sweep(world.db, world.clock, {"confirmation": ConfirmationRule()})
    world.call(decisions.confirm, proposal_id=ids["advice"], actor=chair, version=1)
    world.call(agenda.oogo_news, meeting_id=meeting)
    _scheduler_month(world, leads)
    return ids


def _scheduler_month(world: Any, leads: dict[str, str]) -> None:
    """Six weeks of the scheduler with every rule: a sweep at 08:00 and 09:00 each day
    (digests, empty agendas, agendas published, documents reminders, deferrals after a
    meeting and at a document deadline), while a proposal with a follow-up moves on."""
    follow_up = world.submit("adoption", title="Uitvoering", follow_up=True, **leads)
    day = to_local(world.clock.now()).date()
    for _ in range(40):
        day = max(day, to_local(world.clock.now()).date()) + timedelta(days=1)
        for hour in (8, 9):
            world.at(datetime.combine(day, time(hour), tzinfo=AMSTERDAM))
            sweep(world.db, world.clock)
        if world.show(follow_up)["state"] == "table":
            world.advance(follow_up)


def _rows(world: Any) -> list[OutboxRow]:
    with world.db.session(write=False) as session:
        found = Tx(session).all(f"SELECT {outbox.ROW_COLUMNS} FROM outbox ORDER BY id")
    return [outbox.row_from_tuple(r) for r in found]


def _with_outcome(row: OutboxRow, outcome: str) -> OutboxRow:
    payload = {**row.context.get("payload", {}), "outcome": outcome}
    return replace(row, context={**row.context, "payload": payload})


def _digest_of(rows: list[OutboxRow]) -> OutboxRow:
    """A digest row as outbox.build_digests makes it, of these rows."""
    items = [
        {"kind": r.kind, "proposal_id": r.proposal_id, "meeting_id": r.meeting_id,
         "context": r.context}
        for r in rows
    ]  # fmt: skip
    context = {"day": "2027-02-01", "region": "FoodValley", "recipient_name": "Hans Wolters",
               "items": items}  # fmt: skip
    return replace(rows[0], kind="digest", proposal_id=None, meeting_id=None, context=context)


@pytest.fixture
def story(world: Any) -> dict[str, Any]:
    ids = _story(world)
    rows = _rows(world)
    if not any(r.kind == "decision_amended" for r in rows):
        # the chair amends, and the one who acts gets no mail of it: the same facts as
        # the recorded decision's row, with the amended text
        recorded = next(r for r in rows if r.kind == "decision_recorded")
        payload = {**recorded.context["payload"], "version": 2, "text": "Vastgesteld, met X.",
                   "previous_text": "Vastgesteld."}  # fmt: skip
        context = {**recorded.context, "action": "amended", "payload": payload}
        rows.append(replace(recorded, kind="decision_amended", context=context))
    singles: list[OutboxRow] = []
    seen: dict[tuple[Any, ...], int] = {}
    for row in rows:
        ctx = row.context
        key = (row.kind, ctx.get("purpose"), ctx.get("body_id"), ctx.get("action"))
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 2:  # the same mail to more people: two of them are enough
            continue
        purpose = row.context.get("purpose")
        if row.kind in DECISION_KINDS - {"noted"} and purpose in OUTCOMES:
            singles += [_with_outcome(row, o) for o in OUTCOMES[purpose]]
        else:
            singles.append(row)
    by_kind: dict[str, list[OutboxRow]] = {}
    for row in singles:
        by_kind.setdefault(row.kind, []).append(row)
    digests = [_digest_of([r]) for kind in sorted(by_kind) for r in by_kind[kind][:3]]
    with world.db.session(write=False) as session:
        tx = Tx(session)
        mails = [Mail(tx, r, lang) for r in singles + digests for lang in ("nl", "en")]
    return {"ids": ids, "mails": mails, "kinds": set(by_kind)}


def test_every_kind_every_purpose_and_outcome_is_rendered(story: dict[str, Any]) -> None:
    mails: list[Mail] = story["mails"]
    assert story["kinds"] >= set(NOTICE_KINDS) - {
        "digest",
        "route_proposed",
        "route_set",
        "sign_in",
        # scheduler notices this story does not reach; tests/scheduler renders each of
        # them from real rows in Dutch and English
        "absence_reminder",
        "agenda_unapproved",
        "coverage_escalated",
        "coverage_reminder",
        "feasibility_concern",
        "feasibility_reminder",
        "mandate_expiring",
    }
    seen = {(m.kind, m.row.context.get("purpose"), m.lang) for m in mails}
    for purpose in OUTCOMES:
        for lang in ("nl", "en"):
            assert ("placed", purpose, lang) in seen and (
                "submitted_receipt",
                purpose,
                lang,
            ) in seen
    outcomes = {
        (m.row.context.get("purpose"), m.row.context["payload"].get("outcome"))
        for m in mails
        if m.kind == "decision_final"
    }
    assert outcomes >= {(p, o) for p in ("adoption", "advice") for o in OUTCOMES[p]}


def test_footer_names_the_coordinator_and_replies_go_to_the_network(
    story: dict[str, Any],
) -> None:
    name, address = COORDINATOR
    for mail in story["mails"]:
        footer = mail.plain.rpartition("\n-- \n")[2]
        assert name in footer and address in footer, (mail.kind, footer)
        assert name in mail.html and f'href="mailto:{address}"' in mail.html, mail.kind
        assert mail.msg["Reply-To"].addresses[0].addr_spec == "netwerk@foodvalley.example.org"


def test_old_rows_without_coordinator_get_it_from_the_database(
    world: Any, story: dict[str, Any]
) -> None:
    row = next(m.row for m in story["mails"] if m.kind == "placed")
    old = replace(row, context={k: v for k, v in row.context.items() if "coordinator" not in k})
    with world.db.session(write=False) as session:
        mail = Mail(Tx(session), old, "nl")
    assert "Mirjam Verhoef: mirjam.verhoef@foodvalley.example.org" in mail.plain
    assert "Vragen? Neem contact op met de netwerkregisseur." in Mail(None, old, "nl").plain


def test_receipt_and_the_instruction_to_leads(story: dict[str, Any]) -> None:
    mails: list[Mail] = story["mails"]
    receipt = {"nl": "Ontvangstbevestiging: ", "en": "Receipt: "}
    for mail in mails:
        if mail.kind == "submitted_receipt":
            assert mail.subject.startswith(receipt[mail.lang] + mail.row.proposal_id)
        instruction = {"nl": "Lever de stukken", "en": "Please supply the documents"}[mail.lang]
        if mail.kind == "placed_lead":
            due = mail.row.context["documents_due"]
            day = {"nl": "uiterlijk ", "en": "by "}[mail.lang]
            words = _day(due, mail.lang)
            assert instruction in mail.plain and day + words in mail.plain, mail.plain
            assert words in mail.html
        elif mail.kind != "digest":
            assert instruction not in mail.all, (mail.kind, mail.lang)
            assert "stukken op tijd" not in mail.all


def _day(iso: str, lang: str) -> str:
    from regie.dates import DAY, format_when

    return format_when(iso, lang, DAY)


def test_dutch_articles_times_and_brackets(story: dict[str, Any]) -> None:
    for mail in story["mails"]:
        for text in (mail.subject, mail.plain):
            assert "((" not in text and "))" not in text, (mail.kind, text)
            assert not re.search(r"\([^()]*\(", text), (mail.kind, text)
        if mail.lang != "nl":
            continue
        assert not re.search(r"\b0\d[.:]\d\d\b", mail.all), (mail.kind, mail.plain)
        assert "regie confirm" not in mail.all
        assert " de Regionaal bestuurlijk OOGO" not in mail.all
        assert " de Ambtelijk overleg" not in mail.all
        if mail.kind in SHOWS_MEETING and "starts_at" in mail.row.context:
            assert re.search(r"van \d{1,2}\.\d\d tot \d{1,2}\.\d\d uur", mail.plain), mail.kind
    placed = [m for m in story["mails"] if m.kind == "placed" and m.lang == "nl"]
    ao = next(m for m in placed if m.row.context["body_id"] == "ao")
    assert "op de agenda van de vergadering van het Ambtelijk overleg" in ao.plain
    assert "op de agenda van het Ambtelijk overleg" in ao.subject
    final = next(m for m in story["mails"] if m.kind == "decision_final" and m.lang == "nl")
    assert "de voorzitter van het Regionaal bestuurlijk OOGO" in final.plain


def test_achterban_only_for_adoptions(story: dict[str, Any]) -> None:
    for mail in story["mails"]:
        if mail.kind == "digest":
            continue
        word = {"nl": "achterban", "en": "constituency"}[mail.lang]
        expected = mail.kind == "decision_final" and mail.row.context["purpose"] == "adoption"
        assert (word in mail.all) == expected, (mail.kind, mail.row.context.get("purpose"))


def test_the_chair_is_asked_what_by_when_and_whom_to_tell(story: dict[str, Any]) -> None:
    for mail in story["mails"]:
        if mail.kind not in ("decision_recorded", "decision_amended"):
            continue
        confirm_by = mail.row.context["confirm_by"]
        ask = {"nl": "uiterlijk ", "en": "by "}[mail.lang] + _day(confirm_by, mail.lang)
        assert ask in mail.plain and COORDINATOR[0] in mail.plain.partition("\n-- \n")[0]
        assert "regie confirm" not in mail.all and "--as" not in mail.all


def test_calendar_parts_are_meeting_requests(story: dict[str, Any]) -> None:
    invites = [m for m in story["mails"] if NOTICE_KINDS[m.kind].invite]
    assert {m.kind for m in invites} == {"agenda", "meeting_changed", "meeting_cancelled"}
    for mail in invites:
        method = NOTICE_KINDS[mail.kind].invite
        assert mail.msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in mail.msg.iter_parts()]
        assert parts == ["text/plain", "text/html", "text/calendar"]
        [(part, cal)] = mail.calendars()
        assert part.get_param("method") == method and part.get_content_charset() == "utf-8"
        assert part.get_content_disposition() is None  # inline: Outlook's meeting request
        assert str(cal["METHOD"]) == method
        event = cal.walk("VEVENT")[0]
        assert event["ORGANIZER"].params["CN"] == COORDINATOR[0]
        year = event.decoded("DTSTART").year
        [tz] = cal.walk("VTIMEZONE")
        starts = sorted(c.decoded("DTSTART") for c in tz.subcomponents)
        assert starts[0] <= datetime(year, 1, 1) and len(tz.subcomponents) >= 3
        kinds = [(c.name, c.decoded("DTSTART").month) for c in tz.subcomponents]
        assert ("DAYLIGHT", 3) in kinds and ("STANDARD", 10) in kinds
        assert all(c.decoded("DTSTART").year == year for c in tz.subcomponents)
    moved = next(m for m in invites if m.kind == "meeting_changed" and m.lang == "nl")
    assert NEW_PLACE in moved.plain and "van 15.00 tot " in moved.plain


def test_the_digest_carries_what_the_single_mails_carry(story: dict[str, Any]) -> None:
    # the digests of one notice each (the scheduler's real digests bundle several)
    digests = [m for m in story["mails"] if m.kind == "digest" and len(m.row.context["items"]) == 1]
    assert len(digests) > 20
    for mail in digests:
        [item] = mail.row.context["items"]
        method = NOTICE_KINDS[item["kind"]].invite
        calendars = mail.calendars()
        if method is None:
            assert calendars == []
            continue
        assert mail.msg.get_content_type() == "multipart/mixed"
        [(part, cal)] = calendars
        assert part.get_content_disposition() == "attachment"
        assert part.get_filename().endswith(".ics") and part.get_param("method") == method
        event = cal.walk("VEVENT")[0]
        assert str(event["UID"]) == f"meeting-{item['meeting_id']}@foodvalley.regie"
        assert str(cal["METHOD"]) == method
    moved = next(m for m in digests if m.row.context["items"][0]["kind"] == "meeting_changed")
    assert NEW_PLACE in moved.plain and NEW_PLACE in moved.html
    for mail in digests:
        [item] = mail.row.context["items"]
        payload = item["context"].get("payload", {})
        if item["kind"] in DECISION_KINDS and payload.get("text"):
            assert payload["text"] in mail.plain, (item["kind"], mail.plain)
            label = {"nl": "Uitkomst: ", "en": "Outcome: "}[mail.lang]
            assert label in mail.plain
        if item["kind"] == "placed_lead":
            assert _day(item["context"]["documents_due"], mail.lang) in mail.plain


def test_a_real_digest_from_the_outbox(world: Any, story: dict[str, Any]) -> None:
    member = world.region.body("ao").members[0]
    with world.db.session() as session:
        Tx(session).execute("UPDATE person SET digest = ? WHERE id = ?", (True, member))
        Tx(session).execute(
            "UPDATE outbox SET status = 'digest' WHERE person_id = ? AND status = 'queued'",
            (member,),
        )
        session.commit()
    now = world.clock.now() + timedelta(days=1)
    assert outbox.build_digests(world.db, now=now) >= 1
    row = next(r for r in _rows(world) if r.kind == "digest" and r.person_id == member)
    with world.db.session(write=False) as session:
        mail = Mail(Tx(session), row, "nl")
    assert NEW_PLACE in mail.plain and "gaat niet door" in mail.plain
    uids = {str(cal.walk("VEVENT")[0]["UID"]) for _p, cal in mail.calendars()}
    assert uids >= {f"meeting-{m}@foodvalley.regie" for m in (MOVED, CANCELLED)}
    assert COORDINATOR[1] in mail.plain.rpartition("\n-- \n")[2]
    assert date.fromisoformat(row.context["day"]) == now.astimezone(AMSTERDAM).date()
