"""The audit trail: append-only events, chained by SHA-256.

Each event's hash covers the canonical JSON of its content plus the previous event's
hash, so changing, inserting or removing any event breaks the chain from that point on.
The database refuses UPDATE and DELETE (triggers, migration 0001), and each event's id is
its predecessor's + 1, so two writers can never fork the chain (the primary key refuses
the second).

Triggers stop mistakes, not someone with write access to the database: they can drop them
and recompute the whole chain. So every event since migration 0005 also carries a MAC over
its hash, made with a key that does not live in the database (``engine/keys.py``), and the
operating-system account and host of the process that wrote it (hashed with the content;
the ``--as`` person is a claim, the account is what the machine knew). A rewritten,
reordered or forged event then fails its MAC; a truncated tail is found by comparing with a
published anchor (``engine/anchor.py``). The clock never runs backwards: an event dated
before the last one is refused.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any, Literal

from regie.clock import to_utc_naive
from regie.engine import keys
from regie.engine.storage import AnySession, Tx, as_datetime
from regie.errors import ClockBackwards

GENESIS = "0" * 64
_COLUMNS = (
    "id, at, actor, acting_for, action, proposal_id, meeting_id, payload, prev_hash, hash, "
    "os_user, host, mac, key_id"
)
AUTO: Literal["auto"] = "auto"


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime  # naive UTC
    actor: str
    acting_for: str | None
    action: str
    proposal_id: str | None
    meeting_id: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    os_user: str | None = None  # the process's operating-system account (None: before 0005)
    host: str | None = None
    mac: str | None = None  # HMAC over ``hash`` with the audit key (None: no key then)
    key_id: str | None = None


@functools.cache
def origin() -> tuple[str, str]:
    """The operating-system account (effective uid, not the USER variable) and host name."""
    uid = os.geteuid()
    try:
        import pwd

        user = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        user = f"uid {uid}"
    return user, socket.gethostname()


# One encoder for every call: json.dumps with these options builds a new one each time.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_STRING = encode_basestring  # what that encoder writes for a str (ensure_ascii=False)


def canonical(value: Any) -> str:
    return _ENCODER.encode(value)


def _stamp(at: datetime) -> str:
    if at.year >= 1000 and at.tzinfo is None:  # the same text as the strftime, faster
        return at.isoformat(timespec="microseconds") + "Z"
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash_text(content: dict[str, str | None]) -> str:
    """``canonical(content)`` for a dict of strings and Nones, written directly: the keys
    in sorted order, each value as the encoder writes it (the hashed bytes do not change;
    tests/engine/test_audit_canonical.py compares the two)."""
    parts = []
    for key in sorted(content):
        value = content[key]
        if value is None:
            parts.append(f'"{key}":null')
        elif type(value) is str:
            parts.append(f'"{key}":{_STRING(value)}')
        else:  # not a plain string: let the encoder decide
            return canonical(content)
    return "{" + ",".join(parts) + "}"


def event_hash(
    *,
    at: datetime,
    actor: str,
    acting_for: str | None,
    action: str,
    proposal_id: str | None,
    meeting_id: str | None,
    payload_text: str,
    prev_hash: str,
    os_user: str | None = None,
    host: str | None = None,
) -> str:
    """SHA-256 over the canonical JSON of the content (:func:`hashed_content`)."""
    content = hashed_content(
        at=at, actor=actor, acting_for=acting_for, action=action, proposal_id=proposal_id,
        meeting_id=meeting_id, payload_text=payload_text, prev_hash=prev_hash,
        os_user=os_user, host=host,
    )  # fmt: skip
    return hashlib.sha256(_hash_text(content).encode("utf-8")).hexdigest()


def hashed_content(
    *,
    at: datetime,
    actor: str,
    acting_for: str | None,
    action: str,
    proposal_id: str | None,
    meeting_id: str | None,
    payload_text: str,
    prev_hash: str,
    os_user: str | None = None,
    host: str | None = None,
) -> dict[str, str | None]:
    """What an event's hash covers (docs/AUDIT.md): events since migration 0005 name their
    account and host (both keys present); older ones have neither key."""
    content: dict[str, str | None] = {
        "at": _stamp(at),
        "actor": actor,
        "acting_for": acting_for,
        "action": action,
        "proposal": proposal_id,
        "meeting": meeting_id,
        "payload": payload_text,
        "prev": prev_hash,
    }
    if os_user is not None or host is not None:
        content["os_user"] = os_user
        content["host"] = host
    return content


def append(
    tx: Tx,
    *,
    at: datetime,
    actor: str,
    action: str,
    proposal_id: str | None = None,
    meeting_id: str | None = None,
    acting_for: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append one event inside the caller's transaction: refused (nothing written) when
    its time is before the last event's, or when the trail is authenticated and the key
    is not available here."""
    at = to_utc_naive(at)
    payload = payload or {}
    payload_text = canonical(payload)
    tx.lock_chain()
    head = tx.one("SELECT id, hash, at, key_id FROM audit_event ORDER BY id DESC LIMIT 1")
    key = keys.session_key(tx.session)
    new_id, prev = (1, GENESIS)
    if head is not None:
        new_id, prev = int(head[0]) + 1, str(head[1])
        last_at = as_datetime(head[2])
        if last_at is not None and at < last_at:
            raise ClockBackwards(at, last_at, int(head[0]))
        if head[3] is not None and (key is None or key.key_id != head[3]):
            if key is None:
                raise keys.missing_key(str(head[3]), *keys.database_of(tx.session))
            raise keys.wrong_key(key, str(head[3]))
    os_user, host = origin()
    digest = event_hash(
        at=at,
        actor=actor,
        acting_for=acting_for,
        action=action,
        proposal_id=proposal_id,
        meeting_id=meeting_id,
        payload_text=payload_text,
        prev_hash=prev,
        os_user=os_user,
        host=host,
    )
    mac, key_id = (key.event_mac(digest), key.key_id) if key is not None else (None, None)
    # The id is the head's + 1: a second writer that read the same head fails on the primary
    # key instead of forking the chain.
    tx.execute(
        "INSERT INTO audit_event (id, at, actor, acting_for, action, proposal_id, meeting_id, "
        "payload, prev_hash, hash, os_user, host, mac, key_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id, at, actor, acting_for, action, proposal_id, meeting_id, payload_text, prev,
         digest, os_user, host, mac, key_id),
    )  # fmt: skip
    return Event(
        int(new_id), at, actor, acting_for, action, proposal_id, meeting_id, payload, prev,
        digest, os_user, host, mac, key_id,
    )  # fmt: skip


