"""The sender's claims on the real PostgreSQL server (127.0.0.1:5432, trust auth): one
attempt per claim, DATA noted before it goes out, an expired claim without DATA taken up
as untried, and two connections that never send one row twice."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mailtest import FROM, plain_render

from regie.clock import AMSTERDAM, FixedClock, to_utc_naive
from regie.engine.setup import init_database
from regie.engine.storage import Database, Tx
from regie.notifications import outbox
from regie.notifications.sender import Sender
from regie.notifications.sink import MailSink, running
from regie.notifications.smtp_settings import SmtpSettings
from regie.notifications.types import Notice
from regie.region import Region
from regie.workflows.definition import builtin_workflows

pytestmark = pytest.mark.postgres
START = datetime(2026, 11, 23, 10, tzinfo=AMSTERDAM)


@pytest.fixture()
def pg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, region: Region, pg_scratch: Any
) -> Iterator[Database]:
    monkeypatch.setenv("REGIE_KEY_FILE", str(tmp_path / "regie.key"))
    monkeypatch.delenv("REGIE_SECRET", raising=False)
    with pg_scratch("regie_test") as url:
        db = Database(url)
        try:
            init_database(db=db, clock=FixedClock(START), region=region,
                          workflows=builtin_workflows())  # fmt: skip
            yield db
        finally:
            db.dispose()


def _queue(db: Database, region: Region, n: int) -> None:
    person = next(p for p in region.people if not p.digest)
    notices = [Notice("submitted", person.id, person.email, "nl", context={"i": i})
               for i in range(n)]  # fmt: skip
    with db.transaction() as session:
        tx = Tx(session)
        event_id = int(tx.scalar("SELECT MIN(id) FROM audit_event"))
        outbox.insert_notices(tx, event_id, to_utc_naive(START) - timedelta(hours=1), notices)
        session.commit()


def test_claims_and_data_marks_on_postgres(pg: Database, region: Region) -> None:
    _queue(pg, region, 2)
    now, lease = to_utc_naive(START), timedelta(minutes=10)
    first = outbox.claim(pg, now=now, lease=lease, domain="pg.test")
    second = outbox.claim(pg, now=now, lease=lease, domain="pg.test")
    assert first and second and first.row.id != second.row.id
    assert outbox.claim(pg, now=now, lease=lease, domain="pg.test") is None
    assert outbox.data_started(pg, first, now=now, lease=lease)
    later = now + lease
    again = [outbox.claim(pg, now=later, lease=lease, domain="pg.test") for _ in range(2)]
    by_row = {a.row.id: a for a in again if a}
    assert by_row[first.row.id].recovered == 1 and by_row[first.row.id].row.attempts == 2
    assert by_row[second.row.id].recovered == 0 and by_row[second.row.id].row.attempts == 1
    ended = outbox.Outcome(second.row.id, "release", "refused", attempt=by_row[second.row.id].id)
    outbox.finish(pg, [ended], now=later)
    with pg.transaction(write=False) as session:
        status = Tx(session).one("SELECT status, attempts FROM outbox WHERE id = ?",
                                 (second.row.id,))  # fmt: skip
    assert status == ("queued", 0)


def test_two_connections_drain_on_postgres(pg: Database, region: Region) -> None:
    _queue(pg, region, 40)
    handler = MailSink()
    with running(handler) as port:
        settings = SmtpSettings(host="127.0.0.1", port=port, from_address=FROM, timeout=5,
                                connections=3)  # fmt: skip
        sender = Sender(pg, settings, FixedClock(START), render=plain_render,
                        rng=random.Random(1))  # fmt: skip
        report = asyncio.run(sender.drain())
    assert (report.sent, report.failed, report.waiting) == (40, 0, 0)
    copies = Counter(m.message_id for m in handler.messages)
    assert len(copies) == 40 and set(copies.values()) == {1}
