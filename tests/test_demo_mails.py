"""`regie demo --keep DIR` leaves mails that show every point of issue 16.

The demo runs once (real SQLite file, real aiosmtpd sink); every .eml it leaves is parsed
with the email package and matched, by its Message-ID, to its outbox row and the audit
event that caused it in the kept database.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import sqlite3
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from regie.dates import DAY, format_when
from regie.demo import default_config, run_demo
from regie.demo_stories import MOVED_TO
from regie.region import load_region

REGION = load_region(default_config())
COORDINATOR = REGION.person(REGION.coordinator)
INVITE_KINDS = {"agenda": "REQUEST", "meeting_changed": "REQUEST", "meeting_cancelled": "CANCEL"}
SHOWS_RANGE = {"placed", "placed_lead", "agenda", "meeting_changed", "decision_final"}
INSTRUCTION = {"nl": "Lever de stukken", "en": "Please supply the documents"}


@dataclass
class Mail:
    path: Path
    msg: EmailMessage
    kind: str
    lang: str
    person: str
    proposal: str | None
    meeting: str | None
    context: dict[str, Any]
    actor: str
    outbox_id: int

    @property
    def subject(self) -> str:
        return str(self.msg["Subject"])

    @property
    def plain(self) -> str:
        text = self.msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        return str(text).replace("\r\n", "\n")

    @property
    def html(self) -> str:
        return str(self.msg.get_body(("html",)).get_content())  # type: ignore[union-attr]

    @property
    def all(self) -> str:
        return "\n".join((self.subject, self.plain, self.html))

    def calendars(self) -> list[tuple[EmailMessage, Calendar]]:
        return [
            (p, Calendar.from_ical(p.get_payload(decode=True)))
            for p in self.msg.walk()
            if p.get_content_type() == "text/calendar"
        ]


@dataclass
class Demo:
    mails: list[Mail]
    db: sqlite3.Connection
    output: str

    def of(self, kind: str, proposal: str | None = None) -> list[Mail]:
        return [
            m for m in self.mails if m.kind == kind and proposal in (None, m.proposal)
        ]  # fmt: skip

    def proposal(self, pid: str) -> dict[str, Any]:
        cur = self.db.execute("SELECT * FROM proposal WHERE id = ?", (pid,))
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("demo") / "d"
    lines: list[str] = []
    assert run_demo(keep=str(folder), echo=lines.append)
    db = sqlite3.connect(f"file:{folder / 'demo.db'}?mode=ro", uri=True)
    rows = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT o.message_id, o.id, o.kind, o.person_id, o.language, o.proposal_id, "
            "o.meeting_id, o.context, e.actor FROM outbox o JOIN audit_event e "
            "ON e.id = o.event_id WHERE o.message_id IS NOT NULL"
        )
    }
    mails = []
    for path in sorted((folder / "mail").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        oid, kind, person, lang, pid, mid, ctx, actor = rows[str(msg["Message-ID"])]
        assert (msg["X-Regie-Notice"], msg["Content-Language"]) == (kind, lang)
        mails.append(Mail(path, msg, kind, lang, person, pid, mid, json.loads(ctx), actor, oid))
    yield Demo(mails, db, "\n".join(lines))
    db.close()


def _day(iso: str, lang: str) -> str:
    return format_when(iso, lang, DAY)


def test_the_demo_sends_every_kind_a_member_can_act_on(demo: Demo) -> None:
    kinds = {m.kind for m in demo.mails}
    assert kinds >= {
        "submitted_receipt", "submitted", "placed_lead", "placed", "deferred", "withdrawn",
        "agenda", "meeting_changed", "meeting_cancelled", "decision_recorded",
        "decision_amended", "decision_final", "advice", "oogo_news", "digest",
    }  # fmt: skip
    sent = int(re.search(r"Mail: (\d+) notices sent", demo.output)[1])  # type: ignore[index]
    assert sent == len(demo.mails)
    assert re.search(r"^ +\d+ x placed_lead +e\.g\. ", demo.output, re.M)


def test_nobody_gets_a_notice_of_their_own_action(demo: Demo) -> None:
    for mail in demo.mails:
        if mail.kind == "submitted_receipt":
            assert mail.person == mail.actor
            assert mail.subject.startswith(f"Ontvangstbevestiging: {mail.proposal} ")
        elif mail.kind != "digest":
            assert mail.person != mail.actor, (mail.kind, mail.person)
    digested = demo.db.execute(
        "SELECT o.person_id, e.actor FROM outbox o JOIN audit_event e ON e.id = o.event_id "
        "WHERE o.status = 'digested'"
    ).fetchall()
    assert digested and all(person != actor for person, actor in digested)
    # the coordinator did everything but the scheduler's work: of their own moves only a
    # receipt per proposal, and the chair's amendment; the scheduler's questions and
    # escalations (and what its agendas and deferrals bring to a member) do reach them
    to_coordinator = [m for m in demo.mails if m.person == COORDINATOR.id]
    own = {m.kind for m in to_coordinator if m.actor != "scheduler"}
    assert own == {"submitted_receipt", "decision_amended"}
    by_scheduler = {m.kind for m in to_coordinator if m.actor == "scheduler"}
    assert {"confirmation_escalated", "agenda_empty"} <= by_scheduler


def test_the_leads_alone_get_the_instruction_with_its_deadline(demo: Demo) -> None:
    # the stories' proposal led by others (the scheduler's weeks add one more)
    found = [m for m in demo.of("placed_lead") if str(m.proposal).startswith("P-2026-")]
    pids = {m.proposal for m in found}
    assert len(pids) == 1
    p = demo.proposal(pids.pop())  # type: ignore[arg-type]
    leads = {p["admin_lead"], p["official_lead"]}
    assert COORDINATOR.id not in leads and len(leads) == 2 and p["submitted_by"] != p["admin_lead"]
    assert {m.person for m in found} == leads
    assert len(found) == 4  # at its submission and when it moved on, to both leads
    for mail in found:
        due = mail.context["documents_due"]
        assert INSTRUCTION[mail.lang] in mail.plain
        assert f"uiterlijk {_day(due, 'nl')}" in mail.plain  # maandag 11 januari 2027
        assert f"stukken uiterlijk {_day(due, 'nl').partition(' ')[2]}" in mail.subject
        assert _day(due, "nl") in mail.html
    about = {m.kind for m in demo.mails if m.proposal == p["id"] and m.person in leads}
    assert about == {"placed_lead", "deferred", "documents_reminder"}
    for mail in demo.mails:
        if mail.kind not in ("placed_lead", "documents_reminder", "digest"):
            assert INSTRUCTION[mail.lang] not in mail.all, mail.kind
            assert "stukken op tijd" not in mail.all and "stukken uiterlijk" not in mail.all


def test_a_withdrawal_reaches_everyone_who_got_the_submission(demo: Demo) -> None:
    [pid] = {m.proposal for m in demo.of("withdrawn")}
    told = {m.person for m in demo.of("submitted", pid)}
    heard = {m.person for m in demo.of("withdrawn", pid)}
    heard |= {
        m.person
        for m in demo.of("digest")
        for item in m.context["items"]
        if (item["kind"], item["proposal_id"]) == ("withdrawn", pid)
    }
    assert len(told) >= 8 and told <= heard
    reason = demo.of("withdrawn", pid)[0]
    assert "De gemeenten regelen het vervoer elk zelf" in reason.plain


def _events(mail: Mail) -> dict[str, Any]:
    return {str(cal.walk("VEVENT")[0]["UID"]): cal for _, cal in mail.calendars()}


def test_moved_and_cancelled_meetings_update_the_calendar_entry(demo: Demo) -> None:
    agenda = {(m.person, m.meeting): _events(m) for m in demo.of("agenda")}
    for kind, method in (("meeting_changed", "REQUEST"), ("meeting_cancelled", "CANCEL")):
        found = demo.of(kind)
        assert found, kind
        for mail in found:
            [(uid, cal)] = _events(mail).items()
            first = agenda[(mail.person, mail.meeting)][uid].walk("VEVENT")[0]
            event = cal.walk("VEVENT")[0]
            assert str(cal["METHOD"]) == method
            assert int(event["SEQUENCE"]) > int(first["SEQUENCE"])
            if kind == "meeting_cancelled":
                assert str(event["STATUS"]) == "CANCELLED"
            else:
                assert str(event["LOCATION"]) == MOVED_TO != str(first["LOCATION"])
                assert event.decoded("DTSTART") != first.decoded("DTSTART")
                assert MOVED_TO in mail.plain and MOVED_TO in mail.html
                if mail.lang == "nl":
                    assert "van 19.00 tot 21.00 uur" in mail.plain


def test_invites_are_meeting_requests_with_the_years_timezone(demo: Demo) -> None:
    for mail in demo.mails:
        if mail.kind not in INVITE_KINDS:
            continue
        method = INVITE_KINDS[mail.kind]
        assert mail.msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in mail.msg.iter_parts()]
        assert parts == ["text/plain", "text/html", "text/calendar"]
        [(part, cal)] = mail.calendars()
        assert part.get_param("method") == method and part.get_content_disposition() is None
        event = cal.walk("VEVENT")[0]
        assert event["ORGANIZER"].params["CN"] == COORDINATOR.name
        year = event.decoded("DTSTART").year
        [tz] = cal.walk("VTIMEZONE")
        kinds = {(c.name, c.decoded("DTSTART").month) for c in tz.subcomponents}
        assert {("DAYLIGHT", 3), ("STANDARD", 10)} <= kinds
        assert all(c.decoded("DTSTART").year == year for c in tz.subcomponents)


def test_a_digest_carries_invites_the_new_place_and_decisions(demo: Demo) -> None:
    found = [
        m for m in demo.of("digest")
        if any(i["kind"] == "meeting_changed" for i in m.context["items"])
    ]  # fmt: skip
    assert found
    for mail in found:
        assert mail.msg.get_content_type() == "multipart/mixed"
        assert MOVED_TO in mail.plain
        attached = [p for p, _ in mail.calendars() if p.get_content_disposition() == "attachment"]
        assert attached and all(p.get_filename().endswith(".ics") for p in attached)
        moved = [
            cal.walk("VEVENT")[0]
            for _, cal in mail.calendars()
            if str(cal.walk("VEVENT")[0].get("LOCATION")) == MOVED_TO
        ]
        assert len(moved) == 1 and str(moved[0]["STATUS"]) != "CANCELLED"
        assert MOVED_TO in mail.html
        footer = mail.plain.rpartition("\n-- \n")[2]
        assert COORDINATOR.name in footer


def test_a_digest_carries_the_confirmed_decision_text(demo: Demo) -> None:
    """The scheduler bundles each morning: the decision's digest is a later one than the
    moved meeting's, to the same people."""
    pid, payload = demo.db.execute(
        "SELECT proposal_id, payload FROM audit_event WHERE action = 'confirmed' "
        "AND meeting_id = ?",
        (demo.of("meeting_changed")[0].meeting,),
    ).fetchone()
    text = json.loads(payload)["text"]
    moved_to = {m.person for m in demo.of("digest") if MOVED_TO in m.plain}
    final = [
        m for m in demo.of("digest") if m.person in moved_to and any(
            i["kind"] == "decision_final" and i["proposal_id"] == pid
            for i in m.context["items"])
    ]  # fmt: skip
    assert final
    for mail in final:
        assert f"Uitkomst: vastgesteld\n  Tekst: {text}" in mail.plain


