"""Render one outbox row into an e-mail: Jinja2 templates per language, Babel dates.

Every notice kind (:data:`~regie.notifications.config.NOTICE_KINDS`) has ``<kind>.txt``
(with a ``subject`` block) and ``<kind>.html`` in ``templates/nl`` and ``templates/en``.
The message is multipart/alternative (text, then HTML), plus a calendar invite for the
kinds that carry one. Header values are sanitised here: control characters (CR, LF,
…) never reach a header, so a title can not inject one; non-ASCII is encoded by the
SMTP policy (RFC 2047), long values are folded.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any

from babel.dates import format_datetime as babel_datetime
from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from regie.clock import AMSTERDAM
from regie.engine.storage import Tx
from regie.notifications import ics
from regie.notifications.config import LANGUAGES, NOTICE_KINDS
from regie.notifications.types import OutboxRow

SUBJECT_MAX = 250
_PATTERNS = {
    "nl": ("EEEE d MMMM y, HH.mm 'uur'", "EEEE d MMMM y", "HH.mm 'uur'", "d MMMM y"),
    "en": ("EEEE d MMMM y, HH:mm", "EEEE d MMMM y", "HH:mm", "d MMMM y"),
}
_LOCALES = {"nl": "nl_NL", "en": "en_GB"}
LABELS: dict[str, dict[str, str]] = {
    "nl": {
        "information": "ter informatie",
        "adoption": "ter vaststelling",
        "advice": "ter advisering (OOGO)",
        "table": "tafel",
        "chairs": "voorzittersoverleg",
        "ao": "ambtelijk overleg",
        "oogo": "OOGO",
        "adopted": "vastgesteld",
        "rejected": "niet vastgesteld",
        "noted": "voor kennisgeving aangenomen",
        "advice_given": "advies gegeven",
    },
    "en": {
        "information": "for information",
        "adoption": "for adoption",
        "advice": "for advice (OOGO)",
        "table": "table",
        "chairs": "chairs' meeting",
        "ao": "civil servants' meeting",
        "oogo": "OOGO",
        "adopted": "adopted",
        "rejected": "rejected",
        "noted": "noted",
        "advice_given": "advice given",
    },
}
# What each notice kind is called in a daily digest.
KIND_NAMES: dict[str, dict[str, str]] = {
    "nl": {
        "submitted": "ingediend",
        "route_set": "route vastgesteld",
        "placed": "geagendeerd",
        "agenda": "agenda gepubliceerd",
        "meeting_changed": "vergadering verplaatst",
        "meeting_cancelled": "vergadering afgelast",
        "decision_recorded": "besluit vastgelegd",
        "decision_amended": "besluittekst gewijzigd",
        "decision_final": "besluit bevestigd",
        "returned": "teruggestuurd",
        "deferred": "uitgesteld",
        "withdrawn": "ingetrokken",
        "oogo_news": "nieuws uit het OOGO",
    },
    "en": {
        "submitted": "submitted",
        "route_set": "route set",
        "placed": "placed on an agenda",
        "agenda": "agenda published",
        "meeting_changed": "meeting moved",
        "meeting_cancelled": "meeting cancelled",
        "decision_recorded": "decision recorded",
        "decision_amended": "decision text amended",
        "decision_final": "decision confirmed",
        "returned": "sent back",
        "deferred": "deferred",
        "withdrawn": "withdrawn",
        "oogo_news": "news from the OOGO",
    },
}
# Characters that never go into a header: controls (CR, LF, TAB, NUL, …), line and
# paragraph separators, and bidi overrides (they make a subject read differently).
_UNSAFE = re.compile("[\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean_header(value: object, limit: int = SUBJECT_MAX) -> str:
    """One line of printable text: controls become spaces, runs of space collapse."""
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in str(value))
    text = " ".join(_UNSAFE.sub(" ", text).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _as_local(value: object) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(AMSTERDAM)


def format_when(value: object, lang: str, part: int = 0) -> str:
    """``dinsdag 13 oktober 2026, 14.00 uur`` / ``Tuesday 13 October 2026, 14:00``."""
    lang = lang if lang in _PATTERNS else "nl"
    return babel_datetime(
        _as_local(value), _PATTERNS[lang][part], tzinfo=AMSTERDAM, locale=_LOCALES[lang]
    )


@lru_cache(maxsize=len(LANGUAGES))
def environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("regie.notifications", f"templates/{lang}"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates ship with the package: no stat() per render
    )
    env.filters["when"] = lambda v: format_when(v, lang)
    env.filters["day"] = lambda v: format_when(v, lang, 1)
    env.filters["time"] = lambda v: format_when(v, lang, 2)
    env.filters["date"] = lambda v: format_when(v, lang, 3)
    env.filters["kind_name"] = lambda v: KIND_NAMES[lang].get(str(v), str(v))
    env.filters["label"] = lambda v: LABELS[lang].get(str(v), str(v))
    return env


def templates(kind: str, lang: str) -> tuple[Template, Template]:
    env = environment(lang)
    return env.get_template(f"{kind}.txt"), env.get_template(f"{kind}.html")


def render_parts(kind: str, lang: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of one notice."""
    text_t, html_t = templates(kind, lang)
    values = {**context, "lang": lang, "kind": kind}
    return render_block(text_t, "subject", values), text_t.render(values), html_t.render(values)


