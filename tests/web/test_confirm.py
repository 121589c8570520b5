"""Confirming a decision through the link in the chair's mail, against the real app
(TestClient) on a real SQLite file: pages never change anything, only the form does, and
once; links that can no longer be used say why."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from confirmtest import (
    TestClient,
    app_for,
    cover,
    csrf_of,
    decided,
    forged_form,
    key_of,
    link_row,
    path_of,
    post,
    state_of,
)

from regie.engine import decisions
from regie.engine.storage import Tx
from regie.web import confirm, csrf, links, uses


def test_get_and_head_show_the_decision_and_change_nothing(world: Any) -> None:
    pid = decided(world)
    path = path_of(world, link_row(world, pid))
    before = state_of(world, pid)
    with TestClient(app_for(world)) as client:
        shown = client.get(path)
        head = client.head(path)
        again = client.get(path)
    assert state_of(world, pid) == before
    assert (shown.status_code, head.status_code, again.status_code) == (200, 200, 200)
    page = shown.text
    assert f"{pid} Dashboard jeugd" in page and "Besluit bevestigen" in page
    assert "Vastgesteld, met &lt;b&gt;opmaak&lt;/b&gt;." in page  # escaped
    assert "<dt>Versie</dt><dd>1" in page
    for party in world.show(pid)["parties"]:  # who spoke for each concerned party
        name = world.sql("SELECT name FROM person WHERE id = ?",
                         (world.mandated(party, world.body_id("oogo")),))[0][0]  # fmt: skip
        assert f"{name}: aanwezig" in page
    assert 'name="action" value="confirm"' in page and 'name="action" value="correct"' in page
    assert shown.headers["cache-control"] == "no-store"
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert csrf.COOKIE in shown.cookies or csrf.COOKIE in client.cookies


def test_confirm_once_then_the_link_says_who_confirmed(world: Any) -> None:
    pid = decided(world)
    chair = world.chair("oogo")
    path = path_of(world, link_row(world, pid))
    with TestClient(app_for(world)) as client:
        token = csrf_of(client.get(path).text)
        done = client.post(path, data={csrf.FIELD: token, "action": "confirm"})
        assert done.status_code == 200 and "Dank u." in done.text
        assert "Besluit bevestigd" in done.text
        after = state_of(world, pid)
        replay = client.post(path, data={csrf.FIELD: token, "action": "confirm"})
        later = client.get(path)
    assert world.show(pid)["state"] == "decided"
    assert world.audit_count("confirmed") == 1
    assert world.sql("SELECT confirmed_by FROM decision WHERE proposal_id = ?", (pid,)) == [
        (chair,)
    ]
    assert [r[2:] for r in after["link_use"]] == [(chair, "confirmed")]
    assert replay.status_code == 409 and "bevestigd op" in replay.text
    assert "Dank u." not in replay.text
    assert later.status_code == 200 and "bevestigd op" in later.text
    assert state_of(world, pid) == after  # the replay changed nothing


def test_forged_and_altered_tokens_get_a_plain_400(world: Any) -> None:
    pid = decided(world)
    row = link_row(world, pid)
    good = path_of(world, row)
    before = state_of(world, pid)
    altered = good[:-1] + ("A" if good[-1] != "A" else "B")
    other_row = f"/l/{row + 1}.{good.rsplit('.', 1)[1]}"  # a MAC of another row
    with TestClient(app_for(world)) as client:
        for path in (altered, other_row, "/l/12.short", "/l/abc"):
            got = client.get(path)
            assert got.status_code in (400, 404), path
            assert "Traceback" not in got.text and "<h1>" in got.text
        assert client.get(altered).status_code == 400
        assert "not valid" in client.get(altered).text
        assert client.post(altered, data={"action": "confirm"}).status_code == 400
        unknown = client.get(path_of(world, 999_999))
    assert unknown.status_code == 404
    assert state_of(world, pid) == before


def test_expired_link_says_when_and_whom_to_ask(world: Any) -> None:
    pid = decided(world)
    path = path_of(world, link_row(world, pid))
    with TestClient(app_for(world)) as client:
        token = csrf_of(client.get(path).text)
        before = state_of(world, pid)
        world.clock.set(world.clock.now() + timedelta(days=links.DEFAULT_LINK_DAYS, minutes=1))
        shown = client.get(path)
        refused = client.post(path, data={csrf.FIELD: token, "action": "confirm"})
    assert shown.status_code == 410 and "verlopen op" in shown.text
    assert "vraag de netwerkregisseur" in shown.text
    assert refused.status_code == 410 and "verlopen op" in refused.text
    assert state_of(world, pid) == before


def test_amendment_replaces_the_link(world: Any) -> None:
    pid = decided(world)
    chair = world.chair("oogo")
    old = path_of(world, link_row(world, pid))
    with TestClient(app_for(world)) as client:
        token = csrf_of(client.get(old).text)
        world.call(decisions.confirm, actor=chair, proposal_id=pid, amend_text="Nieuwe tekst.")
        before = state_of(world, pid)
        replaced = client.get(old)
        refused = client.post(old, data={csrf.FIELD: token, "action": "confirm"})
    assert replaced.status_code == 410 and "vervangen door een nieuwere" in replaced.text
    assert "versie 2 wacht op bevestiging" in replaced.text
    assert refused.status_code == 410 and "vervangen door een nieuwere" in refused.text
    assert state_of(world, pid) == before


def test_a_decision_recorded_again_mails_a_new_link_and_the_old_one_is_replaced(
    world: Any,
) -> None:
    """The coordinator retracts the decision (after a correction request) and records it
    again: the chair's new mail carries a link for version 2; the old one is replaced."""
    pid = decided(world)
    chair = world.chair("oogo")
    old_row = link_row(world, pid)
    with TestClient(app_for(world)) as client:
        post(client, path_of(world, old_row), action="correct", comment="Ede ontbreekt.")
        world.call(decisions.retract, proposal_id=pid, reason="tekst klopte niet")
        world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Met Ede.")
        new_row = link_row(world, pid)
        assert new_row != old_row
        replaced = client.get(path_of(world, old_row))
        fresh = client.get(path_of(world, new_row))
        done = post(client, path_of(world, new_row), action="confirm")
    assert replaced.status_code == 410 and "vervangen door een nieuwere" in replaced.text
    assert fresh.status_code == 200 and "Met Ede." in fresh.text
    assert done.status_code == 200 and "Versie 2 van het besluit" in done.text
    assert world.sql(
        "SELECT version, confirmed_by FROM decision WHERE proposal_id = ? ORDER BY version",
        (pid,),
    ) == [(1, None), (2, chair)]


