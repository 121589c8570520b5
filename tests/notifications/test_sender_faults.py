"""The sender against real SMTP servers on loopback: delivery, retries, refusals, crashes."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import aiosmtplib
from mailtest import DroppingServer, drain, make_sender, queue, rows

from regie.notifications.outbox import STUCK_TWICE
from regie.notifications.sender import _Connection
from regie.notifications.sink import MailSink, free_port, running


def test_happy_path_one_connection_carries_all(world: Any, smtp: Any) -> None:
    handler, port = smtp
    ids = queue(world, 30)
    report = drain(make_sender(world, port, connections=1, batch_size=8))
    assert (report.sent, report.retry, report.failed) == (30, 0, 0)
    assert handler.connections == 1
    assert sorted(handler.ids()) == sorted(f"<regie-outbox-{i}@regie.test>" for i in ids)
    stored = rows(world)
    assert {r["status"] for r in stored.values()} == {"sent"}
    assert all(r["sent_at"] and r["attempts"] == 1 for r in stored.values())
    assert [m.rcpt_tos for m in handler.messages[:1]] == [(stored[ids[0]]["email"],)]


def test_parallel_connections(world: Any, smtp: Any) -> None:
    handler, port = smtp
    queue(world, 40)
    report = drain(make_sender(world, port, connections=3, batch_size=5))
    assert report.sent == 40 and len(set(handler.ids())) == 40
    assert 1 <= handler.connections <= 3


def test_limit_sends_at_most_n(world: Any, smtp: Any) -> None:
    handler, port = smtp
    queue(world, 12)
    assert drain(make_sender(world, port, batch_size=5), limit=7).sent == 7
    assert len(handler.messages) == 7
    assert Counter(r["status"] for r in rows(world).values()) == {"sent": 7, "queued": 5}


def test_4xx_then_accepted_after_backoff(world: Any, smtp: Any) -> None:
    handler, port = smtp
    (row_id,) = queue(world, 1)
    handler.data_replies = ["451 4.3.0 mailbox busy, try later"]
    sender = make_sender(world, port)
    assert drain(sender).retry == 1
    r = rows(world)[row_id]
    assert (r["status"], r["attempts"]) == ("queued", 1)
    assert "451" in r["last_error"]
    now = world.clock.now().replace(tzinfo=None)
    due = r["next_attempt_at"]
    assert str(now + timedelta(seconds=30)) <= due <= str(now + timedelta(seconds=60))
    assert drain(sender).sent == 0  # not due yet: the clock did not move
    world.clock.advance(timedelta(minutes=2))
    assert drain(sender).sent == 1
    r = rows(world)[row_id]
    assert (r["status"], r["attempts"], r["last_error"]) == ("sent", 2, None)
    assert handler.ids() == [f"<regie-outbox-{row_id}@regie.test>"]


def test_recipient_refused_5xx_fails_with_reply_others_go(world: Any, smtp: Any) -> None:
    handler, port = smtp
    ids = queue(world, 3, email_of={1: "nobody@nowhere.example.org"})
    handler.rcpt_replies = {"nobody@nowhere.example.org": "550 5.1.1 no such user here"}
    report = drain(make_sender(world, port, connections=1))
    assert (report.sent, report.failed) == (2, 1)
    bad = rows(world)[ids[1]]
    assert bad["status"] == "failed"
    assert "550 5.1.1 no such user here" in bad["last_error"]
    assert len(handler.messages) == 2


def test_data_5xx_is_permanent(world: Any, smtp: Any) -> None:
    handler, port = smtp
    (row_id,) = queue(world, 1)
    handler.data_replies = ["554 5.7.1 message rejected as spam"]
    assert drain(make_sender(world, port)).failed == 1
    assert "554 5.7.1" in rows(world)[row_id]["last_error"]


def test_partly_refused_recipient_list_is_failed(world: Any) -> None:
    """aiosmtplib returns partial refusals in a dict instead of raising."""
    (row_id,) = queue(world, 1)
    sender = make_sender(world, free_port())

    class Client:
        is_connected = True

        async def send_message(self, *a: Any, **k: Any) -> Any:
            refused = {"x@example.org": aiosmtplib.SMTPResponse(550, "5.1.1 unknown")}
            return refused, "250 ok"

    async def run() -> Any:
        conn = _Connection(sender.settings)
        conn.client = Client()  # type: ignore[assignment]
        (row,) = [r for r in await asyncio.to_thread(_claim, sender)]
        outcome, stop = await sender._send_one(conn, row, _msg(), _report())
        return outcome, stop

    outcome, stop = asyncio.run(run())
    assert outcome.row_id == row_id and outcome.status == "failed" and stop is None
    assert "x@example.org: 550 5.1.1 unknown" in outcome.error


def test_server_hangs_up_mid_data_retried_not_lost(world: Any) -> None:
    (row_id,) = queue(world, 1)
    server = DroppingServer(drops=1)

    async def scenario() -> tuple[Any, Any]:
        srv = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        sender = make_sender(world, port)
        try:
            first = await sender.drain()
            world.clock.advance(timedelta(minutes=2))
            second = await sender.drain()
        finally:
            srv.close()
            await srv.wait_closed()
        return first, second

    first, second = asyncio.run(scenario())
    assert (first.sent, first.retry) == (0, 1)
    assert (second.sent, second.retry) == (1, 0)
    r = rows(world)[row_id]
    assert (r["status"], r["attempts"]) == ("sent", 2)
    assert [m["Message-ID"] for m in server.received] == [f"<regie-outbox-{row_id}@regie.test>"]


def test_no_server_stays_queued_then_sent_when_up(world: Any) -> None:
    ids = queue(world, 3)
    port = free_port()
    sender = make_sender(world, port, connections=2)
    report = drain(sender)
    assert (report.sent, report.retry) == (0, 3)
    for r in rows(world).values():
        assert r["status"] == "queued" and "cannot connect" in r["last_error"]
    handler = MailSink()
    with running(handler, port=port):
        assert drain(sender).sent == 0  # backoff: not due yet
        world.clock.advance(timedelta(minutes=5))
        assert drain(sender).sent == 3
    assert sorted(m.message_id for m in handler.messages) == sorted(
        f"<regie-outbox-{i}@regie.test>" for i in ids
    )


def test_gives_up_after_max_attempts(world: Any) -> None:
    (row_id,) = queue(world, 1)
    sender = make_sender(world, free_port(), max_attempts=3)
    for _ in range(3):
        drain(sender)
        world.clock.advance(timedelta(hours=2))
    r = rows(world)[row_id]
    assert (r["status"], r["attempts"]) == ("failed", 3)
    assert r["last_error"].startswith("gave up after 3 attempts: cannot connect")


class SimulatedCrash(BaseException):
    """The process dies: nothing after this point runs (no marking)."""


def _crash_after(n: int) -> Any:
    count = [0]

    def hook(row: Any) -> None:
        count[0] += 1
        if count[0] == n:
            raise SimulatedCrash(row.id)

    return hook


def _crash(sender: Any) -> None:
    try:
        drain(sender)
    except SimulatedCrash:
        return
    raise AssertionError("the sender did not crash")


def test_crash_between_send_and_mark_resends_at_most_once(world: Any, smtp: Any) -> None:
    handler, port = smtp
    ids = queue(world, 6)
    _crash(make_sender(world, port, connections=1, batch_size=6, after_send=_crash_after(3)))
    assert len(handler.messages) == 3
    assert {r["status"] for r in rows(world).values()} == {"sending"}
    sender = make_sender(world, port, connections=1, batch_size=6, lease_seconds=600)
    assert drain(sender).sent == 0  # the lease still holds
    world.clock.advance(timedelta(seconds=601))
    assert drain(sender).sent == 6
    copies = Counter(handler.ids())
    assert set(copies) == {f"<regie-outbox-{i}@regie.test>" for i in ids}
    assert max(copies.values()) == 2 and sum(copies.values()) == 9  # 3 resent, once each
    assert {r["status"] for r in rows(world).values()} == {"sent"}


def test_second_crash_fails_the_row_instead_of_a_third_copy(world: Any, smtp: Any) -> None:
    handler, port = smtp
    (row_id,) = queue(world, 1)
    _crash(make_sender(world, port, after_send=_crash_after(1)))
    world.clock.advance(timedelta(seconds=601))
    _crash(make_sender(world, port, after_send=_crash_after(1)))
    world.clock.advance(timedelta(seconds=601))
    assert drain(make_sender(world, port)).sent == 0
    r = rows(world)[row_id]
    assert (r["status"], r["last_error"]) == ("failed", STUCK_TWICE)
    assert Counter(handler.ids()) == {f"<regie-outbox-{row_id}@regie.test>": 2}


def test_render_error_fails_only_that_row(world: Any, smtp: Any) -> None:
    from mailtest import plain_render

    handler, port = smtp
    ids = queue(world, 3)

    def render(tx: Any, row: Any, *, sender_address: str) -> Any:
        if row.id == ids[1]:
            raise KeyError("missing_field")
        return plain_render(tx, row, sender_address=sender_address)

    report = drain(make_sender(world, port, render=render))
    assert (report.sent, report.failed) == (2, 1)
    assert "could not render" in rows(world)[ids[1]]["last_error"]


# -- small helpers for the stub test ----------------------------------------------------


def _claim(sender: Any) -> Any:
    from regie.notifications import outbox

    return outbox.claim(sender.db, now=sender.now(), limit=1, lease=timedelta(minutes=10),
                        domain="regie.test")  # fmt: skip


def _msg() -> Any:
    from email.message import EmailMessage

    m = EmailMessage()
    m["Subject"] = "x"
    m.set_content("x")
    return m


def _report() -> Any:
    from regie.notifications.sender import SendReport

    return SendReport()