def render_block(template: Template, block: str, values: dict[str, Any]) -> str:
    """One block of a template on its own (the subject, an invite's description)."""
    text = "".join(template.blocks[block](template.new_context(values)))
    return clean_header(text) if block == "subject" else text.strip()


def _domain(address: str) -> str:
    domain = re.sub(r"[^A-Za-z0-9.-]", "", address.rpartition("@")[2])
    return domain or "regie.localhost"


def thread_root(row: OutboxRow, domain: str) -> str | None:
    """The stable id all mails about one proposal (or one meeting) refer to."""
    if row.proposal_id:
        return f"<regie-proposal-{row.proposal_id}@{domain}>"
    if row.meeting_id:
        return f"<regie-meeting-{row.meeting_id}@{domain}>"
    return None


def _message_id(value: str, domain: str) -> str:
    value = re.sub(r"[\s<>]", "", value)
    return f"<{value}>" if "@" in value else f"<{value or 'regie'}@{domain}>"


def _sender(sender_address: str, region: str) -> Address:
    name, addr = parseaddr(sender_address)
    name = clean_header(name or (f"regie {region}" if region else "regie"), 80)
    return Address(display_name=name, addr_spec=addr or sender_address)


def render_notice(tx: Tx, row: OutboxRow, *, sender_address: str) -> EmailMessage:
    """The complete message for one outbox row (the row's context holds the facts)."""
    del tx  # the context captured at event time is enough
    lang = row.language if row.language in LANGUAGES else "nl"
    context = {**row.context, "recipient_email": row.email, "recipient_id": row.person_id}
    context.setdefault("recipient_name", row.email)
    subject, text, html = render_parts(row.kind, lang, context)
    sender = _sender(sender_address, str(context.get("region") or ""))
    domain = _domain(sender.addr_spec)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = Address(
        display_name=clean_header(context["recipient_name"], 80),
        addr_spec=clean_header(row.email, 254),
    )
    msg["Subject"] = subject
    msg["Date"] = format_datetime(
        row.created_at.replace(tzinfo=UTC) if row.created_at.tzinfo is None else row.created_at
    )
    msg["Message-ID"] = _message_id(row.message_id, domain)
    root = thread_root(row, domain)
    if root and root != msg["Message-ID"]:
        msg["In-Reply-To"] = root
        msg["References"] = root
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Regie-Notice"] = row.kind
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    _attach_invite(msg, row, context, lang, sender.addr_spec)
    msg["Content-Language"] = lang  # after the parts: making them moves Content-* headers
    return msg


def _attach_invite(
    msg: EmailMessage, row: OutboxRow, context: dict[str, Any], lang: str, organizer: str
) -> None:
    method = NOTICE_KINDS[row.kind].invite
    if method is None or not context.get("meeting_id") or not context.get("starts_at"):
        return
    text_t = templates(row.kind, lang)[0]
    values = {**context, "lang": lang, "kind": row.kind}
    description = (
        render_block(text_t, "description", values) if "description" in (text_t.blocks) else ""
    )
    summary = clean_header(f"{context.get('body_name') or context['meeting_id']}", 200)
    invite = ics.invite_from_context(
        context,
        method=method,
        summary=summary,
        description=description,
        organizer=organizer,
        attendee=row.email,
        attendee_name=str(context["recipient_name"]),
    )
    name = "uitnodiging.ics" if lang == "nl" else "invite.ics"
    msg.add_attachment(
        ics.build_ics(invite),
        maintype="text",
        subtype="calendar",
        filename=name,
        params={"method": method, "charset": "utf-8"},
    )
