"""MIME building blocks for regie's mails: messages assembled the way the email package
holds a parsed one (see :mod:`regie.notifications.render`, which composes them)."""

from __future__ import annotations

import binascii
import re
import secrets
from email.header import Header
from email.headerregistry import Address, BaseHeader
from email.message import Message, MIMEPart
from email.policy import SMTP
from functools import lru_cache

# -- building the message ------------------------------------------------------------------
#
# The message is assembled the way the email package holds a message it parsed: header
# values already in wire form, so writing it copies them instead of parsing and folding
# each one again (that, not Jinja, was most of the cost of a notice). What needs encoding
# (RFC 2047 for non-ASCII, quoting of display names, folding) goes through the SMTP
# policy's own header classes once (:func:`folded`, :func:`address_header`); values regie
# makes itself (dates, Message-IDs) are checked to be short printable ASCII and stored as
# they are; the MIME headers are parsed once and shared (:func:`mime_header`). The bodies
# are encoded here: 7bit or quoted-printable.

MAX_LINE = SMTP.max_line_length or 78
_PLAIN_HEADER = re.compile(r"[ -~]*")  # printable ASCII, no CR/LF/controls


def put(msg: Message, name: str, value: str) -> None:
    """Store a header in wire form; anything not plainly safe goes through the policy."""
    if not _PLAIN_HEADER.fullmatch(value) or len(name) + 2 + len(value) > MAX_LINE:
        value = folded(name, value)
    msg.set_raw(name, value)


def folded(name: str, value: str) -> str:
    """The header value in wire form: encoded, folded, CRLF between lines.

    Controls must already be gone (:func:`clean_header`). Printable ASCII is folded by the
    SMTP policy. Anything else is encoded here as a whole, in RFC 2047 encoded words that
    carry their spaces inside, because the policy's own encoder gets two things wrong:
    spaces next to an encoded word are lost or doubled when it folds (a subject would not
    read back as the title), and text that looks like an encoded word
    (``=?utf-8?q?a=0D=0ABcc:_x?=``) is decoded and written out raw, CR/LF and NUL
    included: a header injection. Encoded as a whole, a client shows exactly the text."""
    if value.isascii() and value.isprintable() and "=?" not in value:
        mine = _fold_ascii(name, value)
        if all(len(line) <= MAX_LINE for line in f"{name}: {mine}".split(SMTP.linesep)):
            return mine
        # a word longer than a line: the SMTP generator would fold it again anyway, so
        # give it the policy's own folding, which it leaves as it is
        line = SMTP.fold(name, SMTP.header_store_parse(name, value)[1])
        return line[len(name) + 1 :].removesuffix(SMTP.linesep).removeprefix(" ")
    return _encoded_words(name, value)


def _fold_ascii(name: str, value: str) -> str:
    """Printable ASCII folded at spaces so that every line, the first with ``Name: ``,
    fits in 78 characters (a single longer word keeps its line). Folded here because the
    SMTP policy starts a value on a continuation line when its first words do not fit
    (``Subject:`` CRLF SP ``Ontvangstbevestiging: …``), which readers show with a leading
    space; and a message whose lines all fit is written as it is, not folded again."""
    lines: list[str] = []
    line = f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > MAX_LINE and line.strip() and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return SMTP.linesep.join(lines)[len(name) + 2 :]


def _encoded_words(name: str, value: str) -> str:
    return Header(value, "utf-8", MAX_LINE, header_name=name).encode(linesep=SMTP.linesep)


@lru_cache(maxsize=4096)
def address_header(name: str, display_name: str, addr_spec: str) -> str:
    """``Name <addr>`` in wire form (cached: the same people get many notices). A name
    that is not plain ASCII is encoded here, for the reasons in :func:`folded` (and the
    policy loses the address itself in a quoted name with non-ASCII in it)."""
    address = Address(addr_spec=addr_spec)  # a bad address fails here, as it always did
    if display_name and not (display_name.isascii() and "=?" not in display_name):
        words = _encoded_words(name, display_name)
        angle = f"<{address.addr_spec}>"
        if angle.isascii() and len(angle) < MAX_LINE:
            last = words.rpartition(SMTP.linesep)[2]
            width = len(last) + 1 + len(angle) + (len(name) + 2 if last == words else 0)
            return words + (" " if width <= MAX_LINE else SMTP.linesep + " ") + angle
        display_name = ""  # an address that cannot go with it: the bare address
    header = SMTP.header_factory(
        name, Address(display_name=display_name, addr_spec=address.addr_spec)
    )
    line = SMTP.fold(name, header)
    return line[len(name) + 2 :].removesuffix(SMTP.linesep)


def text_part(subtype: str, text: str) -> MIMEPart:
    """A UTF-8 text part: 7bit when it is short-lined printable ASCII, else quoted-printable
    (never 8bit: it needs no 8BITMIME and keeps NUL and other controls off the wire)."""
    lines = text.encode("utf-8", "replace").splitlines()  # as set_content: CR, LF, CRLF
    data = b"\n".join(lines) + b"\n"
    if data.isascii() and max(map(len, lines), default=0) <= MAX_LINE and not _CONTROL.search(data):
        cte, payload = "7bit", data.decode("ascii")
    else:
        cte, payload = "quoted-printable", binascii.b2a_qp(data, istext=True).decode("ascii")
    part = MIMEPart(policy=SMTP)
    part.set_raw("Content-Type", mime_header("Content-Type", f'text/{subtype}; charset="utf-8"'))
    part.set_raw("Content-Transfer-Encoding", mime_header("Content-Transfer-Encoding", cte))
    part.set_payload(payload)
    return part


@lru_cache(maxsize=64)
def mime_header(name: str, value: str) -> BaseHeader:
    """A MIME header regie writes over and over, parsed once and shared (header objects are
    immutable). Stored parsed, the email package reads it without parsing it again (it
    asks for a part's Content-Type several times while writing the message)."""
    return SMTP.header_factory(name, value)


_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


def multipart(subtype: str, parts: list[MIMEPart]) -> MIMEPart:
    container = MIMEPart(policy=SMTP)
    value = f'multipart/{subtype}; boundary="{_boundary(subtype, parts)}"'
    container.set_raw("Content-Type", mime_header("Content-Type", value))
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
