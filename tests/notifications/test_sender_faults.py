"""The sender against real SMTP servers on loopback: delivery, retries, refusals, crashes."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import aiosmtplib
import pytest
from mailtest import LineServer, drain, make_sender, mids, queue, rows, serving

from regie.notifications import outbox
from regie.notifications.outbox import MAY_HAVE_ARRIVED, STUCK_TWICE
from regie.notifications.sender import SendReport
from regie.notifications.sink import MailSink, free_port, running
from regie.notifications.smtp_client import Connection


def test_happy_path_one_connection_carries_all(world: Any, smtp: Any) -> None:
    handler, port = smtp
    ids = queue(world, 30)
    report = drain(make_sender(world, port, connections=1))
    assert (report.sent, report.retry, report.failed, report.waiting) == (30, 0, 0, 0)
    assert handler.connections == 1
    assert sorted(handler.ids()) == sorted(mids(world, ids))
    (installation,) = world.sql("SELECT value FROM region_setting WHERE key = 'installation_id'")
    pattern = rf"<regie-outbox-(\d+)\.[0-9a-f]{{8}}\.{installation[0][1:-1]}@regie\.test>"
    for row_id, mid in zip(ids, mids(world, ids), strict=True):
        match = re.fullmatch(pattern, mid)
        assert match and int(match.group(1)) == row_id, mid
    stored = rows(world)
    assert {r["status"] for r in stored.values()} == {"sent"}
    assert all(r["sent_at"] and r["attempts"] == 1 for r in stored.values())
    assert [m.rcpt_tos for m in handler.messages[:1]] == [(stored[ids[0]]["email"],)]


def test_parallel_connections(world: Any, smtp: Any) -> None:
    handler, port = smtp
    queue(world, 40)
    report = drain(make_sender(world, port, connections=3))
    assert report.sent == 40 and len(set(handler.ids())) == 40
    assert 1 <= handler.connections <= 3


def test_limit_sends_at_most_n(world: Any, smtp: Any) -> None:
    handler, port = smtp
    queue(world, 12)
    assert drain(make_sender(world, port), limit=7).sent == 7
    assert len(handler.messages) == 7
    stored = rows(world).values()
    assert Counter(r["status"] for r in stored) == {"sent": 7, "queued": 5}
    assert [r["message_id"] for r in stored if r["status"] == "queued"] == [None] * 5


def test_4xx_then_accepted_after_backoff(world: Any, smtp: Any) -> None:
    handler, port = smtp
    (row_id,) = queue(world, 1)
    handler.data_replies = ["451 4.3.0 mailbox busy, try later"]
    sender = make_sender(world, port)
    assert drain(sender).retry == 1
    r = rows(world)[row_id]
    assert (r["status"], r["attempts"], r["recovered"]) == ("queued", 1, 0)
    assert "451" in r["last_error"] and "may have been delivered" not in r["last_error"]
    now = world.clock.now().replace(tzinfo=None)
    due = r["next_attempt_at"]
    assert str(now + timedelta(seconds=30)) <= due <= str(now + timedelta(seconds=60))
    assert drain(sender).sent == 0  # not due yet: the clock did not move
    world.clock.advance(timedelta(minutes=2))
    assert drain(sender).sent == 1
    r = rows(world)[row_id]
    assert (r["status"], r["attempts"], r["last_error"]) == ("sent", 2, None)
    assert handler.ids() == [r["message_id"]]


def test_recipient_refused_5xx_fails_with_reply_others_go(world: Any, smtp: Any) -> None:
    handler, port = smtp
    ids = queue(world, 3, email_of={1: "nobody@nowhere.example.org"})
    handler.rcpt_replies = {"nobody@nowhere.example.org": "550 5.1.1 no such user here"}
    report = drain(make_sender(world, port, connections=1))
    assert (report.sent, report.failed) == (2, 1)
    bad = rows(world)[ids[1]]
    assert bad["status"] == "failed" and bad["data_started_at"] is None  # refused at RCPT
    assert "550 5.1.1 no such user here" in bad["last_error"]
    assert len(handler.messages) == 2


def test_data_5xx_is_permanent(world: Any, smtp: Any) -> None:
    handler, port = smtp
    (row_id,) = queue(world, 1)
    handler.data_replies = ["554 5.7.1 message rejected as spam"]
    assert drain(make_sender(world, port)).failed == 1
    r = rows(world)[row_id]
    assert r["status"] == "failed" and "554 5.7.1" in r["last_error"]
    assert r["data_started_at"] is not None  # DATA had started, and the server said no


def test_partly_refused_recipient_list_is_failed(world: Any) -> None:
    """aiosmtplib returns partial refusals in a dict instead of raising."""
    (row_id,) = queue(world, 1)
    sender = make_sender(world, free_port())

    class Client:
        is_connected = True
        before_data = None

        async def send_message(self, *a: Any, **k: Any) -> Any:
            refused = {"x@example.org": aiosmtplib.SMTPResponse(550, "5.1.1 unknown")}
            return refused, "250 ok"

    async def run() -> Any:
        conn = Connection(sender.settings)
        conn.client = Client()  # type: ignore[assignment]
        attempt = await asyncio.to_thread(_claim, sender)
        return await sender._attempt(conn, attempt, SendReport())

    outcome = asyncio.run(run())
    assert outcome.row_id == row_id and outcome.status == "failed"
    assert "x@example.org: 550 5.1.1 unknown" in outcome.error


def test_hang_up_in_data_may_have_arrived_sent_once_more(world: Any) -> None:
    """DATA started, then the connection was lost: that row (only) may have been
    delivered; it is sent once more, with the same Message-ID."""
    ids = queue(world, 3)
    server = LineServer(hang_up={"DATA": {2}})
    with serving(server) as port:
        sender = make_sender(world, port, connections=1)
        first = drain(sender)
        after_first = rows(world)
        world.clock.advance(timedelta(minutes=2))
        second = drain(sender)
    assert (first.sent, first.retry, first.failed) == (2, 1, 0)
    dropped = after_first[ids[1]]
    assert (dropped["status"], dropped["recovered"], dropped["attempts"]) == ("queued", 1, 1)
    assert MAY_HAVE_ARRIVED in dropped["last_error"]
    for other in (ids[0], ids[2]):
        assert after_first[other]["status"] == "sent" and after_first[other]["recovered"] == 0
    assert (second.sent, second.retry) == (1, 0)
    r = rows(world)[ids[1]]
    assert (r["status"], r["attempts"]) == ("sent", 2)
    assert sorted(server.ids()) == sorted(mids(world, ids))  # the dropped one arrived later


def test_second_hang_up_in_data_fails_instead_of_a_third_copy(world: Any) -> None:
    (row_id,) = queue(world, 1)
    server = LineServer(hang_up={"DATA": {1, 2}})
    with serving(server) as port:
        sender = make_sender(world, port)
        assert drain(sender).retry == 1
        world.clock.advance(timedelta(minutes=5))
        assert drain(sender).failed == 1
    r = rows(world)[row_id]
    assert (r["status"], r["last_error"]) == ("failed", STUCK_TWICE)
    assert server.seen["DATA"] == 2


def test_hang_up_before_data_is_retried_later_not_may_have_arrived(world: Any) -> None:
    ids = queue(world, 2)
    server = LineServer(hang_up={"RCPT": {1}})
    with serving(server) as port:
        sender = make_sender(world, port, connections=1)
        first = drain(sender)
        after_first = rows(world)
        world.clock.advance(timedelta(minutes=2))
        second = drain(sender)
    assert (first.sent, first.retry) == (1, 1)
    r = after_first[ids[0]]
    assert (r["status"], r["attempts"], r["recovered"], r["data_started_at"]) == (
        "queued", 1, 0, None,
    )  # fmt: skip
    assert "before DATA" in r["last_error"] and "may have been delivered" not in r["last_error"]
    now = str(world.clock.now().replace(tzinfo=None) - timedelta(minutes=2))
    assert r["next_attempt_at"] > now  # later, with backoff
    assert second.sent == 1
    assert {row["status"] for row in rows(world).values()} == {"sent"}


def test_no_server_releases_the_rows_then_sent_when_up(world: Any) -> None:
    ids = queue(world, 5)
    port = free_port()
    sender = make_sender(world, port, connections=2)
    before = rows(world)
    report = drain(sender)
    assert (report.sent, report.retry, report.failed) == (0, 0, 0)
    assert report.unreachable == f"connection refused by 127.0.0.1:{port}"
    assert 1 <= report.released <= 2 and report.waiting == 5  # one try per connection
    after = rows(world)
    for i in ids:
        r = after[i]
        assert (r["status"], r["attempts"], r["recovered"]) == ("queued", 0, 0)
        assert r["next_attempt_at"] == before[i]["next_attempt_at"]  # still due now
        assert r["last_error"] in (None, report.unreachable)
    tried = [i for i in ids if after[i]["last_error"]]
    assert len(tried) == report.released
    handler = MailSink()
    with running(handler, port=port):
        assert drain(sender).sent == 5  # due at once: no backoff for a server that was down
    assert sorted(m.message_id for m in handler.messages) == sorted(mids(world, ids))


def test_gives_up_after_max_attempts(world: Any, smtp: Any) -> None:
    handler, port = smtp
    (row_id,) = queue(world, 1)
    handler.data_replies = ["451 4.3.0 try later"] * 3
    sender = make_sender(world, port, max_attempts=3)
    for _ in range(3):
        drain(sender)
        world.clock.advance(timedelta(hours=2))
    r = rows(world)[row_id]
    assert (r["status"], r["attempts"]) == ("failed", 3)
    assert r["last_error"].startswith("gave up after 3 attempts: deferred by the server: 451")


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


def test_crash_between_send_and_mark_resends_only_that_one(world: Any, smtp: Any) -> None:
    handler, port = smtp
    ids = queue(world, 6)
    _crash(make_sender(world, port, connections=1, after_send=_crash_after(3)))
    assert len(handler.messages) == 3
    statuses = [rows(world)[i]["status"] for i in ids]
    assert statuses == ["sent", "sent", "sending", "queued", "queued", "queued"]  # per attempt
    sender = make_sender(world, port, connections=1, lease_seconds=600)
    assert drain(sender).sent == 3  # the lease of the third still holds
    world.clock.advance(timedelta(seconds=601))
    assert drain(sender).sent == 1
    copies = Counter(handler.ids())
    assert set(copies) == set(mids(world, ids))
    assert [copies[mid] for mid in mids(world, ids)] == [1, 1, 2, 1, 1, 1]
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
    assert Counter(handler.ids()) == {r["message_id"]: 2}


class Bug(Exception):
    """An exception nobody expected (a bug), raised while a row is claimed."""


def test_an_exception_after_data_marks_only_its_row_and_goes_on(world: Any, smtp: Any) -> None:
    handler, port = smtp
    ids = queue(world, 4)

    def hook(row: Any) -> None:
        if row.id == ids[1]:
            raise Bug("after the server accepted it")

    with pytest.raises(Bug):
        drain(make_sender(world, port, connections=1, after_send=hook))
    found = rows(world)
    assert [found[i]["status"] for i in ids] == ["sent", "queued", "queued", "queued"]
    assert (found[ids[1]]["recovered"], found[ids[1]]["attempts"]) == (1, 1)
    assert "may have been delivered" in found[ids[1]]["last_error"]  # DATA had started
    assert [found[i]["attempts"] for i in ids[2:]] == [0, 0]  # never claimed
    assert len(handler.messages) == 2


def test_an_exception_before_data_releases_its_row(
    world: Any, smtp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = smtp
    ids = queue(world, 2)

    def broken(*args: Any, **kwargs: Any) -> bool:
        raise Bug("the DATA mark could not be written")

    monkeypatch.setattr(outbox, "data_started", broken)
    with pytest.raises(Bug):
        drain(make_sender(world, port, connections=1))
    found = rows(world)
    assert [(found[i]["status"], found[i]["attempts"], found[i]["recovered"]) for i in ids] == [
        ("queued", 0, 0), ("queued", 0, 0),
    ]  # fmt: skip
    assert "stopped: Bug" in found[ids[0]]["last_error"] and found[ids[1]]["last_error"] is None
    assert handler.messages == []


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
    assert len(handler.messages) == 2


# -- small helpers for the stub test ----------------------------------------------------


def _claim(sender: Any) -> Any:
    return outbox.claim(sender.db, now=sender.now(), lease=timedelta(minutes=10),
                        domain="regie.test")  # fmt: skip