def test_every_mail_names_the_coordinator_and_replies_go_to_them(demo: Demo) -> None:
    for mail in demo.mails:
        footer = mail.plain.rpartition("\n-- \n")[2]
        assert COORDINATOR.name in footer and COORDINATOR.email in footer, mail.kind
        assert f'href="mailto:{COORDINATOR.email}"' in mail.html
        assert mail.msg["Reply-To"].addresses[0].addr_spec == COORDINATOR.email
        sender = mail.msg["From"].addresses[0].addr_spec
        assert sender not in {p.email for p in REGION.people}  # no person's own address


def test_dutch_articles_times_and_brackets(demo: Demo) -> None:
    nl = [m for m in demo.mails if m.lang == "nl"]
    for mail in demo.mails:
        for text in (mail.subject, mail.plain):
            assert "((" not in text and "))" not in text, (mail.kind, text)
            assert not re.search(r"\([^()]*\(", text), (mail.kind, text)
    for mail in nl:
        assert not re.search(r"\b0\d[.:]\d\d\b", mail.all), (mail.kind, mail.plain)
        for body in ("Regionaal bestuurlijk OOGO", "Ambtelijk overleg", "Regionaal voorzitters"):
            assert f" de {body}" not in mail.all and f"De {body}" not in mail.all
        if mail.kind in SHOWS_RANGE:
            assert re.search(r"van \d{1,2}\.\d\d tot \d{1,2}\.\d\d uur", mail.plain), mail.kind
    everything = "\n".join(m.plain for m in nl)
    assert "van het Regionaal bestuurlijk OOGO" in everything
    assert "op de agenda van het Ambtelijk overleg" in "\n".join(m.subject for m in nl)
    assert "van 9.30 tot 11.30 uur" in everything and "19.30 uur" in everything


