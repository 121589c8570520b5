"""Render one outbox row into an e-mail: Jinja2 templates per language, Babel dates.

Every notice kind (:data:`~regie.notifications.config.NOTICE_KINDS`) has ``<kind>.txt``
(with a ``subject`` block) and ``<kind>.html`` in ``templates/nl`` and ``templates/en``.
The region's words (stages, outcomes, the bodies that play a role, party names) come from
the row's context through the filters of :mod:`regie.notifications.words`.
The message is multipart/alternative (text, then HTML), plus a calendar invite for the
kinds that carry one. Header values are sanitised here: control characters (CR, LF,
…) never reach a header, so a title can not inject one; non-ASCII is encoded by the
SMTP policy (RFC 2047), long values are folded.
"""

from __future__ import annotations

import binascii
import re
import secrets
import unicodedata
from dataclasses import replace
from datetime import UTC
from email import base64mime
from email.header import Header
from email.headerregistry import Address, BaseHeader
from email.message import EmailMessage, Message, MIMEPart
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from regie.dates import format_when
from regie.engine.storage import Tx
from regie.notifications import ics, words
from regie.notifications.config import LANGUAGES, NOTICE_KINDS
from regie.notifications.types import OutboxRow

SUBJECT_MAX = 250
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
    words.install(env, lang)  # label, role, parties, kind_name, upfirst
    return env


def templates(kind: str, lang: str) -> tuple[Template, Template]:
    env = environment(lang)
    return env.get_template(f"{kind}.txt"), env.get_template(f"{kind}.html")


