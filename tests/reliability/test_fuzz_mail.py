"""Proposal titles, summaries, decision texts and person names through every mail template
and header (issue 9): whatever the text, rendering never fails, the message serialises
with the SMTP policy, and parsed back it has exactly the headers regie writes (nothing
injected), a Subject that decodes to the sanitised title, both parts, and escaped HTML."""

from __future__ import annotations

import email
import email.policy
import unicodedata
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from regie.notifications.config import LANGUAGES, NOTICE_KINDS
from regie.notifications.render import SUBJECT_MAX, render_notice
from regie.notifications.types import OutboxRow
from reliability.budget import FUZZ_MAIL
from reliability.fuzzing import NASTY, fuzz_settings, nasty_text

SENDER = "regie@foodvalley.example.org"
PROPOSAL = "P-2026-001"
MESSAGE_ID = "<regie-outbox-41@foodvalley.example.org>"
MARK = "<fz>"  # goes into every title: the HTML part must show it escaped
MEETING_KINDS = {"agenda", "meeting_changed", "meeting_cancelled", "oogo_news", "mandate_expiring",
                 "agenda_unapproved", "agenda_empty", "coverage_escalated", "absence_reminder"}
# kinds whose mail names no proposal (the scheduler's agenda notices count the items)
NAME_NO_PROPOSAL = {"meeting_changed", "meeting_cancelled", "sign_in", "agenda_unapproved",
                    "agenda_empty"}
HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "X-Regie-Notice",
           "MIME-Version", "Content-Type", "Content-Language"}  # fmt: skip