def test_link_of_someone_else_than_the_chair_shows_but_never_confirms(world: Any) -> None:
    pid = decided(world)
    world.call(decisions.confirm, actor=world.chair("oogo"), proposal_id=pid, amend_text="B.")
    # the coordinator gets the amended text too; their link is not one to confirm with
    path = path_of(world, link_row(world, pid, "decision_amended", world.coordinator))
    before = state_of(world, pid)
    with TestClient(app_for(world)) as client:
        shown = client.get(path)
        token = forged_form(world, client, path)
        refused = client.post(path, data={csrf.FIELD: token, "action": "confirm"})
    assert shown.status_code == 403 and "Alleen de voorzitter" in shown.text
    assert 'value="confirm"' not in shown.text
    assert refused.status_code == 403
    assert state_of(world, pid) == before


def test_post_without_csrf_is_refused_and_changes_nothing(world: Any) -> None:
    pid = decided(world)
    path = path_of(world, link_row(world, pid))
    before = state_of(world, pid)
    with TestClient(app_for(world)) as client:
        token = csrf_of(client.get(path).text)
        no_field = client.post(path, data={"action": "confirm"})
        wrong = client.post(path, data={csrf.FIELD: "0" * 64, "action": "confirm"})
    with TestClient(app_for(world)) as stranger:  # the form's token, but no cookie
        no_cookie = stranger.post(path, data={csrf.FIELD: token, "action": "confirm"})
    for got in (no_field, wrong, no_cookie):
        assert got.status_code == 403 and "Traceback" not in got.text
    assert state_of(world, pid) == before


