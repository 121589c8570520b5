"""The sender's setup (issue 14): a bad host or port stops `regie send` before it claims
anything; a password never goes without TLS; Message-IDs are unique per database."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mailtest import FROM, LineServer, drain, plain_render, queue, rows, serving

from regie.cli import cli
from regie.clock import AMSTERDAM, FixedClock, to_utc_naive
from regie.engine.setup import init_database
from regie.engine.storage import Database, Tx
from regie.notifications import outbox
from regie.notifications.sender import Sender
from regie.notifications.smtp_settings import MailConfigError, SmtpSettings
from regie.notifications.types import Notice
from regie.region import Region
from regie.workflows.definition import builtin_workflows

PASSWORD = "geheim-wachtwoord"
START = datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM)


def _send(world: Any, env: dict[str, str] | None = None) -> Any:
    base = {"REGIE_DB": str(world.path), "REGIE_NOW": world.clock.now().isoformat()}
    return CliRunner().invoke(cli, ["send"], env={**base, **(env or {})}, catch_exceptions=False)


def _untouched(world: Any, ids: list[int]) -> None:
    for i in ids:
        r = rows(world)[i]
        assert (r["status"], r["attempts"], r["message_id"], r["attempt_id"]) == (
            "queued", 0, None, None,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"REGIE_SMTP_HOST": "smtp..example.org"}, "empty part between dots"),
        ({"REGIE_SMTP_HOST": "smtp.example.org.."}, "empty part between dots"),
        ({"REGIE_SMTP_PORT": "70000"}, "not a TCP port"),
        ({"REGIE_SMTP_PORT": "0"}, "not a TCP port"),
        ({"REGIE_SMTP_PORT": "587x"}, "not a port number"),
    ],
)
def test_bad_host_or_port_exits_2_before_claiming(world: Any, env: dict[str, str],
                                                  words: str) -> None:  # fmt: skip
    ids = queue(world, 3)
    res = _send(world, {"REGIE_SMTP_HOST": "127.0.0.1", "REGIE_SMTP_PORT": "8025", **env})
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("regie: error: mail settings: ") and words in res.stderr
    assert "internal error" not in res.output
    _untouched(world, ids)


def test_a_stored_host_typo_exits_2_before_claiming(world: Any) -> None:
    """A database set up before host names were checked: `regie send` still refuses."""
    ids = queue(world, 2)
    with world.db.transaction() as session:
        Tx(session).execute("UPDATE region_setting SET value = ? WHERE key = 'mail'",
                            (json.dumps({"host": "smtp..example.org", "port": 587}),))  # fmt: skip
        session.commit()
    res = _send(world)
    assert res.exit_code == 2, res.output
    assert "mail host: 'smtp..example.org' is not a host name" in res.stderr
    _untouched(world, ids)


def test_settings_check_host_port_and_plaintext_login() -> None:
    for bad in ({"host": "smtp..x.org"}, {"port": 0}, {"port": 65536}, {"host": ""}):
        with pytest.raises(MailConfigError) as info:
            SmtpSettings(**bad)  # type: ignore[arg-type]
        assert info.value.exit_code == 2
    with pytest.raises(MailConfigError, match="allow_plaintext_auth"):
        SmtpSettings(user="regie", starttls=False)
    assert SmtpSettings(user="regie").start_tls is True  # required with a login
    assert SmtpSettings(user="regie", allow_plaintext_auth=True).start_tls is None
    assert SmtpSettings().start_tls is None  # no login: STARTTLS if offered
    assert SmtpSettings(user="regie", tls=True).start_tls is False  # TLS from the start


def test_a_login_without_starttls_on_offer_is_refused_before_auth(world: Any) -> None:
    world.submit()  # real notices: the CLI renders them with the templates
    ids = [r[0] for r in world.sql("SELECT id FROM outbox WHERE status = 'queued'")]
    server = LineServer()  # offers AUTH, no STARTTLS
    with serving(server) as port:
        env = {"REGIE_SMTP_HOST": "127.0.0.1", "REGIE_SMTP_PORT": str(port),
               "REGIE_SMTP_USER": "regie", "REGIE_SMTP_PASSWORD": PASSWORD}  # fmt: skip
        res = _send(world, env)
    assert res.exit_code == 2, res.output
    assert f"127.0.0.1:{port} does not offer STARTTLS, which is required" in res.stderr
    assert "the login as 'regie' needs it" in res.stderr and PASSWORD not in res.output
    assert "AUTH" not in server.verbs() and "MAIL" not in server.verbs()
    assert server.verbs()[:1] == ["EHLO"]
    assert ids and {rows(world)[i]["attempts"] for i in ids} == {0}  # released, not counted
    assert {rows(world)[i]["status"] for i in ids} == {"queued"}


def test_allow_plaintext_auth_logs_in_without_tls(world: Any) -> None:
    (row_id,) = queue(world, 1)
    server = LineServer()
    with serving(server) as port:
        settings = SmtpSettings(
            host="127.0.0.1", port=port, user="regie", password=PASSWORD,
            allow_plaintext_auth=True, from_address=FROM, timeout=5,
        )  # fmt: skip
        report = drain(Sender(world.db, settings, world.clock, render=plain_render))
    assert report.sent == 1 and report.problems == []
    assert server.verbs().index("AUTH") < server.verbs().index("MAIL")
    assert rows(world)[row_id]["status"] == "sent"


# -- Message-IDs unique per database --------------------------------------------------


def _fresh(path: Path, region: Region) -> Database:
    db = Database(f"sqlite:///{path}")
    init_database(db=db, clock=FixedClock(START), region=region, workflows=builtin_workflows())
    return db


def _first_message_id(db: Database, region: Region) -> tuple[int, str]:
    person = next(p for p in region.people if not p.digest)
    now = to_utc_naive(START)
    with db.transaction() as session:
        tx = Tx(session)
        event_id = int(tx.scalar("SELECT MIN(id) FROM audit_event"))
        outbox.insert_notices(tx, event_id, now - timedelta(hours=1),
                              [Notice("submitted", person.id, person.email, "nl")])  # fmt: skip
        session.commit()
    attempt = outbox.claim(db, now=now, lease=timedelta(minutes=10), domain="same.example.org")
    assert attempt is not None
    return attempt.row.id, attempt.row.message_id


def _installation(db: Database) -> str:
    with db.transaction(write=False) as session:
        raw = Tx(session).scalar("SELECT value FROM region_setting WHERE key = ?",
                                 (outbox.INSTALLATION_KEY,))  # fmt: skip
    return str(json.loads(raw))


def test_message_ids_differ_between_databases_of_one_config(tmp_path: Path, region: Region) -> None:
    one, two = _fresh(tmp_path / "one.db", region), _fresh(tmp_path / "two.db", region)
    try:
        backup = tmp_path / "backup.db"
        with (
            closing(sqlite3.connect(tmp_path / "one.db")) as src,
            closing(sqlite3.connect(backup)) as dst,
        ):  # taken before any mail went out
            src.backup(dst)
        first, second = _first_message_id(one, region), _first_message_id(two, region)
        assert first[0] == second[0]  # the same row id in both ...
        assert first[1] != second[1]  # ... and still two Message-IDs
        assert _installation(one) != _installation(two)
        assert _installation(one) in first[1] and _installation(two) in second[1]
        installed = _installation(one)
        init_database(db=one, clock=FixedClock(START), region=region,
                      workflows=builtin_workflows())  # fmt: skip
        assert _installation(one) == installed  # init again keeps it
        restored = Database(f"sqlite:///{backup}")
        try:
            again = _first_message_id(restored, region)
        finally:
            restored.dispose()
        assert again[0] == first[0] and again[1] != first[1]  # a new mail, a new id
    finally:
        one.dispose()
        two.dispose()
