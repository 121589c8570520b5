"""Render one outbox row into an e-mail: Jinja2 templates per language, Babel dates.

Every notice kind (:data:`~regie.notifications.config.NOTICE_KINDS`) has ``<kind>.txt``
(with a ``subject`` block) and ``<kind>.html`` in ``templates/nl`` and ``templates/en``.
The region's words (stages, outcomes, the bodies that play a role, party names) come from
the row's context through the filters of :mod:`regie.notifications.words`.
The message is multipart/alternative: text, HTML and, for the kinds that carry an invite,
the invite as ``text/calendar; method=REQUEST`` (or CANCEL) — the structure Outlook
treats as a meeting request ([MS-OXCMAIL] 2.1.3.3.8.2). A digest carries the invites of
its items as ``.ics`` attachments (multipart/mixed: Outlook reads iMIP only in the first
part). Every footer names the network coordinator with a mail address: from the row's
context, else (rows queued before contexts carried it) from the region in the database.
Header values are sanitised here: control characters (CR, LF,
…) never reach a header, so a title can not inject one; non-ASCII is encoded by the
SMTP policy (RFC 2047), long values are folded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, timedelta
from email import base64mime
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from regie.dates import CLOCK, format_span, format_when
from regie.engine.facts import region_facts
from regie.engine.storage import Tx
from regie.notifications import ics, words
from regie.notifications.kinds import LANGUAGES, NOTICE_KINDS
from regie.notifications.mime import (
    MAX_LINE,
    address_header,
    folded,
    mime_header,
    multipart,
    put,
    text_part,
)
from regie.notifications.types import OutboxRow
from regie.web.links import ACTIONS, DEFAULT_LINK_DAYS

SUBJECT_MAX = 250
LinkMaker = Callable[[OutboxRow], str]  # the URL of the link a row's mail carries
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
    env.filters["clock"] = lambda v: format_when(v, lang, CLOCK)
    env.filters["span"] = lambda v, end=None: format_span(v, end, lang)
    env.filters["the"] = (lambda name, art=None: the(name, art)) if lang == "nl" else str
    words.install(env, lang)  # label, role, parties, kind_name, upfirst
    # a word from another context than the template's (a digest's items)
    env.filters["label_in"] = lambda v, kind, ctx: words.word(ctx, lang, v, kind)
    env.globals["invite_kinds"] = tuple(k for k, spec in NOTICE_KINDS.items() if spec.invite)
    return env


# Dutch names of bodies whose head noun is a "het" word; anything else is "de". Only for
# contexts without ``body_article`` / ``table_article`` (the region config sets those).
_HET = re.compile(r"(overleg|beraad|platform|bestuur|netwerk|team|college|orgaan|forum|oogo)$")
_DE = re.compile(r"(tafel|lea|commissie|raad|groep|kamer|vergadering|conferentie)$")


def the(name: object, article: object = None) -> str:
    """A Dutch name with its article: ``het Regionaal bestuurlijk OOGO``, ``de Tafel …``."""
    text = str(name or "")
    if article not in ("de", "het"):
        article = "de"
        for token in text.lower().split():
            if _HET.search(token) or _DE.search(token):
                article = "het" if _HET.search(token) else "de"
                break
    return f"{article} {text}" if text else ""


# Context keys newer than some stored rows: the templates may use them all.
_DEFAULTS = {
    "body_article": "",
    "table_article": "",
    "documents_due": "",
    "confirm_by": "",
    "coordinator_name": "",
    "coordinator_email": "",
    "reply_to": "",
}


def templates(kind: str, lang: str) -> tuple[Template, Template]:
    env = environment(lang)
    return env.get_template(f"{kind}.txt"), env.get_template(f"{kind}.html")


def render_parts(kind: str, lang: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of one notice."""
    text_t, html_t = templates(kind, lang)
    values = {**_DEFAULTS, **words.compat(context), "lang": lang, "kind": kind}
    return render_block(text_t, "subject", values), text_t.render(values), html_t.render(values)


def render_block(template: Template, block: str, values: dict[str, Any]) -> str:
    """One block of a template on its own (the subject, an invite's description)."""
    text = "".join(template.blocks[block](template.new_context(values)))
    return clean_header(text) if block == "subject" else text.strip()


def _domain(address: str) -> str:
    domain = re.sub(r"[^A-Za-z0-9.-]", "", address.rpartition("@")[2])
    return domain or "regie.localhost"


