"""Anchors: the head of the audit chain, published outside the database.

``regie audit anchor`` prints the head — the number of events, the last event's hash and
time — and an anchor string to publish (minutes, mails; the news of the top meeting
carries one)::

    <events>-<first 32 hex digits of the head's hash>-<tag>

The tag is the first 16 hex digits of HMAC-SHA256 over ``<events>-<hash prefix>`` with the
key derived for anchors (``engine/keys.py``): it shows the anchor was made by regie with
this database's key, and catches a mistyped anchor. ``regie audit verify --anchor ANCHOR``
then proves that the trail up to that head is unchanged (the event at that position still
has that hash, and the hash covers every event before it) and lists the events after it.
A truncated tail (fewer events than the anchor names), a reordered, recomputed or rewritten
chain no longer matches — even for someone who holds the key, once the anchor is public.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from regie.engine import audit, keys
from regie.engine.storage import AnySession, Tx, as_datetime
from regie.errors import UsageError

HASH_DIGITS = 32  # 128 bits of the head's SHA-256: enough to fix it, short enough to publish
TAG_DIGITS = 16
_FORMAT = re.compile(r"^(\d{1,12})-([0-9a-f]{32})-([0-9a-f]{16})$")


@dataclass(frozen=True)
class Anchor:
    events: int
    head: str  # the head event's full hash (GENESIS for an empty trail)
    at: datetime | None  # the head event's time, naive UTC
    key_id: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "anchor": self.text,
            "events": self.events,
            "head": self.head,
            "at_utc": self.at.isoformat(timespec="seconds") + "Z" if self.at else None,
            "key_id": self.key_id,
        }


def anchor_text(key: keys.Key, events: int, head: str) -> str:
    visible = f"{events}-{head[:HASH_DIGITS]}"
    return f"{visible}-{key.anchor_tag(visible)[:TAG_DIGITS]}"


def _head(tx: Tx) -> tuple[int, str, datetime | None]:
    row = tx.one("SELECT id, hash, at FROM audit_event ORDER BY id DESC LIMIT 1")
    if row is None:
        return 0, audit.GENESIS, None
    return int(row[0]), str(row[1]), as_datetime(row[2])


def _no_key() -> UsageError:
    return UsageError(
        "no audit key is available (REGIE_SECRET, REGIE_KEY_FILE or the key file next to the "
        "database): an anchor needs it; 'regie init --config FILE' creates one (see "
        "docs/SECURITY.md)"
    )


def make(session: AnySession) -> Anchor:
    """The anchor of the chain's current head (needs the key)."""
    key = keys.session_key(session)
    if key is None:
        raise _no_key()
    events, head, at = _head(Tx(session))
    return Anchor(events, head, at, key.key_id, anchor_text(key, events, head))


def current(tx: Tx) -> str | None:
    """The anchor of the head inside a write transaction (None when there is no key)."""
    key = keys.session_key(tx.session)
    if key is None:
        return None
    tx.lock_chain()
    events, head, _at = _head(tx)
    return anchor_text(key, events, head)


@dataclass
class AnchorCheck:
    anchor: str
    events: int  # how many events the anchor names
    ok: bool = True
    problem: str = ""
    tag: str = "unchecked"  # matches | unchecked (no key here); a mismatch is a problem
    after: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "anchor": self.anchor,
            "events": self.events,
            "ok": self.ok,
            "problem": self.problem,
            "tag": self.tag,
            "after": self.after,
        }


def parse(text: str) -> tuple[int, str, str]:
    found = _FORMAT.match(text.strip().lower())
    if found is None:
        raise UsageError(
            f"{text!r} is not an audit anchor; it looks like 57-<32 hex digits>-<16 hex "
            "digits>, as 'regie audit anchor' prints it"
        )
    return int(found[1]), found[2], found[3]


def check(session: AnySession, text: str) -> AnchorCheck:
    """Is the trail up to the anchor's head unchanged? And which events came after it?"""
    events, prefix, tag = parse(text)
    result = AnchorCheck(f"{events}-{prefix}-{tag}", events)
    key = keys.session_key(session)
    if key is not None:
        expected = key.anchor_tag(f"{events}-{prefix}")[:TAG_DIGITS]
        if not hmac.compare_digest(expected, tag):
            result.ok, result.tag = False, "mismatch"
            result.problem = (
                f"the anchor's tag does not match the key {key.key_id}: it was mistyped, or it "
                "was not made with this database's key"
            )
            return result
        result.tag = "matches"
    tx = Tx(session)
    total = int(tx.scalar("SELECT COUNT(*) FROM audit_event") or 0)
    if total < events:
        result.ok = False
        result.problem = (
            f"the trail has {total} events, the anchor names {events}: events after "
            f"#{total} were removed (the tail was truncated)"
        )
        return result
    found = tx.scalar("SELECT hash FROM audit_event WHERE id = ?", (events,)) if events else None
    head = audit.GENESIS if events == 0 else str(found or "")
    if head[:HASH_DIGITS] != prefix:
        result.ok = False
        result.problem = (
            f"event #{events} does not have the anchor's hash: the trail up to it was "
            "rewritten, reordered or recomputed"
        )
        return result
    result.after = [_brief(ev) for ev in _events_after(session, events)]
    return result


def _events_after(session: AnySession, events: int) -> list[audit.Event]:
    return [ev for _row, ev in audit.iter_events(session, after=events)]


def _brief(ev: audit.Event) -> dict[str, Any]:
    return {
        "id": ev.id,
        "at_utc": ev.at.isoformat(timespec="seconds") + "Z",
        "actor": ev.actor,
        "os_user": ev.os_user,
        "host": ev.host,
        "action": ev.action,
        "proposal": ev.proposal_id,
        "meeting": ev.meeting_id,
    }