def render_parts(kind: str, lang: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of one notice."""
    text_t, html_t = templates(kind, lang)
    values = {**words.compat(context), "lang": lang, "kind": kind}
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


@lru_cache(maxsize=64)
def _sender(sender_address: str, region: str) -> Address:
    name, addr = parseaddr(sender_address)
    name = clean_header(name or (f"regie {region}" if region else "regie"), 80)
    return Address(display_name=name, addr_spec=addr or sender_address)


def render_notice(tx: Tx, row: OutboxRow, *, sender_address: str) -> EmailMessage:
    """The complete message for one outbox row (the row's context holds the facts)."""
    del tx  # the context captured at event time is enough
    try:
        return _render_notice(row, sender_address)
    except UnicodeEncodeError:
        # A lone surrogate (a str, but not text: it cannot be written as UTF-8). Rows from
        # the database never hold one; anything else gets U+FFFD in its place.
        clean = replace(
            row,
            context=_scrub(row.context),
            email=_scrub(row.email),
            person_id=_scrub(row.person_id),
            message_id=_scrub(row.message_id),
        )
        return _render_notice(clean, _scrub(sender_address))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _render_notice(row: OutboxRow, sender_address: str) -> EmailMessage:
    lang = row.language if row.language in LANGUAGES else "nl"
    context = {
        **words.compat(row.context),
        "recipient_email": row.email,
        "recipient_id": row.person_id,
    }
    context.setdefault("recipient_name", row.email)
    text_t, html_t = templates(row.kind, lang)
    values = {**context, "lang": lang, "kind": row.kind}
    subject = render_block(text_t, "subject", values)
    sender = _sender(sender_address, str(context.get("region") or ""))
    domain = _domain(sender.addr_spec)
    created = row.created_at
    message_id = _message_id(row.message_id, domain)
    msg = EmailMessage(policy=SMTP)
    to_name, to_addr = clean_header(context["recipient_name"], 80), clean_header(row.email, 254)
    msg.set_raw("From", _address_header("From", sender.display_name, sender.addr_spec))
    msg.set_raw("To", _address_header("To", to_name, to_addr))
    msg.set_raw("Subject", _folded("Subject", subject))
    _put(
        msg,
        "Date",
        format_datetime(created.replace(tzinfo=UTC) if created.tzinfo is None else created),
    )
    _put(msg, "Message-ID", message_id)
    root = thread_root(row, domain)
    if root and root != message_id:
        _put(msg, "In-Reply-To", root)
        _put(msg, "References", root)
    _put(msg, "Auto-Submitted", "auto-generated")
    _put(msg, "X-Regie-Notice", row.kind)
    _put(msg, "MIME-Version", "1.0")
    body = _multipart(
        "alternative",
        [_text_part("plain", text_t.render(values)), _text_part("html", html_t.render(values))],
    )
    invite = _invite_part(row, context, lang, sender.addr_spec, text_t, values)
    if invite is not None:
        body = _multipart("mixed", [body, invite])
    for name, value in body.raw_items():
        msg.set_raw(name, value)
    msg.set_payload(body.get_payload())
    _put(msg, "Content-Language", lang)
    return msg


# -- building the message ------------------------------------------------------------------
#
# The message is assembled the way the email package holds a message it parsed: header
# values already in wire form, so writing it copies them instead of parsing and folding
# each one again (that, not Jinja, was most of the cost of a notice). What needs encoding
# (RFC 2047 for non-ASCII, quoting of display names, folding) goes through the SMTP
# policy's own header classes once (:func:`_folded`, :func:`_address_header`); values regie
# makes itself (dates, Message-IDs) are checked to be short printable ASCII and stored as
# they are; the MIME headers are parsed once and shared (:func:`_mime_header`). The bodies
# are encoded here: 7bit or quoted-printable.

_MAX_LINE = SMTP.max_line_length or 78
_PLAIN_HEADER = re.compile(r"[ -~]*")  # printable ASCII, no CR/LF/controls


def _put(msg: Message, name: str, value: str) -> None:
    """Store a header in wire form; anything not plainly safe goes through the policy."""
    if not _PLAIN_HEADER.fullmatch(value) or len(name) + 2 + len(value) > _MAX_LINE:
        value = _folded(name, value)
    msg.set_raw(name, value)


def _folded(name: str, value: str) -> str:
    """The header value in wire form: encoded, folded, CRLF between lines.

    Controls must already be gone (:func:`clean_header`). Printable ASCII is folded by the
    SMTP policy. Anything else is encoded here as a whole, in RFC 2047 encoded words that
    carry their spaces inside, because the policy's own encoder gets two things wrong:
    spaces next to an encoded word are lost or doubled when it folds (a subject would not
    read back as the title), and text that looks like an encoded word
    (``=?utf-8?q?a=0D=0ABcc:_x?=``) is decoded and written out raw, CR/LF and NUL
    included: a header injection. Encoded as a whole, a client shows exactly the text."""
    if value.isascii() and value.isprintable() and "=?" not in value:
        line = SMTP.fold(name, SMTP.header_store_parse(name, value)[1])
        return line[len(name) + 2 :].removesuffix(SMTP.linesep)
    return _encoded_words(name, value)


def _encoded_words(name: str, value: str) -> str:
    return Header(value, "utf-8", _MAX_LINE, header_name=name).encode(linesep=SMTP.linesep)


@lru_cache(maxsize=4096)
def _address_header(name: str, display_name: str, addr_spec: str) -> str:
    """``Name <addr>`` in wire form (cached: the same people get many notices). A name
    that is not plain ASCII is encoded here, for the reasons in :func:`_folded` (and the
    policy loses the address itself in a quoted name with non-ASCII in it)."""
    address = Address(addr_spec=addr_spec)  # a bad address fails here, as it always did
    if display_name and not (display_name.isascii() and "=?" not in display_name):
        words = _encoded_words(name, display_name)
        angle = f"<{address.addr_spec}>"
        if angle.isascii() and len(angle) < _MAX_LINE:
            last = words.rpartition(SMTP.linesep)[2]
            width = len(last) + 1 + len(angle) + (len(name) + 2 if last == words else 0)
            return words + (" " if width <= _MAX_LINE else SMTP.linesep + " ") + angle
        display_name = ""  # an address that cannot go with it: the bare address
    header = SMTP.header_factory(
        name, Address(display_name=display_name, addr_spec=address.addr_spec)
    )
    line = SMTP.fold(name, header)
    return line[len(name) + 2 :].removesuffix(SMTP.linesep)


def _text_part(subtype: str, text: str) -> MIMEPart:
    """A UTF-8 text part: 7bit when it is short-lined printable ASCII, else quoted-printable
    (never 8bit: it needs no 8BITMIME and keeps NUL and other controls off the wire)."""
    lines = text.encode("utf-8", "replace").splitlines()  # as set_content: CR, LF, CRLF
    data = b"\n".join(lines) + b"\n"
    if (
        data.isascii()
        and max(map(len, lines), default=0) <= _MAX_LINE
        and not _CONTROL.search(data)
    ):
        cte, payload = "7bit", data.decode("ascii")
    else:
        cte, payload = "quoted-printable", binascii.b2a_qp(data, istext=True).decode("ascii")
    part = MIMEPart(policy=SMTP)
    part.set_raw("Content-Type", _mime_header("Content-Type", f'text/{subtype}; charset="utf-8"'))
    part.set_raw("Content-Transfer-Encoding", _mime_header("Content-Transfer-Encoding", cte))
    part.set_payload(payload)
    return part


@lru_cache(maxsize=64)
def _mime_header(name: str, value: str) -> BaseHeader:
    """A MIME header regie writes over and over, parsed once and shared (header objects are
    immutable). Stored parsed, the email package reads it without parsing it again (it
    asks for a part's Content-Type several times while writing the message)."""
    return SMTP.header_factory(name, value)


_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


def _multipart(subtype: str, parts: list[MIMEPart]) -> MIMEPart:
    container = MIMEPart(policy=SMTP)
    value = f'multipart/{subtype}; boundary="{_boundary(subtype, parts)}"'
    container.set_raw("Content-Type", _mime_header("Content-Type", value))
    container.set_payload(list(parts))
    return container


_BOUNDARY = secrets.token_hex(16)  # one per process, so the MIME header can be shared


def _boundary(subtype: str, parts: list[MIMEPart]) -> str:
    """A boundary that occurs in none of the parts (checked, not just likely: a notice can
    quote the boundary of an earlier one); "=_" never occurs in quoted-printable or base64."""
    boundary = f"=_regie_{subtype[:3]}_{_BOUNDARY}"
    while any(boundary in _part_text(p) for p in parts):
        boundary = f"=_regie_{subtype[:3]}_{secrets.token_hex(16)}"
    return boundary


def _part_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        return "".join(_part_text(p) for p in payload if isinstance(p, Message))
    return "".join(f"{k}: {v}" for k, v in part.raw_items()) + str(payload)


def _invite_part(
    row: OutboxRow,
    context: dict[str, Any],
    lang: str,
    organizer: str,
    text_t: Template,
    values: dict[str, Any],
) -> MIMEPart | None:
    method = NOTICE_KINDS[row.kind].invite
    if method is None or not context.get("meeting_id") or not context.get("starts_at"):
        return None
    description = (
        render_block(text_t, "description", values) if "description" in text_t.blocks else ""
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
    part = MIMEPart(policy=SMTP)
    ctype = f'text/calendar; charset="utf-8"; method="{method}"'
    part.set_raw("Content-Type", _mime_header("Content-Type", ctype))
    part.set_raw("Content-Transfer-Encoding", _mime_header("Content-Transfer-Encoding", "base64"))
    part.set_raw(
        "Content-Disposition", _mime_header("Content-Disposition", f'attachment; filename="{name}"')
    )
    part.set_payload(base64mime.body_encode(ics.build_ics(invite), _MAX_LINE - 2))
    return part
