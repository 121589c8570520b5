"""The daily digest: notices for people with ``digest = true`` go out once a day, bundled."""

from __future__ import annotations

import email
import email.policy
import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from mailtest import drain, make_sender, plain_render

from regie.clock import AMSTERDAM
from regie.engine.storage import Tx
from regie.notifications import outbox
from regie.notifications.render import render_notice
from regie.notifications.types import Notice, OutboxRow
from regie.scheduler import digest
from regie.scheduler.sweep import sweep


def notify(world: Any, person: Any, kind: str, proposal_id: str, title: str) -> None:
    """One notice for ``person`` now, through the outbox API (event: the config load)."""
    context = {"title": title, "region": "FoodValley", "recipient_name": person.name}
    notice = Notice(kind, person.id, person.email, person.language, proposal_id, None, context)
    with world.db.transaction() as session:
        tx = Tx(session)
        event_id = int(tx.scalar("SELECT MIN(id) FROM audit_event"))
        at = world.clock.now().replace(tzinfo=None)
        outbox.insert_notices(tx, event_id, at, [notice])
        session.commit()


ONLY = {"digest": digest.RULE}


def render(tx: Tx, row: OutboxRow, *, sender_address: str) -> EmailMessage:
    """The real templates for the digest; single notices need no full event context."""
    if row.kind == "digest":
        return render_notice(tx, row, sender_address=sender_address)
    return plain_render(tx, row, sender_address=sender_address)


def statuses(world: Any, person_id: str) -> list[tuple[str, str]]:
    found = world.sql(
        "SELECT kind, status FROM outbox WHERE person_id = ? ORDER BY id", (person_id,)
    )
    return [(r[0], r[1]) for r in found]


def test_digest_person_gets_one_mail_a_day(world: Any, smtp: Any) -> None:
    handler, port = smtp
    fan = next(p for p in world.region.people if p.digest)
    single = next(p for p in world.region.people if not p.digest)
    notify(world, fan, "submitted", "P-2026-001", "Dashboard jeugd")
    notify(world, fan, "placed", "P-2026-002", "Taalcoaches")
    notify(world, single, "submitted", "P-2026-001", "Dashboard jeugd")
    sender = make_sender(world, port, render=render)

    report = drain(sender)  # the same day: only the single notice goes
    assert report.sent == 1
    assert [m.rcpt_tos for m in handler.messages] == [(single.email,)]
    assert statuses(world, fan.id) == [("submitted", "digest"), ("placed", "digest")]

    world.clock.set(datetime(2026, 11, 24, 7, tzinfo=AMSTERDAM))  # the next morning
    notify(world, fan, "returned", "P-2026-003", "Vandaag")  # today's: tomorrow's digest
    assert drain(sender).sent == 0  # the scheduler bundles the digests at 08:00
    world.clock.set(datetime(2026, 11, 24, 8, tzinfo=AMSTERDAM))
    assert [d.item for d in sweep(world.db, world.clock, ONLY).fired] == ["digest:2026-11-24"]
    assert drain(sender).sent == 1
    assert len(handler.messages) == 2
    mail = handler.messages[1]
    assert mail.rcpt_tos == (fan.email,)
    msg = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert msg["X-Regie-Notice"] == "digest"
    expected = {"nl": "Dagoverzicht regie, 24 november 2026",
                "en": "regie daily digest, 24 November 2026"}  # fmt: skip
    assert msg["Subject"] == expected[fan.language]
    body = msg.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "P-2026-001 Dashboard jeugd" in text and "P-2026-002 Taalcoaches" in text
    assert "P-2026-003" not in text

    digest_id = world.sql("SELECT id FROM outbox WHERE kind = 'digest'")[0][0]
    included = world.sql(
        "SELECT proposal_id FROM outbox WHERE status = 'digested' AND digest_id = ? ORDER BY id",
        (digest_id,),
    )
    assert [r[0] for r in included] == ["P-2026-001", "P-2026-002"]
    assert statuses(world, fan.id)[-2:] == [("returned", "digest"), ("digest", "sent")]

    world.clock.advance(timedelta(hours=10))  # later the same day: nothing more
    assert sweep(world.db, world.clock, ONLY).count == 0
    assert drain(sender).sent == 0
    assert outbox.build_digests(world.db, now=world.clock.now()) == 0
    assert len(handler.messages) == 2
    assert world.sql("SELECT COUNT(*) FROM outbox WHERE kind = 'digest'")[0][0] == 1


def test_without_the_scheduler_digest_rule_the_sender_bundles(world: Any, smtp: Any) -> None:
    """A region that switched the rule off (``[scheduler] off = ["digest"]``) gets its
    digests from the sender's first drain of the day, as before the scheduler."""
    handler, port = smtp
    fan = next(p for p in world.region.people if p.digest)
    notify(world, fan, "submitted", "P-2026-001", "Dashboard jeugd")
    sender = make_sender(world, port, render=render)
    world.clock.set(datetime(2026, 11, 24, 7, tzinfo=AMSTERDAM))
    assert drain(sender).sent == 0
    with closing(sqlite3.connect(world.path)) as conn, conn:
        conn.execute("UPDATE region_setting SET value = ? WHERE key = 'scheduler'",
                     (json.dumps({"off": ["digest"]}),))  # fmt: skip
    assert drain(sender).sent == 1
    assert [m.rcpt_tos for m in handler.messages] == [(fan.email,)]


def test_digest_day_follows_amsterdam_midnight(world: Any) -> None:
    fan = next(p for p in world.region.people if p.digest)
    world.clock.set(datetime(2026, 11, 23, 23, 30, tzinfo=AMSTERDAM))  # 22:30 UTC
    notify(world, fan, "submitted", "P-2026-001", "Laat")
    # 23:45 UTC is already the next day in Amsterdam: yesterday's notice is bundled
    assert outbox.build_digests(world.db, now=datetime(2026, 11, 23, 23, 45)) == 1
    assert outbox.build_digests(world.db, now=datetime(2026, 11, 23, 23, 50)) == 0