def _row_to_event(row: tuple[Any, ...]) -> Event:
    at = as_datetime(row[1])
    assert at is not None
    return Event(
        int(row[0]), at, row[2], row[3], row[4], row[5], row[6], json.loads(row[7]), row[8],
        row[9], row[10], row[11], row[12], row[13],
    )  # fmt: skip


def events_for(session: AnySession, proposal_id: str) -> list[Event]:
    tx = Tx(session)
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM audit_event WHERE proposal_id = ? ORDER BY id", (proposal_id,)
    )
    return [_row_to_event(r) for r in rows]


def iter_events(
    session: AnySession, batch: int = 2000, *, after: int = 0
) -> Iterator[tuple[tuple[Any, ...], Event]]:
    """All events (with an id above ``after``) in chain order, read in batches (memory
    stays flat)."""
    tx = Tx(session)
    last = after
    while True:
        rows = tx.all(
            f"SELECT {_COLUMNS} FROM audit_event WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
        )
        if not rows:
            return
        for row in rows:
            yield row, _row_to_event(row)
        last = int(rows[-1][0])


@dataclass
class ChainReport:
    ok: bool
    events: int
    bad_event: int | None = None
    problem: str = ""
    key_id: str | None = None  # the available key's id; None: no key here
    authenticated: int = 0  # events whose MAC was checked and matched
    unauthenticated: int = 0  # events written before the key existed (no MAC)
    unchecked: int = 0  # events with a MAC that could not be checked (no key here)
    head_hash: str = GENESIS
    head_at: datetime | None = None
    workflow_problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """The chain and the stored workflow texts are as the trail says."""
        return self.ok and not self.workflow_problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.intact,
            "events": self.events,
            "bad_event": self.bad_event,
            "problem": self.problem,
            "key_id": self.key_id,
            "authenticated": self.authenticated,
            "unauthenticated": self.unauthenticated,
            "unchecked": self.unchecked,
            "head": self.head_hash,
            "workflow_problems": self.workflow_problems,
        }