def test_correction_request_tells_the_coordinator_and_keeps_the_decision_open(
    world: Any,
) -> None:
    pid = decided(world)
    path = path_of(world, link_row(world, pid))
    with TestClient(app_for(world)) as client:
        empty = post(client, path, action="correct", comment="  ")
        assert empty.status_code == 400 and world.audit_count("correction_requested") == 0
        asked = post(client, path, action="correct", comment="Ede ontbreekt in de tekst.")
        token = csrf_of(asked.text)
        again = client.post(path, data={csrf.FIELD: token, "action": "correct", "comment": "Nog"})
        shown = client.get(path)
        assert world.show(pid)["state"] == "awaiting_confirmation"
        confirmed = post(client, path, action="confirm")  # the text was right after all
    assert asked.status_code == 200 and "Uw verzoek is naar de netwerkregisseur" in asked.text
    events = world.sql(
        "SELECT actor, payload FROM audit_event WHERE action = 'correction_requested'"
    )
    assert len(events) == 1 and events[0][0] == world.chair("oogo")
    assert "Ede ontbreekt in de tekst." in events[0][1]
    notices = world.sql(
        "SELECT person_id FROM outbox WHERE kind = 'correction_requested' AND proposal_id = ?",
        (pid,),
    )
    assert notices == [(world.coordinator,)]
    assert again.status_code == 409 and world.audit_count("correction_requested") == 1
    assert shown.status_code == 200 and "om een correctie" in shown.text
    assert 'value="correct"' not in shown.text and 'value="confirm"' in shown.text
    assert confirmed.status_code == 200 and world.show(pid)["state"] == "decided"


def test_english_page_for_an_english_speaking_chair(world: Any) -> None:
    pid = decided(world)
    row = link_row(world, pid)
    with closing(sqlite3.connect(world.path)) as conn, conn:  # the row's language decides
        conn.execute("UPDATE outbox SET language = 'en' WHERE id = ?", (row,))
    with TestClient(app_for(world)) as client:
        shown = client.get(path_of(world, row))
    assert "Confirm the decision" in shown.text and "Who spoke for which party" in shown.text
    assert ": present" in shown.text


def test_a_second_use_fails_inside_its_transaction_and_changes_nothing(world: Any) -> None:
    """Past the page's own check (two requests at once): the link_use row refuses the
    second use, and the whole transaction, its change too, is rolled back."""
    pid = decided(world)
    row = link_row(world, pid)
    request = SimpleNamespace(app=app_for(world))
    with world.db.transaction(write=False) as session:
        link = links.open_link(Tx(session), key_of(world), links.token_for(key_of(world), row))
    confirm._act(request, link, "confirm", "")  # type: ignore[arg-type]
    before = state_of(world, pid)
    for action in ("confirm", "correct"):
        with pytest.raises(Exception) as refused:
            confirm._act(request, link, action, "te laat")  # type: ignore[arg-type]
        assert uses.is_second_use(refused.value)
    assert state_of(world, pid) == before


def test_the_page_of_a_decision_that_reopens_an_earlier_one_names_it(world: Any) -> None:
    """The chair confirming a revisit sees which decision it reopens, and why (escaped)."""
    earlier = decided(world)
    world.call(decisions.confirm, proposal_id=earlier, actor=world.chair("oogo"), version=1)
    pid = world.submit("adoption", title="Dashboard jeugd, tweede versie", revisits=earlier,
                       reason="nieuwe <cijfers>")  # fmt: skip
    world.to_final(pid)
    cover(world, pid)
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Opnieuw vastgesteld.")
    with TestClient(app_for(world)) as client:
        page = client.get(path_of(world, link_row(world, pid))).text
        plain = client.get(path_of(world, link_row(world, earlier))).text
    assert (f"<dt>Heropent besluit</dt><dd>{earlier} Dashboard jeugd "
            "(nieuwe &lt;cijfers&gt;)</dd>") in page  # fmt: skip
    assert "Heropent" not in plain
