"""The decision mail carries the confirmation link (rendered as the sender renders it),
and the link in it opens the right page; a digest carries the links of its items; without
the database's key the mail says whom to tell instead."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from confirmtest import TestClient, app_for, decided, link_row

from regie.engine.storage import Tx, as_datetime
from regie.notifications import outbox
from regie.notifications.render import render_notice
from regie.notifications.sender import link_args
from regie.notifications.types import OutboxRow
from regie.web.settings import load_web_settings

SENDER = "regie@foodvalley.example.org"
LINK = re.compile(r"(https?://[^/\s]+)(/l/[0-9]+\.[A-Za-z0-9_-]{22})")


def load_row(world: Any, row_id: int) -> OutboxRow:
    r = world.sql(
        "SELECT id, event_id, kind, person_id, email, language, proposal_id, meeting_id, "
        "context, status, attempts, created_at FROM outbox WHERE id = ?",
        (row_id,),
    )[0]
    created = as_datetime(r[11])
    assert created is not None
    return OutboxRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]),
                     f"<m{r[0]}@x>", r[9], r[10], created)  # fmt: skip


def rendered(world: Any, row: OutboxRow, *, links: bool = True) -> tuple[str, str]:
    with world.db.transaction(write=False) as session:
        args = link_args(world.db, Tx(session), render_notice) if links else {}
        msg = render_notice(Tx(session), row, sender_address=SENDER, **args)
    return _part(msg, "plain"), _part(msg, "html")


def _part(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


def configured_base(world: Any) -> str:
    with world.db.transaction(write=False) as session:
        return load_web_settings(Tx(session)).base_url


def test_decision_mail_carries_a_link_that_opens_its_page(world: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("REGIE_BASE_URL", raising=False)
    pid = decided(world)
    row = load_row(world, link_row(world, pid))
    plain, html = rendered(world, row)
    found = LINK.search(plain)
    assert found, plain
    base, path = found.groups()
    assert base == configured_base(world)
    assert f"Bevestigen of een correctie vragen: {base}{path}" in plain
    expires = (row.created_at + timedelta(days=14)).date()
    assert f"verloopt op {expires.day} " in plain  # the link's expiry date is named
    assert f'href="{base}{path}"' in html
    assert "weten dat u het besluit bevestigt" not in plain  # no "tell the coordinator"
    with TestClient(app_for(world)) as client:
        page = client.get(path)
    assert page.status_code == 200 and pid in page.text and "Besluit bevestigen" in page.text


def test_without_the_key_the_mail_says_whom_to_tell(world: Any) -> None:
    pid = decided(world)
    plain, html = rendered(world, load_row(world, link_row(world, pid)), links=False)
    assert "/l/" not in plain and "/l/" not in html
    assert "weten dat u het besluit bevestigt" in plain


def test_base_url_from_the_environment(world: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("REGIE_BASE_URL", "https://regie.example.org/")
    pid = decided(world)
    plain, _html = rendered(world, load_row(world, link_row(world, pid)))
    found = LINK.search(plain)
    assert found and found.group(1) == "https://regie.example.org"


def test_digest_items_carry_their_own_links(world: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("REGIE_BASE_URL", raising=False)
    pid = decided(world)
    item = link_row(world, pid)
    with closing(sqlite3.connect(world.path)) as conn, conn:  # the chair reads a digest
        conn.execute("UPDATE outbox SET status = 'digest' WHERE id = ?", (item,))
    made = outbox.build_digests(world.db, now=world.clock.now() + timedelta(days=1))
    assert made >= 1
    digest_id = world.sql("SELECT digest_id FROM outbox WHERE id = ?", (item,))[0][0]
    digest = load_row(world, int(digest_id))
    assert [i["outbox_id"] for i in digest.context["items"]] == [item]
    plain, html = rendered(world, digest)
    found = LINK.search(plain)
    assert found and f'href="{found.group(1)}{found.group(2)}"' in html
    with TestClient(app_for(world)) as client:
        page = client.get(found.group(2))
    assert page.status_code == 200 and pid in page.text
    plain, _html = rendered(world, digest, links=False)
    assert "/l/" not in plain and "bij de netwerkregisseur" in plain