THREADED = HEADERS | {"In-Reply-To", "References"}
# What a header must never show (render.clean_header turns them into spaces).
UNSAFE = set("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

MAIL_NASTY = [
    *NASTY,
    "\r\nBcc: victim@example.org\r\n",
    "\nX-Injected: yes",
    "=?utf-8?q?a=0D=0ABcc:_victim@example.org?=",  # an encoded word that decodes to CRLF
    "=?x?q?=00?=",
    "=?",
    "?=",
    "--=_regie_alt_",
    "\r\n.\r\n",
    "\u0085",
    "\u2029",
    "\u2066",
    "\u0301" * 40,
    "\ud800",  # lone surrogates: a str, but not text
    "\udcff",
    "…",
    "a" * 100,
]
texts = st.one_of(
    st.lists(st.one_of(st.sampled_from(MAIL_NASTY), st.text(max_size=20)), max_size=8).map("".join),
    nasty_text,
    st.integers(0, 3000).map(lambda n: "é" * n),  # very long
    st.text(min_size=70, max_size=400),
)


def sanitised(text: str) -> str:
    """What a header shows of a text: controls, separators and bidi overrides as spaces,
    runs of space collapsed, lone surrogates as U+FFFD."""
    chars = []
    for c in text:
        if unicodedata.category(c) == "Cc" or c in UNSAFE:
            chars.append(" ")
        elif unicodedata.category(c) == "Cs":
            chars.append("\ufffd")
        else:
            chars.append(c)
    return " ".join("".join(chars).split())


def clipped(text: str, limit: int) -> str:
    """A sanitised header value of at most ``limit`` characters, cut with an ellipsis."""
    text = sanitised(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _scheduler_payload(kind: str, v: dict[str, str], title: str) -> dict[str, Any]:
    """What the scheduler's events carry (regie.scheduler), with the generated texts."""
    item = {"proposal": PROPOSAL, "title": title, "parties": ["ede"], "party_names": [v["name"]]}
    common = {"rule": kind, "due": "2026-10-02", "to": ["jan-jansen"], "party": "ede",
              "party_name": v["name"], "working_days": 3, "person_name": v["person"],
              "body_name": v["name"], "valid_until": "2026-12-31", "announced_on": "2026-10-01",
              "which": "first", "publish_on": "2026-10-02", "feasible": False}  # fmt: skip
    if kind == "agenda_unapproved":
        return {**common, "missing": "approval", "final": False, "items": 2,
                "routing_body": v["name"], "routing_article": "het"}  # fmt: skip
    if kind == "mandate_expiring":
        meeting = {"id": "ao-2027-01-07", "starts_at": "2027-01-07T09:30:00+01:00",
                   "items": [item]}  # fmt: skip
        # the mandate holder is someone else than the recipient: the coordinator's copy
        return {**common, "meetings": [meeting], "person": "piet-pieters"}
    return {**common, "items": [item]}


def context(kind: str, v: dict[str, str]) -> dict[str, Any]:
    title = v["title"] + MARK
    payload: dict[str, Any] = {
        "parties": [v["name"]],
        "route": ["table", "chairs", "ao", "oogo"],
        "meeting": "ao-2026-10-13",
        "late": True,
        "agenda": [{"proposal": PROPOSAL, "title": title, "purpose": "advice", "stage": "ao",
                    "parties": [v["name"]], "documents": [v["text"]]}],
        "previous": {"starts_at": "2026-10-06T14:00:00+02:00", "location": v["name"]},
        "outcome": "adopted",
        "text": v["text"],
        "previous_text": v["summary"],
        "override": v["text"],
        "version": 2,
        "from": "ao",
        "to": "table",
        "reason": v["text"],
        "decisions": [{"proposal": PROPOSAL, "title": title, "outcome": "adopted",
                       "text": v["text"], "confirmed": True}],
    }  # fmt: skip
    ctx: dict[str, Any] = {
        "proposal_id": PROPOSAL, "title": title, "purpose": "adoption", "summary": v["summary"],
        "documents": ["https://docs.example.org/d.pdf", v["text"]], "table_id": "tafel",
        "table_name": v["name"], "leads": ["koen-smit"], "stage": "ao", "state": "ao",
        "meeting_id": "ao-2026-10-13", "body_id": "ao", "body_name": v["name"],
        "body_kind": "ao", "starts_at": "2026-10-13T14:00:00+02:00",
        "ends_at": "2026-10-13T16:00:00+02:00", "location": v["summary"], "sequence": 2,
        "meeting_status": "scheduled", "event_id": 7, "action": "x", "actor": "coordinator",
        "actor_name": v["name"], "at": "2026-10-01T08:00:00Z", "region": v["region"],
        "recipient_name": v["person"], "lea": v["name"], "payload": payload,
    }  # fmt: skip
    payload.update(_scheduler_payload(kind, v, title))
    if kind == "digest":
        ctx["day"] = "2026-11-23"
        ctx["items"] = [
            {"kind": "placed", "proposal_id": PROPOSAL, "meeting_id": "ao-2026-10-13",
             "context": {"title": title, "body_name": v["name"],
                         "starts_at": "2026-10-13T14:00:00+02:00"}},
            {"kind": "oogo_news", "proposal_id": None, "meeting_id": "oogo-2026-10-20",
             "context": {}},
        ]  # fmt: skip
    return ctx


def row(kind: str, lang: str, v: dict[str, str]) -> OutboxRow:
    return OutboxRow(
        id=41,
        event_id=7,
        kind=kind,
        person_id="jan-jansen",
        email="jan@ede.example.org",
        language=lang,
        proposal_id=None if kind in MEETING_KINDS or kind == "digest" else PROPOSAL,
        meeting_id=None if kind == "digest" else "ao-2026-10-13",
        context=context(kind, v),
        message_id=MESSAGE_ID,
        status="sending",
        attempts=0,
        created_at=datetime(2026, 10, 1, 8, 0),
    )


def check(kind: str, lang: str, v: dict[str, str]) -> None:
    msg = render_notice(None, row(kind, lang, v), sender_address=SENDER)  # type: ignore[arg-type]
    raw = msg.as_bytes(policy=email.policy.SMTP)
    head, sep, _body = raw.partition(b"\r\n\r\n")
    assert sep, "no blank line after the headers"
    head.decode("ascii")  # RFC 2047 on the wire: no raw UTF-8, no NUL
    assert b"\x00" not in raw
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    # exactly the headers regie writes, each once: nothing injected
    assert sorted(parsed.keys()) == sorted(HEADERS if kind == "digest" else THREADED)
    assert parsed["Message-ID"] == MESSAGE_ID
    assert parsed["X-Regie-Notice"] == kind and parsed["Content-Language"] == lang
    to = parsed["To"].addresses
    assert [a.addr_spec for a in to] == ["jan@ede.example.org"]
    # (spaces aside: the email package puts one between adjacent encoded words of a name)
    assert to[0].display_name.replace(" ", "") == clipped(v["person"], 80).replace(" ", "")
    subject = parsed["Subject"]
    assert subject == sanitised(subject) and len(subject) <= SUBJECT_MAX
    if kind not in MEETING_KINDS and kind not in ("digest", "sign_in"):
        receipt = {"nl": "Ontvangstbevestiging: ", "en": "Receipt: "}
        head = receipt[lang] if kind == "submitted_receipt" else ""
        prefix = sanitised(f"{head}{PROPOSAL} {v['title']}{MARK}")
        if len(prefix) < SUBJECT_MAX - 1:
            assert subject.startswith(prefix), (subject, prefix)
        else:  # the title fills the subject: cut, with an ellipsis when anything followed
            cut = subject.endswith("…") and prefix.startswith(subject[:-1].rstrip())
            assert subject == prefix or cut, (subject, prefix)
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and html is not None
    plain_text, html_text = plain.get_content(), html.get_content()
    assert isinstance(plain_text, str) and isinstance(html_text, str)
    if kind not in NAME_NO_PROPOSAL:  # these name none
        assert MARK not in html_text and "&lt;fz&gt;" in html_text
        assert MARK in plain_text
    has_invite = any(p.get_content_type() == "text/calendar" for p in parsed.walk())
    assert has_invite == (NOTICE_KINDS[kind].invite is not None)


values = st.fixed_dictionaries(
    {
        "title": texts,
        "summary": texts,
        "text": texts,
        "name": texts,
        "person": texts,
        "region": texts,
    }  # fmt: skip
)


def plain_values(**changes: str) -> dict[str, str]:
    base = {"title": "Dashboard", "summary": "s", "text": "t", "name": "n", "person": "Jan",
            "region": "FoodValley"}  # fmt: skip
    return {**base, **changes}


@fuzz_settings(FUZZ_MAIL)
@given(st.sampled_from(sorted(NOTICE_KINDS)), st.sampled_from(LANGUAGES), values)
# found by this test: an encoded word in a title or name was decoded by the email package
# and written out raw, CR/LF and NUL included (a Bcc header injected)
@example("submitted", "nl", plain_values(title="=?utf-8?q?a=0D=0ABcc:_victim@example.org?= y"))
@example("agenda", "en", plain_values(name="=?x?q?=00?=", person="=?utf-8?q?a=0D=0AX:_y?="))
@example("decision_final", "en", plain_values(person="Zoë =?x?q?=00?= " + "x" * 90))
# found by this test: the email package lost or doubled the space next to an encoded word
# when it folded a subject, and lost the address in a quoted name with non-ASCII in it
@example("placed", "nl", plain_values(title="0" * 70))
@example("submitted", "en", plain_values(title="IJssel – café\x1a😀 " * 8))
@example("agenda", "nl", plain_values(person="\u200f¡¡000𐀀\x00'\"--=_regie_alt_"))
# lone surrogates (not text: cannot be UTF-8) used to make rendering raise
@example("submitted", "en", plain_values(title="a\udcffb", person="N\ud800", text="\udfff"))
@example("returned", "nl", plain_values(title="é" * 3000, summary="\r\n.\r\n" * 50))
def test_texts_through_every_template_and_header(kind: str, lang: str, v: dict[str, str]) -> None:
    check(kind, lang, v)
