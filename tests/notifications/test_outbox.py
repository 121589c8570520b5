"""The outbox: rows written with the event, claimed with compare-and-set, and the CLI."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from click.testing import CliRunner
from mailtest import FROM, drain, make_sender, queue, rows

from regie.cli import cli
from regie.engine.audit import Event
from regie.engine.storage import Tx
from regie.errors import UsageError
from regie.notifications import outbox, recipients
from regie.notifications.kinds import EVENT_KINDS
from regie.notifications.sender import default_renderer
from regie.notifications.sink import MailSink, free_port, running

REGIE = str(Path(sys.executable).parent / "regie")


def _event(world: Any, action: str) -> Event:
    from regie.engine.audit import iter_events

    with world.db.transaction(write=False) as session:
        found = [ev for _row, ev in iter_events(session) if ev.action == action]
    return found[-1]


def test_submit_queues_its_notices_in_the_same_transaction(world: Any) -> None:
    pid = world.submit(title="Pilot integrale TLV")
    ev = _event(world, "submitted")
    with world.db.transaction(write=False) as session:
        expected = recipients.notices_for_event(Tx(session), ev)
    assert expected, "a submitted proposal notifies someone"
    stored = world.sql("SELECT event_id, person_id, status, message_id, proposal_id, kind "
                       "FROM outbox WHERE event_id = ? ORDER BY id", (ev.id,))  # fmt: skip
    assert [r[1] for r in stored] == [n.person_id for n in expected]
    digest_people = {p.id for p in world.region.people if p.digest}
    for _eid, person, status, message_id, proposal, kind in stored:
        assert status == ("digest" if person in digest_people else "queued")
        assert message_id is None and proposal == pid and kind in EVENT_KINDS["submitted"]


def test_a_refused_change_queues_nothing(world: Any) -> None:
    before = world.sql("SELECT COUNT(*) FROM outbox")[0][0]
    with pytest.raises(UsageError):
        world.submit(parties=["no-such-party"])
    assert world.sql("SELECT COUNT(*) FROM outbox")[0][0] == before


def test_claim_is_one_attempt_compare_and_set_and_message_id_is_stable(world: Any) -> None:
    ids = queue(world, 3)
    now = world.clock.now().replace(tzinfo=None)
    lease = timedelta(minutes=10)
    claimed = [outbox.claim(world.db, now=now, lease=lease, domain="regie.test") for _ in ids]
    assert [a.row.id for a in claimed if a] == ids
    assert outbox.claim(world.db, now=now, lease=lease, domain="regie.test") is None
    first = claimed[0]
    assert first is not None and len({a.id for a in claimed if a}) == 3
    mid = first.row.message_id
    assert mid.startswith(f"<regie-outbox-{ids[0]}.") and mid.endswith("@regie.test>")
    stale = outbox.Outcome(ids[0], "sent", attempt="not-this-attempt")
    outbox.finish(world.db, [stale], now=now)  # another attempt's outcome changes nothing
    assert rows(world)[ids[0]]["status"] == "sending"
    retry = outbox.Outcome(ids[0], "retry", "451 later", now, first.id)
    outbox.finish(world.db, [retry], now=now)
    again = outbox.claim(world.db, now=now, lease=lease, domain="other.test")
    assert again is not None and again.id != first.id
    assert (again.row.id, again.row.message_id, again.row.attempts) == (ids[0], mid, 2)


def test_an_expired_claim_without_data_is_claimed_again_as_not_tried(world: Any) -> None:
    (row_id,) = queue(world, 1)
    now = world.clock.now().replace(tzinfo=None)
    lease = timedelta(minutes=10)
    first = outbox.claim(world.db, now=now, lease=lease, domain="d.test")
    assert first is not None and first.row.attempts == 1
    later = now + lease
    second = outbox.claim(world.db, now=later, lease=lease, domain="d.test")
    assert second is not None and second.row.attempts == 1  # the first never reached DATA
    assert not outbox.data_started(world.db, first, now=later, lease=lease)  # not its own
    assert outbox.data_started(world.db, second, now=later, lease=lease)
    third = outbox.claim(world.db, now=later + lease, lease=lease, domain="d.test")
    assert third is not None and third.row.attempts == 2
    assert rows(world)[row_id]["recovered"] == 1  # DATA had started: it may have arrived
    outbox.data_started(world.db, third, now=later + lease, lease=lease)
    assert outbox.claim(world.db, now=later + 2 * lease, lease=lease, domain="d.test") is None
    r = rows(world)[row_id]
    assert (r["status"], r["last_error"]) == ("failed", outbox.STUCK_TWICE)


def test_real_renderer_end_to_end(world: Any, smtp: Any) -> None:
    handler, port = smtp
    pid = world.submit(title="Ouder-kindtrajecten")
    queued = world.sql("SELECT id, email FROM outbox WHERE status = 'queued'")
    report = drain(make_sender(world, port, render=default_renderer()))
    assert report.sent == len(queued) and report.failed == 0
    by_id = {m.message_id: m for m in handler.messages}
    for row_id, address in queued:
        stored = by_id[rows(world)[row_id]["message_id"]]
        assert stored.rcpt_tos == (address,) and stored.mail_from == FROM
        msg = email.message_from_bytes(stored.data, policy=email.policy.default)
        assert pid in str(msg["Subject"])


# -- CLI ------------------------------------------------------------------------------


def _cli(world: Any, *args: str, port: int | None = None) -> Any:
    env = {"REGIE_DB": str(world.path), "REGIE_NOW": world.clock.now().isoformat(),
           "REGIE_USER": world.coordinator}  # fmt: skip
    if port is not None:
        env |= {"REGIE_SMTP_HOST": "127.0.0.1", "REGIE_SMTP_PORT": str(port)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_cli_outbox_json_retry_and_cancel(world: Any) -> None:
    ids = queue(world, 3)
    now = world.clock.now().replace(tzinfo=None)
    outbox.claim(world.db, now=now, lease=timedelta(minutes=5), domain="d.test")
    outbox.finish(world.db, [outbox.Outcome(ids[0], "failed", "550 no such user")], now=now)

    res = _cli(world, "outbox", "--status", "failed", "--json")
    assert res.exit_code == 0, res.output
    listed = json.loads(res.output)["rows"]
    assert [(r["id"], r["status"], r["last_error"]) for r in listed] == [
        (ids[0], "failed", "550 no such user")
    ]
    assert listed[0]["message_id"] == rows(world)[ids[0]]["message_id"]
    assert listed[0]["message_id"].endswith("@d.test>")

    res = _cli(world, "outbox", "retry", str(ids[1]))
    assert res.exit_code == 2 and "only failed or cancelled" in res.output
    assert _cli(world, "outbox", "retry", str(ids[0])).exit_code == 0
    assert rows(world)[ids[0]]["status"] == "queued"
    assert rows(world)[ids[0]]["attempts"] == 0

    res = _cli(world, "outbox", "cancel", str(ids[2]))
    assert res.exit_code == 0 and "cancelled (was queued)" in res.output
    assert _cli(world, "outbox", "retry", "--all-failed").output.startswith("0 rows")
    assert _cli(world, "outbox", "cancel", "999999").exit_code == 1
    table = _cli(world, "outbox")
    assert table.exit_code == 0 and "Outbox" in table.output


def test_cli_send_drains_to_the_sink(world: Any, tmp_path: Path) -> None:
    world.submit(title="Monitor 2026")  # real notices, rendered by the real templates
    n = world.sql("SELECT COUNT(*) FROM outbox WHERE status = 'queued'")[0][0]
    handler = MailSink(tmp_path / "out")
    with running(handler) as port:
        res = _cli(world, "send", port=port)
    assert res.exit_code == 0, res.output
    assert f"sent {n}, retry later 0, failed 0" in res.output
    assert len(list((tmp_path / "out").glob("*.eml"))) == n
    assert "queued" not in {r["status"] for r in rows(world).values()}


def test_cli_send_server_down_exits_75_with_the_reason_rows_wait(world: Any) -> None:
    world.submit()
    n = world.sql("SELECT COUNT(*) FROM outbox WHERE status = 'queued'")[0][0]
    port = free_port()
    res = _cli(world, "send", port=port)
    assert res.exit_code == 75, res.output
    assert f"regie: error: connection refused by 127.0.0.1:{port}; {n} notices wait" in res.stderr
    res = _cli(world, "send", "--json", port=port)
    assert res.exit_code == 75
    shown = json.loads(res.stdout)
    assert shown["unreachable"] == f"connection refused by 127.0.0.1:{port}"
    assert (shown["waiting"], shown["sent"], shown["failed"]) == (n, 0, 0) and n > 0
    stored = rows(world).values()
    assert {
        (r["status"], r["attempts"], r["recovered"]) for r in stored if r["status"] != "digest"
    } == {("queued", 0, 0)}


def test_cli_mail_sink_stores_and_prints(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "mail"
    proc = subprocess.Popen(
        [REGIE, "mail-sink", "--dir", str(out), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert "mail sink on 127.0.0.1" in proc.stdout.readline()
        msg = email.message.EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = FROM, "a@example.org", "Agenda AO"
        msg.set_content("hallo")
        import asyncio

        asyncio.run(aiosmtplib.send(msg, hostname="127.0.0.1", port=port, timeout=10))
        assert proc.stdout.readline().strip() == "000001.eml  to a@example.org: Agenda AO"
        assert (out / "000001.eml").read_bytes().count(b"Subject: Agenda AO") == 1
    finally:
        # SIGTERM, not SIGINT: in a suite started in the background of a script (`pytest &`)
        # SIGINT is ignored, and the sink would run on
        proc.send_signal(signal.SIGTERM)
        try:
            tail, _err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:  # never leave it behind
                proc.kill()
                proc.wait(timeout=10)
    assert "stopped; 1 message received" in tail
    assert proc.returncode == 0


def test_mail_sink_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "000001.eml").write_bytes(b"old")
    sink = MailSink(tmp_path)
    stored = sink.store("a@x.org", ["b@x.org"], b"Subject: new\r\n\r\nbody\r\n")
    assert stored.path == tmp_path / "000002.eml" and stored.subject == "new"
    assert (tmp_path / "000001.eml").read_bytes() == b"old"
    time.sleep(0)