_OUR_ID = re.compile(r"<?regie-outbox-\d+\.[0-9a-z]+\.([0-9a-z]+)(@[^>]*)?>?")


def thread_root(row: OutboxRow, domain: str) -> str | None:
    """The stable id all mails about one proposal (or one meeting) refer to. It names the
    database's installation (taken from the row's Message-ID), so two regions mailing
    from one domain never thread their P-2026-001s together."""
    found = _OUR_ID.fullmatch(row.message_id)
    suffix = f".{found.group(1)}" if found else ""
    if row.proposal_id:
        return f"<regie-proposal-{row.proposal_id}{suffix}@{domain}>"
    if row.meeting_id:
        return f"<regie-meeting-{row.meeting_id}{suffix}@{domain}>"
    return None


def _message_id(value: str, domain: str) -> str:
    value = re.sub(r"[\s<>]", "", value)
    return f"<{value}>" if "@" in value else f"<{value or 'regie'}@{domain}>"


@lru_cache(maxsize=64)
def _sender(sender_address: str, region: str) -> Address:
    name, addr = parseaddr(sender_address)
    name = clean_header(name or (f"regie {region}" if region else "regie"), 80)
    return Address(display_name=name, addr_spec=addr or sender_address)


def render_notice(
    tx: Tx | None,
    row: OutboxRow,
    *,
    sender_address: str,
    reply_to: str = "",
    link_url: LinkMaker | None = None,
    link_days: int = DEFAULT_LINK_DAYS,
) -> EmailMessage:
    """The complete message for one outbox row (the row's context holds the facts; the
    database only names the coordinator for rows whose context does not). ``link_url``
    makes the link a mail of a kind in :data:`regie.web.links.ACTIONS` carries (the
    template value ``link_url``, "" without it: the text then says whom to tell)."""
    contact = {**_coordinator(tx, row.context), **_links(row, link_url, link_days)}
    try:
        return _render_notice(row, sender_address, reply_to, contact)
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
        return _render_notice(clean, _scrub(sender_address), _scrub(reply_to), _scrub(contact))


def _coordinator(tx: Tx | None, context: dict[str, Any]) -> dict[str, str]:
    """The coordinator's name and address: the context's, else the region's (cached per
    config generation), else nothing (the footer then names the role only)."""
    found = {k: str(context.get(k) or "") for k in ("coordinator_name", "coordinator_email")}
    if all(found.values()):
        return found
    items = context.get("items")
    for item in items if isinstance(items, list) else []:  # a digest: its items know
        inner = item.get("context") if isinstance(item, dict) else None
        if isinstance(inner, dict) and inner.get("coordinator_email"):
            return _coordinator(None, inner)
    if tx is None:
        return found
    facts = region_facts(tx)
    cached = facts.cache.get("render.coordinator")
    if not isinstance(cached, dict):
        row = tx.one("SELECT name, email FROM person WHERE id = ?", (facts.coordinator,))
        cached = facts.cache["render.coordinator"] = {
            "coordinator_name": str(row[0] or "") if row else "",
            "coordinator_email": str(row[1] or "") if row else "",
        }
    return {k: found[k] or cached[k] for k in found}