class ChainWalk:
    """The state of one walk along the chain: from its start (``after`` 0, the genesis
    link), or from event ``after`` on, taking ``head_hash`` as that event's hash (a
    dossier's check walks from its first event)."""

    def __init__(self, key: keys.Key | None, *, after: int = 0, head_hash: str = GENESIS) -> None:
        self.key = key
        self.report = ChainReport(
            True, after, key_id=key.key_id if key else None, head_hash=head_hash
        )
        self.named: set[str] = set()  # workflow digests (or 12-character prefixes) events name

    def advance(self, row: tuple[Any, ...], ev: Event) -> str:
        """Count the next event and check it: the problem with it, or ""."""
        self.report.events += 1
        return self.step(row, ev)

    def step(self, row: tuple[Any, ...], ev: Event) -> str:
        """The problem with this event, or ""."""
        r = self.report
        if ev.prev_hash != r.head_hash:
            return "its link to the previous event is broken"
        if ev.id != r.events:
            return (
                f"it is event number {r.events} of the trail but has id {ev.id}: an event was "
                "removed or inserted"
            )
        expected = event_hash(
            at=ev.at,
            actor=ev.actor,
            acting_for=ev.acting_for,
            action=ev.action,
            proposal_id=ev.proposal_id,
            meeting_id=ev.meeting_id,
            payload_text=row[7],
            prev_hash=ev.prev_hash,
            os_user=ev.os_user,
            host=ev.host,
        )
        if expected != ev.hash:
            return "its content does not match its hash"
        problem = self._mac(ev)
        r.head_hash, r.head_at = ev.hash, ev.at
        self._names(ev)
        return problem

    def _mac(self, ev: Event) -> str:
        r = self.report
        if ev.mac is None:
            if r.authenticated or r.unchecked:
                return (
                    "it carries no MAC although earlier events do: it was added or altered "
                    "without the key"
                )
            r.unauthenticated += 1
            return ""
        if self.key is None:
            r.unchecked += 1
            return ""
        if ev.key_id != self.key.key_id:
            return (
                f"it was authenticated with key {ev.key_id}, not with the available key "
                f"{self.key.key_id} (another database's key file?)"
            )
        if not hmac.compare_digest(ev.mac, self.key.event_mac(ev.hash)):
            return (
                "its MAC does not match: it was changed, or the chain recomputed, without the key"
            )
        r.authenticated += 1
        return ""

    def _names(self, ev: Event) -> None:
        if ev.action == "submitted" and isinstance(ev.payload.get("workflow"), str):
            self.named.add(ev.payload["workflow"])
        elif ev.action == "config_loaded":
            for added in ev.payload.get("workflows_added", []):
                self.named.add(str(added).rsplit(" ", 1)[-1])


def verify(
    session: AnySession,
    progress: Callable[[int], None] | None = None,
    *,
    key: keys.Key | None | Literal["auto"] = AUTO,
) -> ChainReport:
    """Walk the chain; report the first event whose id, link, hash or MAC does not match.

    The MACs are checked with ``key`` (by default the database's, when available); the
    stored workflow texts must match their digests and be named by the trail."""
    walk = ChainWalk(keys.session_key(session) if key == AUTO else key)
    report = walk.report
    for row, ev in iter_events(session):
        problem = walk.advance(row, ev)
        if problem:
            report.ok, report.bad_event, report.problem = False, ev.id, problem
            return report
        if progress is not None:
            progress(1)
    report.workflow_problems = _workflow_problems(Tx(session), walk.named)
    return report


def _workflow_problems(tx: Tx, named: set[str]) -> list[str]:
    """Each stored workflow text hashes to its digest, and the trail names that digest (a
    proposal's 'submitted' event in full, 'config_loaded' by its first 12 characters)."""
    problems = []
    for digest, purpose, text in tx.all(
        "SELECT digest, purpose, text FROM workflow_version ORDER BY loaded_at, digest"
    ):
        if hashlib.sha256(str(text).encode("utf-8")).hexdigest() != digest:
            problems.append(
                f"workflow version {digest[:12]} ({purpose}): its stored text does not match its "
                "digest (the text was edited in the database)"
            )
        elif digest not in named and digest[:12] not in named:
            problems.append(
                f"workflow version {digest[:12]} ({purpose}) is named by no event of the audit "
                "trail (it was added or replaced outside regie)"
            )
    return problems


def count_events(session: AnySession) -> int:
    return int(Tx(session).scalar("SELECT COUNT(*) FROM audit_event") or 0)
