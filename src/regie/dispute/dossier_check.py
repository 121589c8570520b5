"""Checking a dossier (``regie audit check-dossier``): four checks, each reported as passed,
failed (naming the first event that does not match) or not checked (and why).

1. hashes: every event's hash recomputes from its content (docs/AUDIT.md), events with
   consecutive ids link, the head is consistent with the events and the dossier's anchor;
2. facts: the proposals' facts (title, route, state, decisions) are what their events say;
3. database (when one is given): every event is in the database with the same content and
   hash, no event of the proposals is left out, the database chain from the first event
   to the dossier's head is intact (MACs checked when the key is here) and that head is in it;
4. anchor (``--anchor``): the published anchor names the dossier's head or one of its
   events (or, with the database, an event the chain from the dossier's events reaches).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from regie.dispute.dossier_format import EVENT_COLUMNS, content_hash, event_record, load
from regie.engine import anchor as anchors
from regie.engine import audit, keys
from regie.engine.replay import replay
from regie.engine.storage import AnySession, Tx

PASSED, FAILED, NOT_CHECKED = "passed", "failed", "not checked"


@dataclass(frozen=True)
class Step:
    name: str
    status: str  # passed | failed | not checked
    detail: str
    event: int | None = None  # the first event that does not match


@dataclass
class DossierCheck:
    path: str
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.status != FAILED for s in self.steps)

    @property
    def first_failure(self) -> Step | None:
        return next((s for s in self.steps if s.status == FAILED), None)

    def as_dict(self) -> dict[str, Any]:
        bad = self.first_failure
        return {
            "file": self.path,
            "ok": self.ok,
            "bad_event": bad.event if bad else None,
            "problem": bad.detail if bad else "",
            "checks": [
                {"check": s.name, "status": s.status, "detail": s.detail, "event": s.event}
                for s in self.steps
            ],
        }


class _Failed(Exception):
    def __init__(self, detail: str, event: int | None = None) -> None:
        super().__init__(detail)
        self.detail, self.event = detail, event


# -- the checks -------------------------------------------------------------------------------


def check(
    session: AnySession | None, path: str | Path, *, anchor: str | None = None
) -> DossierCheck:
    """Check the dossier at ``path``; against the database when ``session`` is given, and
    against a published ``anchor``. Nothing is written."""
    published = anchors.parse(anchor) if anchor is not None else None
    data = load(path)
    result = DossierCheck(str(path))
    key = keys.session_key(session) if session is not None else None
    steps: list[tuple[str, Any]] = [
        ("hashes", lambda: _hashes(data, key)),
        ("facts", lambda: _facts(data)),
        ("database", lambda: _database(session, data, key, published)),
        ("anchor", lambda: _anchor(session, data, key, published)),
    ]
    for name, run in steps:
        try:
            status, detail = run()
        except _Failed as failed:
            result.steps.append(Step(name, FAILED, failed.detail, failed.event))
        else:
            result.steps.append(Step(name, status, detail))
    return result


def _hashes(data: dict[str, Any], key: keys.Key | None) -> tuple[str, str]:
    head, events = data["head"], data["events"]
    owners = {p["id"]: set(p["events"]) for p in data["proposals"]}
    before: dict[str, Any] | None = None
    for e in events:
        n, content = e["id"], e["content"]
        if before is not None and n <= before["id"]:
            raise _Failed(f"event {n} comes after event {before['id']}: not in chain order", n)
        if content_hash(content) != e["hash"]:
            raise _Failed(
                f"event {n}: its content does not match its hash (changed after export)", n
            )
        if content["prev"] != e["prev_hash"]:
            raise _Failed(f"event {n}: its prev_hash is not the one its content names", n)
        if before is not None and before["id"] == n - 1 and before["hash"] != e["prev_hash"]:
            raise _Failed(f"event {n}: its link to event {n - 1} is broken", n)
        if n > head["id"] or (n == head["id"] and e["hash"] != head["hash"]):
            raise _Failed(f"event {n} does not fit the dossier's head (event {head['id']})", n)
        if n not in owners.get(str(content["proposal"]), set()):
            raise _Failed(f"event {n} is not listed by its proposal {content['proposal']}", n)
        before = e
    held = {e["id"] for e in events}
    for pid, listed in owners.items():
        for n in sorted(listed - held):
            raise _Failed(
                f"proposal {pid} lists event {n}, which the dossier does not hold: it was removed",
                n,
            )
    if data.get("anchor"):
        count, prefix, _tag = anchors.parse(str(data["anchor"]))
        if (count, prefix) != (head["id"], head["hash"][: anchors.HASH_DIGITS]):
            raise _Failed(
                f"the dossier's anchor {data['anchor']} does not name its head (event {head['id']})"
            )
    return PASSED, f"{len(events)} events: each hash recomputes from its content; the head fits"


def _facts(data: dict[str, Any]) -> tuple[str, str]:
    by_id = {e["id"]: e for e in data["events"]}
    for p in data["proposals"]:
        own = [_event(by_id[n]) for n in p["events"] if n in by_id]
        submitted = next((ev for ev in own if ev.action == "submitted"), None)
        if submitted is None:
            raise _Failed(f"proposal {p['id']}: the dossier holds no 'submitted' event for it")
        for fact, key in (
            ("title", "title"),
            ("summary", "summary"),
            ("purpose", "purpose"),
            ("table", "table"),
        ):
            if key in submitted.payload and p.get(fact) != submitted.payload[key]:
                raise _Failed(
                    f"proposal {p['id']}: its {fact} is not what event {submitted.id} records",
                    submitted.id,
                )
        replayed, _ = replay(own, None)
        if p["route"] != replayed.route:
            raise _Failed(
                f"proposal {p['id']}: its route is not what its events record",
                replayed.source.get("route"),
            )
        if replayed.state and p.get("state") != replayed.state:
            raise _Failed(
                f"proposal {p['id']}: its state is not what its events record",
                replayed.source.get("state"),
            )
        _decision_facts(p, own)
    return PASSED, "the proposals' title, route, state and decisions are what their events record"


def _decision_facts(p: dict[str, Any], own: list[audit.Event]) -> None:
    facts = {d.get("version"): d for d in p["decisions"] if isinstance(d, dict)}
    outcome = ""
    for ev in own:
        version = ev.payload.get("version")
        if ev.action in ("decided", "amended"):
            outcome = str(ev.payload.get("outcome", outcome))
            d = facts.pop(version, None)
            if d is None or d.get("event") != ev.id:
                raise _Failed(
                    f"proposal {p['id']}: decision version {version} (event {ev.id}) is "
                    "missing from its facts",
                    ev.id,
                )
            if (d.get("text"), d.get("outcome")) != (ev.payload.get("text"), outcome):
                raise _Failed(
                    f"proposal {p['id']}: decision version {version}: its text or outcome is "
                    f"not what event {ev.id} records",
                    ev.id,
                )
        elif ev.action == "confirmed":
            shown: dict[str, Any] = next(
                (d for d in p["decisions"] if d.get("version") == version), {}
            )
            if shown.get("confirmed_by") != ev.actor:
                raise _Failed(
                    f"proposal {p['id']}: decision version {version}: its confirmation is not "
                    f"what event {ev.id} records",
                    ev.id,
                )
    if facts:
        v = sorted(map(str, facts))[0]
        raise _Failed(
            f"proposal {p['id']}: decision version {v} is in its facts but no event records it"
        )
    for d in p["decisions"]:
        if d.get("confirmed_by") and not any(
            ev.action == "confirmed" and ev.payload.get("version") == d.get("version") for ev in own
        ):
            raise _Failed(
                f"proposal {p['id']}: decision version {d.get('version')} is confirmed in its "
                "facts but no event records it"
            )


def _event(e: dict[str, Any]) -> audit.Event:
    c = e["content"]
    at = datetime.fromisoformat(str(c["at"]).rstrip("Z"))
    payload = json.loads(str(c["payload"]))
    return audit.Event(
        e["id"], at, str(c["actor"]), c["acting_for"], str(c["action"]), c["proposal"],
        c["meeting"], payload, c["prev"], e["hash"],
    )  # fmt: skip


def _database(
    session: AnySession | None,
    data: dict[str, Any],
    key: keys.Key | None,
    published: tuple[int, str, str] | None,
) -> tuple[str, str]:
    if session is None:
        return NOT_CHECKED, (
            "no database: that these events lie on the chain ending at the head, and that no "
            "event of these proposals is left out, needs the database (or the events between)"
        )
    tx = Tx(session)
    head, events = data["head"], data["events"]
    for e in events:
        row = tx.one(f"SELECT {EVENT_COLUMNS} FROM audit_event WHERE id = ?", (e["id"],))
        if row is None:
            raise _Failed(
                f"event {e['id']} is not in the database: removed, or the dossier is from "
                "another database",
                e["id"],
            )
        stored = event_record(row)
        if stored != e:
            what = sorted(
                k for k in stored["content"] if stored["content"][k] != e["content"].get(k)
            )
            what += [k for k in ("hash", "prev_hash", "mac", "key_id") if stored[k] != e.get(k)]
            raise _Failed(f"event {e['id']} differs from the database ({', '.join(what)})", e["id"])
    for p in data["proposals"]:
        stored_ids = {
            int(r[0])
            for r in tx.all(
                "SELECT id FROM audit_event WHERE proposal_id = ? AND id <= ?",
                (p["id"], head["id"]),
            )
        }
        for n in sorted(stored_ids - set(p["events"])):
            raise _Failed(
                f"event {n} of proposal {p['id']} is in the database but not in the dossier", n
            )
    first = events[0]["id"] if events else head["id"]
    end = max(head["id"], published[0] if published else 0)
    walked, macs = _walk(session, first, end, head, key)
    mac_note = (
        f"; {macs} MACs checked with key {key.key_id}"
        if key
        else "; MACs not checked (no key here)"
    )
    return PASSED, (
        f"the events are the database's; its chain from event {first} to event {walked} is "
        f"intact and holds the dossier's head (event {head['id']}){mac_note}"
    )


def _walk(
    session: AnySession, first: int, end: int, head: dict[str, Any], key: keys.Key | None
) -> tuple[int, int]:
    """Walk the database chain from event ``first`` (its link into the events before is
    taken as stored) to ``end`` (or its last event), checking each event as ``regie audit
    verify`` does (:class:`regie.engine.audit.ChainWalk`); (last event walked, MACs
    checked)."""
    into = Tx(session).scalar("SELECT prev_hash FROM audit_event WHERE id = ?", (first,))
    walk = audit.ChainWalk(key, after=first - 1, head_hash=str(into or audit.GENESIS))
    n = first - 1
    for row, ev in audit.iter_events(session, after=max(first - 1, 0)):
        if ev.id > end:
            break
        problem = walk.advance(row, ev)
        if problem:
            raise _Failed(f"event {ev.id} in the database: {problem}", ev.id)
        if ev.id == head["id"] and ev.hash != head["hash"]:
            raise _Failed(
                f"event {ev.id}, the dossier's head, has another hash in the database: the "
                "trail was rewritten",
                ev.id,
            )
        n = ev.id
    if n < head["id"]:
        raise _Failed(
            f"the database ends at event {n}, before the dossier's head (event {head['id']}): "
            "its tail was cut off",
            head["id"],
        )
    return n, walk.report.authenticated


def _anchor(
    session: AnySession | None,
    data: dict[str, Any],
    key: keys.Key | None,
    published: tuple[int, str, str] | None,
) -> tuple[str, str]:
    if published is None:
        return NOT_CHECKED, "no published anchor given (--anchor)"
    count, prefix, tag = published
    text = f"{count}-{prefix}-{tag}"
    tag_note = " (its tag was not checked: no key here)"
    if key is not None:
        if not hmac.compare_digest(key.anchor_tag(f"{count}-{prefix}")[: anchors.TAG_DIGITS], tag):
            raise _Failed(
                f"anchor {text}: its tag does not match the key {key.key_id} (mistyped, or "
                "another database's)"
            )
        tag_note = ""
    head = data["head"]
    by_id = {e["id"]: e["hash"] for e in data["events"]} | {head["id"]: head["hash"]}
    if count in by_id:
        if not by_id[count].startswith(prefix):
            raise _Failed(f"anchor {text}: event {count} of the dossier has another hash", count)
        what = "the dossier's head" if count == head["id"] else f"event {count} of the dossier"
        return PASSED, f"anchor {text}{tag_note}: {what} is the published one"
    if session is None:
        raise _Failed(
            f"anchor {text} names event {count}, which is neither the dossier's head (event "
            f"{head['id']}) nor one of its events; check against the database to link them"
        )
    first = data["events"][0]["id"] if data["events"] else head["id"]
    if count < first:
        raise _Failed(
            f"anchor {text} names event {count}, before the dossier's first event {first}: it "
            "cannot vouch for later events"
        )
    stored = Tx(session).scalar("SELECT hash FROM audit_event WHERE id = ?", (count,))
    if stored is None or not str(stored).startswith(prefix):
        raise _Failed(
            f"anchor {text}: event {count} of the database does not have the anchor's hash", count
        )
    return (
        PASSED,
        f"anchor {text}{tag_note}: the database chain from the dossier's events reaches event "
        f"{count}, which has the published hash",
    )
