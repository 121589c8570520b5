"""Someone with write access to the database attacks the audit trail; `regie audit verify`
(with the key outside the database, and a published anchor) finds each attack.

Every attack runs on a real SQLite file with the append-only triggers dropped, and
recomputes the hash chain the way regie does (the attacker has the code, not the key). Also
pinned here: the chain's format (a known event's hash recomputed in a few lines of this
file's own code), the account and host recorded with every event, the key's handling, and
the clock that never runs backwards.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from regie.cli import cli
from regie.engine import audit
from reliability import driver as d
from reliability.test_check import tamper

EVENT_COLUMNS = (
    "id, at, actor, acting_for, action, proposal_id, meeting_id, payload, prev_hash, hash, "
    "os_user, host, mac, key_id"
)


# -- helpers: what the attacker does, and what regie says ---------------------------------------


def rows(db: Path, where: str = "", params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM audit_event {where} ORDER BY id", params
        ).fetchall()


def recompute(db: Path, *, strip_from: int | None = None) -> None:
    """Recompute every hash and link from the first event on, as regie computes them (the
    MACs cannot be recomputed without the key: kept as they were, or stripped from event
    ``strip_from`` on)."""
    prev = audit.GENESIS
    statements = []
    for r in rows(db):
        digest = audit.event_hash(
            at=datetime.fromisoformat(r[1]), actor=r[2], acting_for=r[3], action=r[4],
            proposal_id=r[5], meeting_id=r[6], payload_text=r[7], prev_hash=prev,
            os_user=r[10], host=r[11],
        )  # fmt: skip
        if strip_from is not None and r[0] >= strip_from:
            statements.append(
                f"UPDATE audit_event SET prev_hash = '{prev}', hash = '{digest}', mac = NULL, "
                f"key_id = NULL WHERE id = {r[0]}"
            )
        else:
            statements.append(
                f"UPDATE audit_event SET prev_hash = '{prev}', hash = '{digest}' WHERE id = {r[0]}"
            )
        prev = digest
    tamper(db, *statements)


def verify(db: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    out = d.run(db, ["audit", "verify", "--json", *extra])
    assert not out.bad, out
    return out.code, json.loads(out.stdout), out.stderr


def anchor_of(db: Path) -> str:
    out = d.run(db, ["audit", "anchor", "--json"])
    assert out.code == 0, out
    return str(json.loads(out.stdout)["anchor"])


def first_event(db: Path, action: str) -> tuple[Any, ...]:
    return rows(db, "WHERE action = ?", (action,))[0]


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def test_the_untouched_scenario_verifies_with_every_event_authenticated(scenario_db: Path) -> None:
    code, report, _ = verify(scenario_db)
    assert code == 0 and report["ok"], report
    assert report["authenticated"] == report["events"] == len(rows(scenario_db)) > 20
    assert report["unauthenticated"] == report["unchecked"] == 0
    out = d.run(scenario_db, ["audit", "verify"])
    assert f"{report['authenticated']} authenticated with key {report['key_id']}" in out.stdout


# -- the attacks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("strip", [False, True], ids=["macs kept", "macs stripped from there"])
def test_rewritten_outcome_with_recomputed_chain(scenario_db: Path, strip: bool) -> None:
    decided = first_event(scenario_db, "decided")
    payload = json.loads(decided[7])
    assert payload["outcome"] == "adopted"
    forged = audit.canonical({**payload, "outcome": "rejected", "text": "Rejected."})
    tamper(
        scenario_db,
        f"UPDATE audit_event SET payload = {sql_text(forged)} WHERE id = {decided[0]}",
        f"UPDATE decision SET outcome = 'rejected', text = 'Rejected.' "
        f"WHERE proposal_id = '{decided[5]}'",
    )
    recompute(scenario_db, strip_from=decided[0] if strip else None)
    code, report, err = verify(scenario_db)
    assert code == 1 and not report["ok"]
    assert report["bad_event"] == decided[0]
    expected = "carries no MAC although earlier events do" if strip else "MAC does not match"
    assert expected in report["problem"]
    assert f"audit chain broken at event {report['bad_event']}" in err


def test_every_mac_stripped_is_caught_by_the_anchor(scenario_db: Path) -> None:
    """Strip every MAC, rewrite, recompute: the chain is self-consistent and every event
    looks older than the key — verify says so, and the published anchor no longer matches."""
    published = anchor_of(scenario_db)
    decided = first_event(scenario_db, "decided")
    forged = audit.canonical({**json.loads(decided[7]), "outcome": "rejected"})
    tamper(scenario_db, f"UPDATE audit_event SET payload = {sql_text(forged)} "
                        f"WHERE id = {decided[0]}")  # fmt: skip
    recompute(scenario_db, strip_from=1)
    code, report, _ = verify(scenario_db)
    assert code == 0 and report["authenticated"] == 0
    assert report["unauthenticated"] == report["events"]
    text = d.run(scenario_db, ["audit", "verify"]).stdout
    assert "no event is authenticated although a key is available" in text
    code, report, err = verify(scenario_db, "--anchor", published)
    assert code == 1 and not report["anchor"]["ok"]
    assert "was rewritten, reordered or recomputed" in err


def test_truncated_tail_is_found_by_the_anchor(scenario_db: Path) -> None:
    published = anchor_of(scenario_db)
    total = len(rows(scenario_db))
    tamper(scenario_db, f"DELETE FROM audit_event WHERE id > {total - 3}")
    code, report, _ = verify(scenario_db)
    assert code == 0 and report["events"] == total - 3  # every remaining MAC is genuine
    code, report, err = verify(scenario_db, "--anchor", published)
    assert code == 1 and report["anchor"]["ok"] is False
    assert f"the trail has {total - 3} events, the anchor names {total}" in err


def test_reordered_events_with_recomputed_chain(scenario_db: Path) -> None:
    a, b = rows(scenario_db)[-3:-1]
    swap = "at, actor, acting_for, action, proposal_id, meeting_id, payload, os_user, host"
    columns = swap.split(", ")
    values_a = dict(zip(columns, (a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[10], a[11]),
                        strict=True))  # fmt: skip
    values_b = dict(zip(columns, (b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[10], b[11]),
                        strict=True))  # fmt: skip

    def assign(values: dict[str, Any]) -> str:
        return ", ".join(f"{k} = {'NULL' if v is None else sql_text(str(v))}" for k, v in
                         values.items())  # fmt: skip

    tamper(
        scenario_db,
        f"UPDATE audit_event SET {assign(values_b)} WHERE id = {a[0]}",
        f"UPDATE audit_event SET {assign(values_a)} WHERE id = {b[0]}",
    )
    recompute(scenario_db)
    code, report, _ = verify(scenario_db)
    assert (code, report["bad_event"]) == (1, a[0])
    assert "MAC does not match" in report["problem"]


@pytest.mark.parametrize("mac", ["none", "copied", "attacker's key"])
def test_forged_attendance_at_the_tail(scenario_db: Path, mac: str) -> None:
    last = rows(scenario_db)[-1]
    real = first_event(scenario_db, "attendance")
    payload = audit.canonical({**json.loads(real[7]), "person": "sandra-kooiman"})
    at = datetime.fromisoformat(last[1])
    digest = audit.event_hash(
        at=at, actor="coordinator", acting_for=real[3], action="attendance",
        proposal_id=None, meeting_id=real[6], payload_text=payload, prev_hash=last[9],
        os_user=last[10], host=last[11],
    )  # fmt: skip
    forged_mac = {
        "none": None,
        "copied": last[12],
        "attacker's key": hmac.new(b"x" * 32, digest.encode(), "sha256").hexdigest(),
    }[mac]
    tamper(
        scenario_db,
        "INSERT INTO audit_event (id, at, actor, acting_for, action, proposal_id, meeting_id, "
        "payload, prev_hash, hash, os_user, host, mac, key_id) VALUES ("
        f"{last[0] + 1}, '{last[1]}', 'coordinator', {sql_text(real[3])}, 'attendance', NULL, "
        f"{sql_text(real[6])}, {sql_text(payload)}, '{last[9]}', '{digest}', "
        f"{sql_text(last[10])}, {sql_text(last[11])}, "
        f"{'NULL' if forged_mac is None else sql_text(forged_mac)}, "
        f"{'NULL' if forged_mac is None else sql_text(last[13])})",
    )
    code, report, _ = verify(scenario_db)
    assert (code, report["bad_event"]) == (1, last[0] + 1)
    expected = "carries no MAC" if mac == "none" else "MAC does not match"
    assert expected in report["problem"]


def test_forged_proposal_with_its_submission(scenario_db: Path) -> None:
    """A proposal row and its 'submitted' event, inserted in the middle of the trail and the
    chain recomputed from there: the first event after the forgery fails its MAC."""
    sub = first_event(scenario_db, "submitted")
    payload = audit.canonical({**json.loads(sub[7]), "title": "Forged"})
    with closing(sqlite3.connect(scenario_db)) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(proposal)")]
    copied = ", ".join({"id": "'P-2026-099'", "title": "'Forged'"}.get(c, c) for c in columns)
    tamper(
        scenario_db,
        f"INSERT INTO proposal SELECT {copied} FROM proposal WHERE id = '{sub[5]}'",
        f"UPDATE audit_event SET id = id + 1000 WHERE id > {sub[0]}",
        "INSERT INTO audit_event (id, at, actor, acting_for, action, proposal_id, meeting_id, "
        "payload, prev_hash, hash, os_user, host, mac, key_id) "
        f"SELECT {sub[0] + 1}, at, actor, acting_for, action, 'P-2026-099', meeting_id, "
        f"{sql_text(payload)}, prev_hash, hash, os_user, host, mac, key_id FROM audit_event "
        f"WHERE id = {sub[0]}",
        "UPDATE audit_event SET id = id - 999 WHERE id > 1000",
    )
    recompute(scenario_db)
    code, report, _ = verify(scenario_db)
    assert (code, report["bad_event"]) == (1, sub[0] + 1)
    assert "MAC does not match" in report["problem"]


def test_edited_workflow_text(scenario_db: Path) -> None:
    """The stored text is what a running proposal follows: an edit in place is found."""
    tamper(scenario_db, "UPDATE workflow_version SET text = replace(text, 'oogo', 'ao') "
                        "WHERE purpose = 'adoption'")  # fmt: skip
    code, report, err = verify(scenario_db)
    assert code == 1 and report["ok"] is False
    assert "its stored text does not match its digest" in " ".join(report["workflow_problems"])
    assert "(adoption)" in err


def test_edited_workflow_text_with_recomputed_digest_and_chain(scenario_db: Path) -> None:
    """Edit the text, give it its new digest everywhere (the version, the proposals, the
    region's setting, the events that name it) and recompute the chain: the MAC of the
    first event that names the old digest no longer matches."""
    with closing(sqlite3.connect(scenario_db)) as conn:
        old, text = conn.execute(
            "SELECT digest, text FROM workflow_version WHERE purpose = 'adoption'"
        ).fetchone()
    new_text = text.replace("oogo", "ao")
    new = hashlib.sha256(new_text.encode()).hexdigest()
    statements = [
        f"UPDATE workflow_version SET digest = '{new}', text = {sql_text(new_text)} "
        f"WHERE digest = '{old}'",
        f"UPDATE proposal SET workflow_digest = '{new}' WHERE workflow_digest = '{old}'",
        f"UPDATE region_setting SET value = '\"{new}\"' WHERE value = '\"{old}\"'",
    ]
    named = rows(scenario_db, "WHERE payload LIKE ?", (f"%{old[:12]}%",))
    for r in named:
        payload = r[7].replace(old, new).replace(old[:12], new[:12])
        statements.append(f"UPDATE audit_event SET payload = {sql_text(payload)} WHERE id = {r[0]}")
    tamper(scenario_db, *statements)
    recompute(scenario_db)
    code, report, _ = verify(scenario_db)
    assert (code, report["bad_event"]) == (1, named[0][0])
    assert "MAC does not match" in report["problem"]


def test_without_the_key_the_chain_is_only_self_consistent(scenario_db: Path) -> None:
    """The same rewrite, verified without the key: the chain looks intact, and verify says
    plainly that it could not check the MACs."""
    decided = first_event(scenario_db, "decided")
    forged = audit.canonical({**json.loads(decided[7]), "outcome": "rejected"})
    tamper(scenario_db, f"UPDATE audit_event SET payload = {sql_text(forged)} "
                        f"WHERE id = {decided[0]}")  # fmt: skip
    recompute(scenario_db)
    Path(f"{scenario_db}.key").unlink()
    out = d.run(scenario_db, ["audit", "verify"])
    assert out.code == 0, out
    assert "the key is not available here" in out.stdout
    assert "the chain is only self-consistent" in out.stdout


# -- anchors -------------------------------------------------------------------------------------


def test_anchor_lists_what_came_after_it(scenario_db: Path) -> None:
    published = anchor_of(scenario_db)
    before = len(rows(scenario_db))
    pid = "P-2026-004"
    assert d.do_move(scenario_db, pid, "withdraw", "adoption").code == 0
    code, report, _ = verify(scenario_db, "--anchor", published)
    assert code == 0 and report["anchor"]["ok"] and report["anchor"]["tag"] == "matches"
    assert [(e["id"], e["action"], e["proposal"]) for e in report["anchor"]["after"]] == [
        (before + 1, "withdrawn", pid)
    ]
    text = d.run(scenario_db, ["audit", "verify", "--anchor", published]).stdout
    assert f"the trail up to event #{before} is unchanged; 1 events after it" in text


def test_a_mistyped_or_foreign_anchor_is_refused(scenario_db: Path) -> None:
    published = anchor_of(scenario_db)
    count, head, tag = published.split("-")
    wrong_tag = f"{count}-{head}-{'0' * 16 if tag != '0' * 16 else '1' * 16}"
    code, report, err = verify(scenario_db, "--anchor", wrong_tag)
    assert code == 1 and report["anchor"]["tag"] == "mismatch"
    assert "the anchor's tag does not match" in err
    out = d.run(scenario_db, ["audit", "verify", "--anchor", "not-an-anchor"])
    assert out.code == 2 and "is not an audit anchor" in out.stderr and not out.bad


# -- the chain's format, pinned -------------------------------------------------------------------


def test_a_known_events_hash_recomputed_by_hand(scenario_db: Path) -> None:
    """Canonical JSON (sorted keys, no spaces, UTF-8), the event time included to the
    microsecond with a Z, the account and host included; SHA-256; the MAC one HMAC-SHA256
    over the hash with a key derived from the key file's secret."""
    e = first_event(scenario_db, "decided")
    content = {
        "at": datetime.fromisoformat(e[1]).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": e[2], "acting_for": e[3], "action": e[4], "proposal": e[5], "meeting": e[6],
        "payload": e[7], "prev": e[8], "os_user": e[10], "host": e[11],
    }  # fmt: skip
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == e[9]
    without_time = {k: v for k, v in content.items() if k != "at"}
    text = json.dumps(without_time, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() != e[9]
    master = bytes.fromhex(Path(f"{scenario_db}.key").read_text().strip())
    event_key = hmac.new(master, b"regie/audit-event", "sha256").digest()
    assert hmac.new(event_key, e[9].encode(), "sha256").hexdigest() == e[12]


def test_a_fixed_event_hashes_to_a_fixed_value() -> None:
    """Known answers: a change of format (key order, time format, a field dropped) changes
    these, and a database written before would no longer verify."""
    fields: dict[str, Any] = {
        "at": datetime(2026, 11, 23, 9, 0, 0, 123456),
        "actor": "coordinator",
        "acting_for": "netwerk",
        "action": "submitted",
        "proposal_id": "P-2026-001",
        "meeting_id": "tafel-model-2026-12-08",
        "payload_text": '{"title":"Één"}',
        "prev_hash": audit.GENESIS,
    }
    old_format = audit.event_hash(**fields)
    new_format = audit.event_hash(**fields, os_user="regie", host="server")
    assert old_format == "43fe5bcb6ae6c4071e7c08346e945877fb1c8ae2a85350a48acc2cea940a4ce4"
    assert new_format == "c56b5032421dd594512d18547fff885b3a76f7b80f107ae206e594dddbfeed85"


# -- who wrote it ---------------------------------------------------------------------------------


def test_every_event_names_the_account_and_host_that_wrote_it(scenario_db: Path) -> None:
    import pwd

    account = pwd.getpwuid(os.geteuid()).pw_name
    assert {(r[10], r[11]) for r in rows(scenario_db)} == {(account, socket.gethostname())}
    out = d.run(scenario_db, ["audit", "show", "P-2026-001", "--json"])
    assert out.code == 0, out
    shown = json.loads(out.stdout)
    assert {(e["actor"], e["os_user"], e["host"]) for e in shown} >= {
        ("sandra-kooiman", account, socket.gethostname())  # the claim next to the account
    }
    wide = CliRunner().invoke(
        cli, ["--db", str(scenario_db), "--lang", "en", "audit", "show", "P-2026-001"],
        env={"COLUMNS": "300", "REGIE_NOW": d.START, "REGIE_USER": d.COORDINATOR},
    )  # fmt: skip
    assert wide.exit_code == 0, wide.output
    header = next(line for line in wide.stdout.splitlines() if " who " in line)
    assert " account " in header
    assert f"{account}@{socket.gethostname()}" in wide.stdout


def test_the_account_is_part_of_the_hash(scenario_db: Path) -> None:
    e = first_event(scenario_db, "submitted")
    tamper(scenario_db, f"UPDATE audit_event SET os_user = 'someone-else' WHERE id = {e[0]}")
    code, report, _ = verify(scenario_db)
    assert (code, report["bad_event"]) == (1, e[0])
    assert "content does not match its hash" in report["problem"]