def test_achterban_only_for_adoption_decisions(demo: Demo) -> None:
    word = {"nl": "achterban", "en": "constituency"}
    seen = 0
    for mail in demo.mails:
        if mail.kind == "digest":
            continue
        purpose = demo.proposal(mail.proposal)["purpose"] if mail.proposal else None
        expected = mail.kind == "decision_final" and purpose == "adoption"
        assert (word[mail.lang] in mail.all) == expected, (mail.kind, purpose)
        seen += expected
    assert seen >= 5


def test_the_chair_is_asked_what_by_when_and_whom_to_tell(demo: Demo) -> None:
    asked = demo.of("decision_recorded") + demo.of("decision_amended")
    assert {m.person for m in demo.of("decision_recorded")} == {REGION.body("oogo").chair}
    for mail in asked:
        body = mail.plain.partition("\n-- \n")[0]
        assert f"uiterlijk {_day(mail.context['confirm_by'], 'nl')}" in body
        # the way to act is the mail's own link (the coordinator is told of a correction)
        [row_id] = re.findall(r"https?://\S+/l/(\d+)\.[A-Za-z0-9_-]{22}\b", body)
        assert int(row_id) == mail.outbox_id
    for mail in demo.mails:
        assert "regie confirm" not in mail.all and "--as" not in mail.all, mail.kind


