"""The key outside the database, and the clock that never runs backwards.

The key: created by `regie init` as a 0600 file next to the database (or given as
REGIE_SECRET / REGIE_KEY_FILE), never in the database; a key file others may read, a
missing key and another database's key are refused with a message that says what to do; a
database from before the key keeps verifying and says how many events are not
authenticated. The clock: an event dated before the last one is refused, nothing written.
The news of the top meeting carries the anchor of the trail as it went out.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from regie.cli import cli
from regie.engine import agenda, anchor, audit, decisions, keys
from regie.engine.storage import Tx
from regie.errors import UsageError
from regie.notifications import outbox
from regie.notifications.render import render_notice
from reliability import driver as d
from reliability.test_check import tamper


def snapshot(db: Path) -> dict[str, list[str]]:
    """Every row of every table."""
    with closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}


def withdraw(db: Path, **kwargs: Any) -> d.Outcome:
    return d.run(db, ["withdraw", "P-2026-004", "--reason", "superseded"], **kwargs)


def run_env(db: Path, args: list[str], **env: str | None) -> d.Outcome:
    base = {"REGIE_NOW": d.START, "REGIE_USER": d.COORDINATOR, "REGIE_DB": None,
            "REGIE_SECRET": None, "REGIE_KEY_FILE": None}  # fmt: skip
    result = CliRunner().invoke(cli, ["--db", str(db), *args], env={**base, **env})
    return d.Outcome(result.exit_code, result.stdout, result.stderr)


# -- the key ---------------------------------------------------------------------------------------


def test_init_creates_a_private_key_file_that_stays_out_of_the_database(tmp_path: Path) -> None:
    db = tmp_path / "regie.db"
    out = d.init(db)
    assert out.code == 0, out
    key_file = Path(f"{db}.key")
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert f"audit key created: {key_file} (mode 0600)" in out.stdout
    secret = key_file.read_text().strip()
    assert len(bytes.fromhex(secret)) == keys.MIN_BYTES
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = db.read_bytes()
    assert secret.encode() not in stored and bytes.fromhex(secret) not in stored
    assert secret not in out.stdout + out.stderr
    again = d.init(db)
    assert again.code == 0 and "audit key created" not in again.stdout
    assert key_file.read_text().strip() == secret


def test_a_key_file_others_may_read_is_refused(scenario_db: Path) -> None:
    key_file = Path(f"{scenario_db}.key")
    key_file.chmod(0o640)
    before = snapshot(scenario_db)
    for out in (withdraw(scenario_db), d.run(scenario_db, ["audit", "verify"])):
        assert out.code == 2 and not out.bad, out
        assert f"chmod 600 {key_file}" in out.stderr
    assert snapshot(scenario_db) == before


def test_without_its_key_the_trail_takes_no_event(scenario_db: Path) -> None:
    Path(f"{scenario_db}.key").unlink()
    before = snapshot(scenario_db)
    out = withdraw(scenario_db)
    assert out.code == 2 and not out.bad, out
    assert "which is not available here" in out.stderr and "nothing was written" in out.stderr
    out = d.init(scenario_db)  # init does not make a new key for an authenticated trail
    assert out.code == 2 and "restore the key file from its backup" in out.stderr
    assert not Path(f"{scenario_db}.key").exists()
    assert snapshot(scenario_db) == before


def test_another_databases_key_is_refused(scenario_db: Path, tmp_path: Path) -> None:
    Path(f"{scenario_db}.key").write_text("ab" * 32 + "\n")
    before = snapshot(scenario_db)
    out = withdraw(scenario_db)
    assert out.code == 2 and "is not the key of this audit trail" in out.stderr, out
    assert snapshot(scenario_db) == before
    code = d.run(scenario_db, ["audit", "verify"])
    assert code.code == 1 and "not with the available key" in code.stderr


def test_regie_secret_in_hex_or_base64(tmp_path: Path) -> None:
    db = tmp_path / "regie.db"
    secret = bytes(range(32))
    out = run_env(db, ["init", "--config", str(d.CONFIG)], REGIE_SECRET=secret.hex())
    assert out.code == 0, out
    assert not Path(f"{db}.key").exists()
    for written in (secret.hex(), base64.b64encode(secret).decode(),
                    base64.urlsafe_b64encode(secret).decode().rstrip("=")):  # fmt: skip
        out = run_env(db, ["audit", "verify", "--json"], REGIE_SECRET=written)
        report = json.loads(out.stdout)
        assert out.code == 0 and report["authenticated"] == report["events"] > 0, out
    out = run_env(db, ["audit", "verify"], REGIE_SECRET="00" * 31)
    assert out.code == 2 and "at least 32 bytes" in out.stderr and "00" * 31 not in out.stderr


def test_postgresql_needs_a_key_file_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGIE_SECRET", raising=False)
    monkeypatch.delenv("REGIE_KEY_FILE", raising=False)
    with pytest.raises(UsageError, match="set REGIE_KEY_FILE"):
        keys.ensure_key("", is_sqlite=False)
    monkeypatch.setenv("REGIE_KEY_FILE", str(tmp_path / "pg.key"))
    key, created = keys.ensure_key("", is_sqlite=False)
    assert created and key is not None and key.source == str(tmp_path / "pg.key")
    assert (tmp_path / "pg.key").stat().st_mode & 0o777 == 0o600
    assert key.master.hex() not in repr(key)  # never shown, not even in a traceback


def test_a_database_from_before_the_key_keeps_verifying(scenario_db: Path) -> None:
    """Events written before migration 0005 have no account, host or MAC and hash in the
    old format; they verify, counted as not authenticated. `regie init` then makes a key,
    and the events from there on carry a MAC."""
    with closing(sqlite3.connect(scenario_db)) as conn:
        events = conn.execute(
            "SELECT id, at, actor, acting_for, action, proposal_id, meeting_id, payload "
            "FROM audit_event ORDER BY id"
        ).fetchall()
    prev, statements = audit.GENESIS, []
    for e in events:
        digest = audit.event_hash(
            at=datetime.fromisoformat(e[1]), actor=e[2], acting_for=e[3], action=e[4],
            proposal_id=e[5], meeting_id=e[6], payload_text=e[7], prev_hash=prev,
        )  # fmt: skip
        statements.append(
            f"UPDATE audit_event SET prev_hash = '{prev}', hash = '{digest}', os_user = NULL, "
            f"host = NULL, mac = NULL, key_id = NULL WHERE id = {e[0]}"
        )
        prev = digest
    tamper(scenario_db, *statements)
    Path(f"{scenario_db}.key").unlink()
    out = d.run(scenario_db, ["audit", "verify"])
    assert out.code == 0, out
    assert f"{len(events)} events before the key existed are not authenticated" in out.stdout
    out = d.init(scenario_db)
    assert out.code == 0 and "audit key created" in out.stdout, out
    out = d.run(scenario_db, ["audit", "verify", "--json"])
    report = json.loads(out.stdout)
    assert out.code == 0 and report["unauthenticated"] == len(events), out
    assert report["authenticated"] == report["events"] - len(events) >= 1


# -- the clock -------------------------------------------------------------------------------------


def test_an_event_dated_before_the_last_one_is_refused(scenario_db: Path) -> None:
    last = d.last_event_at(scenario_db)
    assert last is not None
    before = snapshot(scenario_db)
    earlier = (last - timedelta(minutes=1)).isoformat()
    for out in (
        withdraw(scenario_db, now=earlier, monotonic=False),
        d.run(scenario_db, ["init", "--config", str(d.CONFIG)], now=earlier, monotonic=False),
    ):
        assert out.code == 2 and not out.bad, out
        assert "before the last audit event" in out.stderr
        assert "nothing was written" in out.stderr
    assert snapshot(scenario_db) == before
    same = withdraw(scenario_db, now=last.isoformat(), monotonic=False)
    assert same.code == 0, same  # the same moment is not backwards


# -- the news of the top meeting ---------------------------------------------------------------


def test_news_of_the_top_meeting_carries_the_anchor(world: Any) -> None:
    pid = world.submit("adoption", parties=["ede"])
    meeting = world.to_final(pid)
    world.call(
        decisions.decide, proposal_id=pid, outcome="adopted", text="Ja.", override="per mail"
    )
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    news = world.call(agenda.oogo_news, meeting_id=meeting)
    (payload,) = world.sql("SELECT payload FROM audit_event WHERE id = ?", (news.event_id,))[0]
    published = json.loads(payload)["anchor"]
    assert published.startswith(f"{news.event_id - 1}-")  # the head as the news went out
    with world.db.session(write=False) as session:
        found = anchor.check(session, published)
    assert found.ok and found.tag == "matches" and [e["id"] for e in found.after] == [news.event_id]
    for lang, words in (
        ("nl", "Controlegetal van de besluitenlijst (audit anchor)"),
        ("en", "Check number of the decision list (audit anchor)"),
    ):
        plain, html = _rendered_news(world, lang)
        assert f"{words}: {published}" in plain, plain
        assert f"{words}: <code>{published}</code>" in html, html


def _rendered_news(world: Any, lang: str) -> tuple[str, str]:
    with world.db.session(write=False) as session:
        found = Tx(session).all(
            f"SELECT {outbox.ROW_COLUMNS} FROM outbox WHERE kind = 'oogo_news' ORDER BY id"
        )
    row = outbox.row_from_tuple(found[0])
    msg = render_notice(None, replace(row, language=lang), sender_address="r@example.org")
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    parts = []
    for subtype in ("plain", "html"):
        body = parsed.get_body((subtype,))
        assert body is not None
        parts.append(str(body.get_content()))
    return parts[0], parts[1]
