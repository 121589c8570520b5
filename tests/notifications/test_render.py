"""Rendering notices: templates in both languages, headers, threading, escaping, invites."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from importlib.resources import files
from typing import Any

import pytest
from icalendar import Calendar

from regie.clock import AMSTERDAM
from regie.notifications import render
from regie.notifications.config import LANGUAGES, NOTICE_KINDS
from regie.notifications.render import clean_header, format_when, render_notice
from regie.notifications.types import OutboxRow

SENDER = "regie@foodvalley.example.org"
BASE: dict[str, Any] = {
    "proposal_id": "P-2026-001",
    "title": "Dashboard jeugd en onderwijs",
    "purpose": "adoption",
    "summary": "Een gezamenlijk dashboard.",
    "documents": ["https://docs.example.org/dashboard.pdf", "javascript:alert(1)"],
    "table_id": "tafel-monitor",
    "table_name": "Tafel Monitor Jeugd & Onderwijs",
    "leads": ["koen-smit"],
    "stage": "ao",
    "state": "ao",
    "meeting_id": "ao-2026-10-13",
    "body_id": "ao",
    "body_name": "Ambtelijk overleg jeugd en onderwijs",
    "body_kind": "ao",
    "starts_at": "2026-10-13T14:00:00+02:00",
    "ends_at": "2026-10-13T16:00:00+02:00",
    "location": "Stadhuis Ede",
    "sequence": 2,
    "meeting_status": "scheduled",
    "event_id": 7,
    "action": "x",
    "actor": "coordinator",
    "actor_name": "Mirjam Verhoef",
    "at": "2026-10-01T08:00:00Z",
    "region": "FoodValley",
    "recipient_name": "Jan Jansen",
}
PAYLOADS: dict[str, dict[str, Any]] = {
    "submitted": {"parties": ["ede"]},
    "submitted_receipt": {"parties": ["ede"]},
    "placed_lead": {"meeting": "ao-2026-10-13"},
    "route_set": {"route": ["table", "chairs", "ao", "oogo"]},
    "route_proposed": {
        "route": ["table", "chairs", "oogo"],
        "previous": ["table", "chairs", "ao", "oogo"],
        "routing_meeting": "ao-2026-10-13",
    },
    "placed": {"meeting": "ao-2026-10-13", "late": True},
    "agenda": {
        "agenda": [
            {
                "proposal": "P-2026-001",
                "title": "Dashboard <b>",
                "purpose": "advice",
                "stage": "ao",
                "parties": ["Gemeente Ede"],
                "documents": ["https://docs.example.org/d.pdf"],
            }
        ]
    },
    "meeting_changed": {"previous": {"starts_at": "2026-10-06T14:00:00+02:00", "location": "Ede"}},
    "meeting_cancelled": {},
    "decision_recorded": {"outcome": "adopted", "text": "Vastgesteld.", "override": None},
    "decision_amended": {"version": 2, "text": "Nieuwe tekst", "previous_text": "Oud"},
    "decision_final": {"outcome": "adopted", "text": "Vastgesteld."},
    "returned": {"from": "ao", "to": "table", "reason": "meer cijfers"},
    "deferred": {"reason": "geen tijd"},
    "withdrawn": {"reason": "niet meer nodig"},
    "advice": {"outcome": "positive", "text": "Positief, met aandacht voor <de kosten>."},
    "noted": {"outcome": "noted", "text": "", "stage": "chairs"},
    "decision_retracted": {"version": 1, "to": "oogo", "reason": "aanwezigheid Ede klopte niet"},
    "correction_requested": {"version": 1, "text": "Vastgesteld.", "comment": "Ede <ontbreekt>"},
    "oogo_news": {
        "decisions": [
            {
                "proposal": "P-2026-001",
                "title": "Dashboard",
                "outcome": "adopted",
                "text": "Ja.",
                "confirmed": True,
            }
        ]
    },
}
_WAITING = {"rule": "confirmation", "due": "2026-10-23", "missing": "confirmation",
            "version": 1, "outcome": "adopted", "recorded_on": "2026-10-20",
            "confirm_by": "2026-10-22", "working_days": 2}  # fmt: skip
PAYLOADS["confirmation_reminder"] = _WAITING
PAYLOADS["confirmation_escalated"] = {**_WAITING, "due": "2026-10-28", "working_days": 5}
PAYLOADS["documents_reminder"] = {"deadline": "2026-10-08", "by": "scheduler", "rule": "documents"}
PAYLOADS["mandate_expiring"] = {
    "rule": "mandate_expiry", "to": ["jan"], "person": "jan", "person_name": "Jan Jansen",
    "party": "ede", "party_name": "Ede", "body": "ao", "body_name": "AO",
    "valid_until": "2026-12-31",
    "meetings": [{"id": "ao-2027-01-07", "starts_at": "2027-01-07T09:30:00+01:00",
                  "items": [{"proposal": "P-2026-001", "title": "Dashboard"}]}],
}  # fmt: skip
PAYLOADS["feasibility_reminder"] = {"rule": "feasibility", "party": "ede", "party_name": "Ede",
                                    "to": ["jan"], "working_days": 7}  # fmt: skip
PAYLOADS["feasibility_concern"] = {"party": "ede", "party_name": "Ede", "feasible": False,
                                   "text": "Only from 2028.", "to": ["jan"]}  # fmt: skip
PAYLOADS["agenda_unapproved"] = {"rule": "agenda", "publish_on": "2026-10-02",
                                 "missing": "approval", "final": False, "items": 2,
                                 "routing_body": "Voorzitters",
                                 "routing_article": "het"}  # fmt: skip
PAYLOADS["agenda_empty"] = {"rule": "agenda", "publish_on": "2026-10-02"}
PAYLOADS["coverage_reminder"] = {"rule": "coverage", "due": "2026-10-02", "to": ["jan-jansen"],
                                 "party": "ede", "party_name": "Ede", "working_days": 7}
PAYLOADS["coverage_escalated"] = {"rule": "coverage", "due": "2026-10-09", "working_days": 2,
                                  "items": [{"proposal": "P-2026-001", "title": "Dashboard",
                                             "parties": ["ede"], "party_names": ["Ede"]}]}
PAYLOADS["absence_reminder"] = {"rule": "absence", "due": "2026-10-09", "to": ["jan-jansen"],
                                "party": "ede", "party_name": "Ede", "announced_on": "2026-10-01",
                                "which": "first",
                                "items": [{"proposal": "P-2026-001", "title": "Dashboard"}]}
PAYLOADS["digest"] = {}
PAYLOADS["sign_in"] = {}
DIGEST_ITEMS = [
    {"kind": "placed", "proposal_id": "P-2026-001", "meeting_id": "ao-2026-10-13",
     "context": {"title": "Dashboard <b>", "body_name": "AO", "starts_at": BASE["starts_at"]}},
    {"kind": "oogo_news", "proposal_id": None, "meeting_id": "oogo-2026-10-20", "context": {}},
]  # fmt: skip
MEETING_KINDS = {"agenda", "meeting_changed", "meeting_cancelled", "oogo_news", "mandate_expiring",
                 "agenda_unapproved", "agenda_empty", "coverage_escalated",
                 "absence_reminder"}  # fmt: skip
GREETING = {"nl": "Beste Jan Jansen", "en": "Dear Jan Jansen"}


def make_row(kind: str, lang: str = "nl", **context: Any) -> OutboxRow:
    ctx = {**BASE, "payload": PAYLOADS[kind], **context}
    if kind == "oogo_news":
        ctx["lea"] = "LEA Ede"
    if kind == "digest":
        ctx.update(items=DIGEST_ITEMS, day="2026-11-23")
    return OutboxRow(
        id=41,
        event_id=7,
        kind=kind,
        person_id="jan-jansen",
        email="jan@ede.example.org",
        language=lang,
        proposal_id=None if kind in MEETING_KINDS else "P-2026-001",
        meeting_id="ao-2026-10-13",
        context=ctx,
        message_id="<regie-outbox-41@foodvalley.example.org>",
        status="sending",
        attempts=0,
        created_at=datetime(2026, 10, 1, 8, 0),
    )


def parse(msg: EmailMessage) -> EmailMessage:
    raw = msg.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_of(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    content = part.get_content()
    assert isinstance(content, str)
    return content


def invite_of(msg: EmailMessage) -> Calendar | None:
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_payload(decode=True))
    return None


# -- the template registry ----------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(NOTICE_KINDS))
def test_every_kind_has_both_templates_in_every_language(kind: str, lang: str) -> None:
    folder = files("regie.notifications") / "templates" / lang
    assert (folder / f"{kind}.txt").is_file(), f"templates/{lang}/{kind}.txt is missing"
    assert (folder / f"{kind}.html").is_file(), f"templates/{lang}/{kind}.html is missing"
    text_t, _html_t = render.templates(kind, lang)
    assert "subject" in text_t.blocks


def test_no_template_without_a_kind() -> None:
    for lang in LANGUAGES:
        folder = files("regie.notifications") / "templates" / lang
        names = {p.name.rsplit(".", 1)[0] for p in folder.iterdir() if not p.name.startswith("_")}
        assert names == set(NOTICE_KINDS), lang


# -- every kind, both languages ----------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(NOTICE_KINDS))
def test_render_every_kind(kind: str, lang: str) -> None:
    msg = parse(render_notice(None, make_row(kind, lang), sender_address=SENDER))  # type: ignore[arg-type]
    assert msg.get_content_type() in ("multipart/alternative", "multipart/mixed")
    plain, html = text_of(msg, "plain"), text_of(msg, "html")
    assert GREETING[lang] in plain and GREETING[lang] in html
    assert msg["Content-Language"] == lang
    assert msg["Message-ID"] == "<regie-outbox-41@foodvalley.example.org>"
    assert msg["To"].addresses[0].addr_spec == "jan@ede.example.org"
    assert msg["From"].addresses[0].addr_spec == SENDER
    assert msg["Auto-Submitted"] == "auto-generated"
    if kind == "digest":
        subject = {"nl": "Dagoverzicht regie, 23 november 2026",
                   "en": "regie daily digest, 23 November 2026"}  # fmt: skip
        assert msg["Subject"] == subject[lang]
        assert "P-2026-001 Dashboard <b>" in plain and "Dashboard &lt;b&gt;" in html
        assert "oogo-2026-10-20" in plain
    elif kind == "sign_in":  # about no proposal or meeting: no thread
        assert msg["Subject"].startswith({"nl": "Uw inloglink", "en": "Your sign-in link"}[lang])
    elif kind not in MEETING_KINDS:
        receipt = {"nl": "Ontvangstbevestiging: ", "en": "Receipt: "}
        head = receipt[lang] if kind == "submitted_receipt" else ""
        assert msg["Subject"].startswith(head + "P-2026-001 Dashboard jeugd en onderwijs")
        assert msg["In-Reply-To"] == "<regie-proposal-P-2026-001@foodvalley.example.org>"
        assert msg["References"] == msg["In-Reply-To"]
    else:
        assert msg["References"] == "<regie-meeting-ao-2026-10-13@foodvalley.example.org>"
    has_invite = invite_of(msg) is not None
    assert has_invite == (NOTICE_KINDS[kind].invite is not None)


def test_dutch_and_english_dates() -> None:
    at = datetime(2026, 10, 13, 14, 0, tzinfo=AMSTERDAM)
    assert format_when(at, "nl") == "dinsdag 13 oktober 2026, 14.00 uur"
    assert format_when(at, "en") == "Tuesday 13 October 2026, 14:00"
    assert format_when("2026-10-13T12:00:00+00:00", "nl") == "dinsdag 13 oktober 2026, 14.00 uur"
    assert format_when(datetime(2027, 1, 7, 9, 30, tzinfo=AMSTERDAM), "nl").endswith(", 9.30 uur")
    nl = parse(render_notice(None, make_row("placed", "nl"), sender_address=SENDER))  # type: ignore[arg-type]
    assert "dinsdag 13 oktober 2026, van 14.00 tot 16.00 uur" in text_of(nl, "plain")
    assert "dinsdag 13 oktober 2026, van 14.00 tot 16.00 uur" in text_of(nl, "html")
    assert "ter vaststelling" in text_of(nl, "plain")
    en = parse(render_notice(None, make_row("placed", "en"), sender_address=SENDER))  # type: ignore[arg-type]
    assert "Tuesday 13 October 2026, 14:00–16:00" in text_of(en, "plain")
    assert "for adoption" in text_of(en, "plain")


def test_html_is_escaped_and_only_web_links_are_links() -> None:
    row = make_row("submitted", title="Plan <script>alert('x')</script> & co")
    msg = parse(render_notice(None, row, sender_address=SENDER))  # type: ignore[arg-type]
    html = text_of(msg, "html")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html and "&amp; co" in html
    assert '<a href="https://docs.example.org/dashboard.pdf">' in html
    assert 'href="javascript:' not in html
    assert "<script>alert('x')</script>" in text_of(msg, "plain")  # text is not HTML


def test_the_chair_is_told_what_to_do_by_when_and_whom_to_tell() -> None:
    row = make_row(
        "decision_recorded",
        confirm_by="2026-10-15",
        coordinator_name="Mirjam Verhoef",
        coordinator_email="mirjam@foodvalley.example.org",
    )
    msg = parse(render_notice(None, row, sender_address=SENDER))  # type: ignore[arg-type]
    plain = text_of(msg, "plain")
    assert "regie confirm" not in plain and "regie confirm" not in text_of(msg, "html")
    assert "uiterlijk donderdag 15 oktober 2026" in plain
    assert "Mirjam Verhoef (mirjam@foodvalley.example.org) weten" in plain
    assert msg["Subject"].endswith("graag uiterlijk 15 oktober 2026")


# -- headers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Evil\r\nBcc: victim@example.org",
        "Evil\nBcc: victim@example.org",
        "Evil\rX-Injected: yes",
        "Null\x00byte and\ttab \u2028line sep\u202eoverride",
        "=?utf-8?q?Evil=0D=0ABcc:_victim@example.org?=",  # decodes to CR/LF
        "=?utf-8?q?Evil=0D=0AX-Injected:_yes?= =?x?q?=00?=",
    ],
)
def test_header_injection_in_the_title_is_neutralised(title: str) -> None:
    rendered = render_notice(None, make_row("submitted", title=title), sender_address=SENDER)  # type: ignore[arg-type]
    head = rendered.as_bytes().split(b"\r\n\r\n", 1)[0]
    msg = parse(rendered)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert b"\nBcc:" not in head and b"\nX-Injected:" not in head
    subject = msg["Subject"]
    assert "\r" not in subject and "\n" not in subject and "\x00" not in subject
    assert "\u202e" not in subject and "\u2028" not in subject
    assert subject.startswith("P-2026-001 ")
    assert all(not k.lower().startswith("x-inj") for k in msg)


def test_non_ascii_subject_is_encoded_and_round_trips() -> None:
    title = "IJssel – café ‘Ölmühle’ 😀 Ĳ"
    rendered = render_notice(
        None,
        make_row("submitted", title=title, recipient_name="Zoë D'Hondt"),
        sender_address=SENDER,
    )  # type: ignore[arg-type]
    raw = rendered.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # every header line is plain ASCII on the wire (RFC 2047)
    msg = parse(rendered)
    assert title in msg["Subject"]
    assert msg["To"].addresses[0].display_name == "Zoë D'Hondt"


def test_very_long_subject_is_folded_and_shortened() -> None:
    title = "Lang " * 300
    rendered = render_notice(None, make_row("submitted", title=title), sender_address=SENDER)  # type: ignore[arg-type]
    raw = rendered.as_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    msg = parse(rendered)
    assert len(msg["Subject"]) <= render.SUBJECT_MAX
    assert msg["Subject"].endswith("…")


def test_an_ascii_subject_whose_first_word_does_not_fit_starts_on_its_own_line() -> None:
    """The policy would start it on a continuation line ("Subject:" CRLF SP …): the
    subject then read back with a leading space, and the cut left a bare LF."""
    title = "Dashboard Monitor Jeugd & Onderwijs 2026"
    row = make_row("submitted_receipt", title=title)
    rendered = render_notice(None, row, sender_address=SENDER)  # type: ignore[arg-type]
    raw = rendered.as_bytes()  # with the SMTP policy, as aiosmtplib writes it
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head.replace(b"\r\n", b"")  # no bare LF or CR anywhere
    line = next(x for x in head.split(b"\r\n") if x.startswith(b"Subject:"))
    assert line.startswith(b"Subject: Ontvangstbevestiging: P-2026-001")
    assert parse(rendered)["Subject"] == f"Ontvangstbevestiging: P-2026-001 {title}"


def test_recipient_name_with_line_breaks_cannot_inject() -> None:
    row = make_row("submitted", recipient_name="Jan\r\nBcc: x@y.org")
    msg = parse(render_notice(None, row, sender_address=SENDER))  # type: ignore[arg-type]
    assert msg["Bcc"] is None
    assert msg["To"].addresses[0].addr_spec == "jan@ede.example.org"


def test_clean_header() -> None:
    assert clean_header("a\r\nb\tc\x00d\x7f e") == "a b c d e"
    assert clean_header("  x  ") == "x"
    assert clean_header("x" * 300, 10) == "x" * 9 + "…"


def test_sender_with_display_name() -> None:
    msg = parse(
        render_notice(
            None,
            make_row("submitted"),  # type: ignore[arg-type]
            sender_address="Netwerk FoodValley <regie@foodvalley.example.org>",
        )
    )
    assert msg["From"].addresses[0].display_name == "Netwerk FoodValley"
    assert msg["In-Reply-To"] == "<regie-proposal-P-2026-001@foodvalley.example.org>"


def test_thread_roots_name_the_installation() -> None:
    """Two databases mailing from one domain: their P-2026-001 threads stay apart; the
    mails of one database about one proposal share a root."""

    def root(message_id: str, kind: str = "submitted") -> str:
        row = replace(make_row(kind), message_id=message_id)
        msg = parse(render_notice(None, row, sender_address=SENDER))  # type: ignore[arg-type]
        return str(msg["In-Reply-To"] or msg["References"])

    first = root("regie-outbox-1.k3x9.a1b2c3")
    assert first == "<regie-proposal-P-2026-001.a1b2c3@foodvalley.example.org>"
    assert root("<regie-outbox-7.9f01.a1b2c3@foodvalley.example.org>", "decision_final") == first
    assert root("regie-outbox-1.k3x9.ffee00") != first
    meeting = root("regie-outbox-2.q1.a1b2c3", "agenda")
    assert meeting == "<regie-meeting-ao-2026-10-13.a1b2c3@foodvalley.example.org>"


# -- calendar invites -----------------------------------------------------------------------


def test_agenda_invite_is_a_request_in_amsterdam_time() -> None:
    msg = parse(render_notice(None, make_row("agenda"), sender_address=SENDER))  # type: ignore[arg-type]
    cal = invite_of(msg)
    assert cal is not None
    assert str(cal["METHOD"]) == "REQUEST"
    event = cal.walk("VEVENT")[0]
    assert str(event["UID"]) == "meeting-ao-2026-10-13@foodvalley.regie"
    assert int(event["SEQUENCE"]) == 2
    assert event["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert event.decoded("DTSTART") == datetime(2026, 10, 13, 14, 0, tzinfo=AMSTERDAM)
    assert event.decoded("DTEND") == datetime(2026, 10, 13, 16, 0, tzinfo=AMSTERDAM)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Amsterdam"]
    assert "P-2026-001" in str(event["DESCRIPTION"])
    assert str(event["ATTENDEE"]) == "mailto:jan@ede.example.org"
    assert len(msg.as_bytes()) < 20_000


def test_cancelled_meeting_sends_cancel_with_the_same_uid() -> None:
    msg = parse(
        render_notice(
            None,
            make_row("meeting_cancelled", sequence=3),  # type: ignore[arg-type]
            sender_address=SENDER,
        )
    )
    cal = invite_of(msg)
    assert cal is not None
    assert str(cal["METHOD"]) == "CANCEL"
    event = cal.walk("VEVENT")[0]
    assert str(event["UID"]) == "meeting-ao-2026-10-13@foodvalley.regie"
    assert int(event["SEQUENCE"]) == 3
    assert str(event["STATUS"]) == "CANCELLED"
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "CANCEL"
