"""A notice's stored context: written once per event for the part all recipients share
(issue 15), the text is still exactly json.dumps of the whole context, so mails render
as before."""

from __future__ import annotations

import json
from typing import Any

import pytest

from regie.engine import agenda, audit, decisions
from regie.engine.storage import Tx
from regie.notifications import outbox
from regie.notifications.recipients import _SharedJSON, context_json, event_notices


def _reference(context: dict[str, Any]) -> str:
    return json.dumps(context, ensure_ascii=False, sort_keys=True, default=str)


def test_every_notice_of_a_route_is_stored_as_its_context_dumped(world: Any) -> None:
    pid = world.submit(title='Pilot "integrale" TLV — Zoë')
    world.to_final(pid)
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Vastgesteld.",
               override="agreed by e-mail")  # fmt: skip
    meeting = world.show(pid)["meeting"]
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    world.call(agenda.oogo_news, meeting_id=meeting)
    checked, with_news = 0, 0
    with world.db.transaction() as session:
        tx = Tx(session)
        for _row, event in audit.iter_events(session):
            notices, texts = event_notices(tx, event)
            assert len(texts) == len(notices)
            for notice, text in zip(notices, texts, strict=True):
                assert text == _reference(notice.context) == outbox._dumps(notice.context)
                assert json.loads(text) == json.loads(_reference(notice.context))
                checked += 1
                with_news += "news_body" in notice.context
    assert checked > 30 and with_news > 3  # news mails carry each recipient's body


def test_stored_rows_match_the_notices_of_their_event(world: Any) -> None:
    world.submit(title="Één voorstel")
    stored = world.sql("SELECT event_id, context FROM outbox ORDER BY id")
    assert stored
    with world.db.transaction() as session:
        events = {ev.id: ev for _row, ev in audit.iter_events(session)}
        texts = [t for eid in sorted({r[0] for r in stored})
                 for t in event_notices(Tx(session), events[eid])[1]]  # fmt: skip
    assert [r[1] for r in stored] == texts


@pytest.mark.parametrize(
    "base",
    [
        {},
        {"a": 1, "z": [1, "ü"], "payload": {"x": None}, "region": "R", "s": '\n"q"'},
        {"news": 1, "news_bodz": 2, "recipient": 3, "recipient_namf": 4, "zzz": "é"},
        {"only_after": True, "zz": 1.5},
        {"news_body": "set by the event", "b": 1},  # an own key in the shared part
    ],
)
@pytest.mark.parametrize("news", [None, "LEA Ede", 'quote " ü'])
def test_shared_json_is_the_whole_context_dumped(base: dict[str, Any], news: str | None) -> None:
    shared = _SharedJSON(base)
    for name in ("Anna", 'Zoë "Z" de Vries', ""):
        context = {**base, "recipient_name": name}
        if news:
            context["news_body"] = news
        assert shared.text(name, news) == _reference(context) == context_json(context)