def test_the_kept_folder_holds_the_database_and_the_mails(demo: Demo) -> None:
    first = demo.mails[0]
    assert first.path.parent.name == "mail" and (first.path.parents[1] / "demo.db").is_file()
    assert "open the .eml files in a mail program" in demo.output
    assert first.msg["Date"].datetime.year >= 2026  # the demo's clock, sent the next morning


def test_the_demo_ends_by_confirming_a_decision_through_its_link(demo: Demo) -> None:
    """The chair opens the link of the decision mail and clicks Confirm, over HTTP."""
    chair = REGION.body("oogo").chair
    got = re.findall(r"(P-\d{4}-\d{3})  (\S+) clicks Confirm: POST /l/(\d+)\.… -> 200 "
                     r"'Besluit bevestigd'; now decided$", demo.output, re.M)  # fmt: skip
    [(pid, who, row_id)] = got
    assert who == chair and f"{chair} opens the link: GET /l/{row_id}.… -> 200" in demo.output
    assert "still awaiting_confirmation" in demo.output  # the GET changed nothing
    [mail] = [m for m in demo.of("decision_recorded", pid) if m.outbox_id == int(row_id)]
    assert mail.person == chair and f"/l/{row_id}." in mail.plain
    assert demo.proposal(pid)["state"] == "decided"
    assert demo.db.execute(
        "SELECT actor FROM audit_event WHERE action = 'confirmed' AND proposal_id = ?", (pid,)
    ).fetchall() == [(chair,)]
    assert demo.db.execute("SELECT row_id, person_id, outcome FROM link_use").fetchall() == [
        (int(row_id), chair, "confirmed")
    ]
    # the confirmation's notices went out with the rest of the mail the next morning
    assert demo.of("decision_final", pid)


def test_the_scheduler_weeks_remind_escalate_and_defer(demo: Demo) -> None:
    """`make demo` moves its clock: the scheduler's reminder, escalation and automatic
    deferral are in the output and in the mail, each fired once."""
    weeks = demo.output.partition("The scheduler keeps the calendar")[2]
    for line in ("confirmation reminder", "confirmation escalation", "documents defer"):
        assert line in weeks
    assert demo.of("confirmation_reminder") and demo.of("confirmation_escalated")
    fired = demo.db.execute("SELECT rule, item, person, due_at FROM firing").fetchall()
    assert len(fired) == len(set(fired)) > 10
    deferred = demo.db.execute(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'deferred' AND actor = 'scheduler'"
    ).fetchone()[0]
    assert deferred >= 2