def _links(row: OutboxRow, make: LinkMaker | None, days: int) -> dict[str, Any]:
    """``link_url`` and ``link_expires`` of the row's mail; a digest's items get theirs
    (``item.link_url``: each item names its own outbox row, ``outbox_id``)."""
    expires = row.created_at.replace(tzinfo=row.created_at.tzinfo or UTC) + timedelta(days=days)
    found: dict[str, Any] = {"link_url": "", "link_expires": expires.isoformat()}
    if make is not None and row.kind in ACTIONS:
        found["link_url"] = make(row)
    items = row.context.get("items") if row.kind == "digest" else None
    if isinstance(items, list):
        linked = []
        for item in items:
            if isinstance(item, dict):
                item = {**item, "link_url": ""}
                if make is not None and item.get("kind") in ACTIONS and item.get("outbox_id"):
                    item["link_url"] = make(
                        replace(row, id=int(item["outbox_id"]), kind=item["kind"])
                    )
            linked.append(item)
        found["items"] = linked
    return found


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _render_notice(
    row: OutboxRow, sender_address: str, reply_to: str, contact: dict[str, Any]
) -> EmailMessage:
    lang = row.language if row.language in LANGUAGES else "nl"
    reply = clean_header(reply_to, 254)
    context = {
        **_DEFAULTS,
        **words.compat(row.context),
        **contact,
        "reply_to": reply,
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
    msg.set_raw("From", address_header("From", sender.display_name, sender.addr_spec))
    msg.set_raw("To", address_header("To", to_name, to_addr))
    if reply:
        name, addr = parseaddr(reply)
        msg.set_raw("Reply-To", address_header("Reply-To", clean_header(name, 80), addr or reply))
    msg.set_raw("Subject", folded("Subject", subject))
    put(
        msg,
        "Date",
        format_datetime(created.replace(tzinfo=UTC) if created.tzinfo is None else created),
    )
    put(msg, "Message-ID", message_id)
    root = thread_root(row, domain)
    if root and root != message_id:
        put(msg, "In-Reply-To", root)
        put(msg, "References", root)
    put(msg, "Auto-Submitted", "auto-generated")
    put(msg, "X-Regie-Notice", row.kind)
    put(msg, "MIME-Version", "1.0")
    parts = [text_part("plain", text_t.render(values)), text_part("html", html_t.render(values))]
    invite = _invite_part(row.kind, context, row, sender.addr_spec, text_t, values)
    body = multipart("alternative", parts if invite is None else [*parts, invite])
    attached = _digest_invites(row, context, lang, sender.addr_spec)
    if attached:
        body = multipart("mixed", [body, *attached])
    for name, value in body.raw_items():
        msg.set_raw(name, value)
    msg.set_payload(body.get_payload())
    put(msg, "Content-Language", lang)
    return msg


def _invite_part(
    kind: str,
    context: dict[str, Any],
    row: OutboxRow,
    organizer: str,
    text_t: Template,
    values: dict[str, Any],
    *,
    attachment: str = "",
) -> MIMEPart | None:
    """The calendar part of a notice of ``kind``: inline (in the multipart/alternative, as
    Outlook expects a meeting request) or, named ``attachment``, a file (digests)."""
    method = NOTICE_KINDS[kind].invite if kind in NOTICE_KINDS else None
    if method is None or not context.get("meeting_id") or not context.get("starts_at"):
        return None
    if not context.get("ends_at") or not context.get("at"):
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
        organizer_name=clean_header(context.get("coordinator_name") or "", 80),
        attendee=row.email,
        attendee_name=str(context.get("recipient_name") or row.email),
    )
    part = MIMEPart(policy=SMTP)
    ctype = f"text/calendar; method={method}; charset=UTF-8"
    if attachment:
        ctype += f'; name="{attachment}"'
    part.set_raw("Content-Type", mime_header("Content-Type", ctype))
    part.set_raw("Content-Transfer-Encoding", mime_header("Content-Transfer-Encoding", "base64"))
    if attachment:
        disposition = f'attachment; filename="{attachment}"'
        part.set_raw("Content-Disposition", mime_header("Content-Disposition", disposition))
    part.set_payload(base64mime.body_encode(ics.build_ics(invite), MAX_LINE - 2))
    return part


def _digest_invites(
    row: OutboxRow, context: dict[str, Any], lang: str, organizer: str
) -> list[MIMEPart]:
    """A digest's invites: per meeting the last one its items carry (a calendar needs only
    the newest state of a meeting: the same UID, the highest SEQUENCE)."""
    items = context.get("items") if row.kind == "digest" else None
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for item in items if isinstance(items, list) else []:
        kind = str(item.get("kind") or "") if isinstance(item, dict) else ""
        inner = item.get("context") if isinstance(item, dict) else None
        invites = kind in NOTICE_KINDS and NOTICE_KINDS[kind].invite
        if invites and isinstance(inner, dict) and inner.get("meeting_id"):
            latest[str(inner["meeting_id"])] = (kind, inner)
    parts: list[MIMEPart] = []
    stem = "uitnodiging" if lang == "nl" else "invite"
    for n, (kind, inner) in enumerate(latest.values(), 1):
        text_t, _html_t = templates(kind, lang)
        values = {
            **_DEFAULTS,
            **words.compat(inner),
            "recipient_name": context.get("recipient_name") or row.email,
            "coordinator_name": inner.get("coordinator_name") or context["coordinator_name"],
            "lang": lang,
            "kind": kind,
        }
        name = f"{stem}-{n}.ics" if len(latest) > 1 else f"{stem}.ics"
        part = _invite_part(kind, values, row, organizer, text_t, values, attachment=name)
        if part is not None:
            parts.append(part)
    return parts
