"""The read-only portal: the [web] config, sign-in links by mail, the session cookie and
the pages (real SQLite database, the real app through TestClient)."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.exceptions import StarletteDeprecationWarning

from regie.engine import agenda, attendance, decisions, keys
from regie.engine.storage import Database, Tx
from regie.errors import ConfigError
from regie.region import parse_region
from regie.region_types import DEFAULT_LINK_DAYS
from regie.web import links, session
from regie.web.app import SECURITY_HEADERS, create_app
from regie.web.settings import load_web_settings

with warnings.catch_warnings():  # starlette would rather have httpx2; httpx is installed
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
FOODVALLEY = ROOT / "config" / "foodvalley.toml"
HEUVELLAND = ROOT / "tests" / "data" / "region-heuvelland" / "region.toml"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@pytest.fixture
def key(world: Any) -> keys.Key:
    found = keys.load_key(str(world.path), True)
    assert found is not None
    return found


@pytest.fixture
def client(world: Any, key: keys.Key, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("REGIE_BASE_URL", raising=False)
    with TestClient(create_app(world.db, world.clock, key), follow_redirects=False) as c:
        yield c


def members(world: Any) -> set[str]:
    region = world.region
    found = {p for b in region.bodies for p in (*b.members, b.chair)}
    return found | {region.coordinator}


def person(world: Any, *, member: bool = True, lang: str | None = None) -> Any:
    inside = members(world)
    return next(
        p
        for p in world.region.people
        if (p.id in inside) == member and (lang is None or p.language == lang)
    )


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def ask(client: TestClient, email: str) -> Any:
    form = client.get("/login")
    assert form.status_code == 200
    return client.post("/login", data={"csrf": csrf_of(form.text), "email": email})


def sign_in_rows(world: Any, person_id: str | None = None) -> list[tuple[Any, ...]]:
    where = " AND person_id = ?" if person_id else ""
    return world.sql(
        "SELECT id, person_id, email, language, status FROM outbox WHERE kind = 'sign_in'" + where,
        (person_id,) if person_id else (),
    )


def link_path(world: Any, key: keys.Key, person_id: str) -> str:
    ((row_id, *_rest),) = sign_in_rows(world, person_id)
    return f"/l/{links.token_for(key, row_id)}"


def signed_in(client: TestClient, world: Any, key: keys.Key, who: Any) -> None:
    assert ask(client, who.email).status_code == 200
    path = link_path(world, key, who.id)
    shown = client.get(path)
    response = client.post(path, data={"csrf": csrf_of(shown.text), "action": "sign_in"})
    assert response.status_code == 303 and response.headers["location"] == "/"


# -- the [web] table ----------------------------------------------------------------------


def _parse(web: str) -> Any:
    text = FOODVALLEY.read_text(encoding="utf-8")
    return parse_region(text[: text.index("\n[web]\n")] + "\n" + web, "f.toml")


@pytest.mark.parametrize(
    ("web", "problem"),
    [
        (
            '[web]\nbase_url = "regie.example.org"\n',
            "f.toml: web.base_url: 'regie.example.org' is not a base URL for links (it does "
            "not start with http:// or https://); write the public address where 'regie "
            'serve\' is reached, e.g. "https://regie.foodvalley.example.org"',
        ),
        (
            '[web]\nbase_url = "https://regie:geheim@regie.example.org"\n',
            "f.toml: web.base_url: 'https://regie:geheim@regie.example.org' is not a base URL "
            "for links (it holds a user name or password); write the public address where "
            "'regie serve' is reached, e.g. \"https://regie.foodvalley.example.org\"",
        ),
        (
            "[web]\nlink_days = 0\n",
            "f.toml: web.link_days: 0 is out of range; links in mails work 1 to 90 days, e.g. 14",
        ),
    ],
)
def test_a_wrong_web_table_is_refused_with_what_to_write(web: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(web)
    assert str(caught.value) == problem


def test_the_web_table_is_read_with_its_defaults() -> None:
    assert _parse("").web.model_dump() == {"base_url": None, "link_days": DEFAULT_LINK_DAYS}
    assert DEFAULT_LINK_DAYS == links.DEFAULT_LINK_DAYS
    given = _parse('[web]\nbase_url = "https://example.org/regie/"\nlink_days = 90\n').web
    assert (given.base_url, given.link_days) == ("https://example.org/regie", 90)


def test_init_stores_the_web_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from regie.cli import cli

    monkeypatch.delenv("REGIE_BASE_URL", raising=False)
    db_file = tmp_path / "h.db"
    env = {"REGIE_DB": str(db_file), "REGIE_NOW": "2026-12-01T09:00", "REGIE_USER": None}
    result = CliRunner().invoke(cli, ["init", "--config", str(HEUVELLAND)], env=env)
    assert result.exit_code == 0, result.output
    db = Database(f"sqlite:///{db_file}")
    try:
        with db.transaction(write=False) as s:
            tx = Tx(s)
            stored = tx.scalar("SELECT value FROM region_setting WHERE key = 'web'")
            settings = load_web_settings(tx)
    finally:
        db.dispose()
    assert json.loads(stored) == {
        "base_url": "https://regie.heuvelland.example.org",
        "link_days": 7,
    }
    assert (settings.base_url, settings.link_days) == ("https://regie.heuvelland.example.org", 7)


# -- asking for a sign-in link ------------------------------------------------------------


def test_the_form_does_not_tell_who_is_a_member(world: Any, client: TestClient) -> None:
    member, outsider = person(world), person(world, member=False)
    known = ask(client, member.email.upper())
    stranger = ask(client, outsider.email)
    nobody = ask(client, "niemand@example.org")
    assert known.status_code == stranger.status_code == nobody.status_code == 200
    assert known.text == stranger.text == nobody.text
    assert known.headers.get("set-cookie") == nobody.headers.get("set-cookie")
    assert "If this address is known" in known.text or "Als dit adres bekend is" in known.text
    rows = sign_in_rows(world)
    assert rows == [(rows[0][0], member.id, member.email, member.language, "queued")]


def test_at_most_one_link_per_person_per_five_minutes(world: Any, client: TestClient) -> None:
    member = person(world)
    for _ in range(3):
        ask(client, member.email)
    assert len(sign_in_rows(world, member.id)) == 1
    world.clock.advance(timedelta(minutes=session.RATE_LIMIT_MINUTES, seconds=1))
    ask(client, member.email)
    assert len(sign_in_rows(world, member.id)) == 2


def test_a_request_is_an_audit_event_and_skips_the_digest(world: Any, client: TestClient) -> None:
    """Who asked for access, when, is in the audit trail; a member who reads a daily digest
    gets the link at once (it would have expired by tomorrow)."""
    [digest_reader] = world.sql("SELECT id, email FROM person WHERE digest = ? LIMIT 1", (True,))
    ask(client, digest_reader[1])
    [(event_id, actor)] = world.sql(
        "SELECT id, actor FROM audit_event WHERE action = 'sign_in_requested'"
    )
    assert actor == digest_reader[0]
    rows = world.sql("SELECT event_id, person_id, status FROM outbox WHERE kind = 'sign_in'")
    assert rows == [(event_id, digest_reader[0], "queued")]


def test_the_form_needs_its_csrf_token(world: Any, client: TestClient) -> None:
    response = client.post("/login", data={"email": person(world).email})
    assert response.status_code == 403
    assert sign_in_rows(world) == []


def test_the_sign_in_mail_carries_the_link(world: Any, client: TestClient) -> None:
    from regie.notifications.outbox import ROW_COLUMNS, row_from_tuple
    from regie.notifications.render import render_parts

    member = person(world)
    ask(client, member.email)
    ((row,),) = [world.sql(f"SELECT {ROW_COLUMNS} FROM outbox WHERE kind = 'sign_in'")]
    outbox_row = row_from_tuple(row)
    assert outbox_row.context["recipient_name"] == member.name
    url = "https://regie.foodvalley.example.org/l/1.x"
    subject, text, html = render_parts(
        "sign_in", member.language, {**outbox_row.context, "link_url": url}
    )
    assert url in text and f'href="{url}"' in html and "regie" in subject


# -- the link and the session -------------------------------------------------------------


def test_a_get_of_the_link_signs_nobody_in(world: Any, key: keys.Key, client: TestClient) -> None:
    member = person(world)
    ask(client, member.email)
    path = link_path(world, key, member.id)
    for response in (client.get(path), client.head(path)):
        assert response.status_code == 200
        assert session.COOKIE not in response.headers.get("set-cookie", "")
    assert session.COOKIE not in client.cookies
    assert client.get("/").status_code == 303


def test_a_post_signs_in_with_a_safe_cookie(world: Any, key: keys.Key, client: TestClient) -> None:
    world.submit("adoption", title="Dashboard jeugd en onderwijs")
    member = person(world, lang="en")
    ask(client, member.email)
    path = link_path(world, key, member.id)
    shown = client.get(path)
    assert "one hour" in shown.text
    response = client.post(path, data={"csrf": csrf_of(shown.text), "action": "sign_in"})
    assert (response.status_code, response.headers["location"]) == (303, "/")
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(session.COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http here; over https see below
    assert member.id not in cookie and member.email not in cookie
    home = client.get("/")
    assert home.status_code == 200
    assert "Open proposals" in home.text and "Dashboard jeugd en onderwijs" in home.text
    assert "Coming meetings" in home.text and member.name in home.text
    assert "(1 item)" in home.text  # the proposal's first meeting counts it


def test_over_https_the_cookie_is_secure(world: Any, key: keys.Key) -> None:
    member = person(world)
    app = create_app(world.db, world.clock, key)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        ask(c, member.email)
        path = link_path(world, key, member.id)
        response = c.post(path, data={"csrf": csrf_of(c.get(path).text)})
    assert "Secure" in response.headers["set-cookie"]


def test_without_a_valid_session_the_portal_sends_to_login(
    world: Any, key: keys.Key, client: TestClient
) -> None:
    pid = world.submit("adoption")
    for path in ("/", f"/p/{pid}", "/m/ao-2026-12-08"):
        assert client.get(path).headers["location"] == "/login"
    client.cookies.set(session.COOKIE, "coordinator.forged.signature")
    assert client.get("/").status_code == 303
    signed_in(client, world, key, person(world))
    assert client.get("/").status_code == 200
    world.clock.advance(timedelta(hours=session.SESSION_HOURS, minutes=1))
    response = client.get("/")
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_logout_clears_the_session(world: Any, key: keys.Key, client: TestClient) -> None:
    signed_in(client, world, key, person(world))
    form = client.get("/logout")
    response = client.post("/logout", data={"csrf": csrf_of(form.text)})
    assert response.status_code == 303 and session.COOKIE not in client.cookies
    assert client.get("/").headers["location"] == "/login"


def test_an_expired_sign_in_link_says_so(world: Any, key: keys.Key, client: TestClient) -> None:
    member = person(world, lang="nl")
    ask(client, member.email)
    path = link_path(world, key, member.id)
    token = csrf_of(client.get(path).text)
    world.clock.advance(timedelta(hours=2))
    for response in (client.get(path), client.post(path, data={"csrf": token})):
        assert response.status_code == 410
        assert "Deze inloglink is verlopen" in response.text and "Traceback" not in response.text
        assert session.COOKIE not in response.headers.get("set-cookie", "")


# -- the pages ----------------------------------------------------------------------------


def _decided_with_news(world: Any) -> tuple[str, str]:
    pid = world.submit("adoption", title="Dashboard jeugd en onderwijs", documents=[
        "https://docs.example.org/dashboard.pdf", "javascript:alert(1)"])  # fmt: skip
    meeting = world.to_final(pid)
    for party in world.show(pid)["parties"]:
        world.call(
            attendance.record_attendance,
            meeting_id=meeting,
            person=world.mandated(party, world.body_id("oogo")),
            status="present",
        )
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text="Vastgesteld.")
    world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    world.clock.advance(timedelta(hours=3))
    world.call(agenda.oogo_news, meeting_id=meeting)
    return pid, meeting


def test_proposal_and_meeting_pages(world: Any, key: keys.Key, client: TestClient) -> None:
    pid, meeting = _decided_with_news(world)
    signed_in(client, world, key, person(world, lang="en"))
    page = client.get(f"/p/{pid}")
    assert page.status_code == 200
    text = page.text
    for words in ("Route", "Timeline", "Decisions", "Vastgesteld.", "submitted", "confirmed"):
        assert words in text, words
    assert '<a href="https://docs.example.org/dashboard.pdf" rel="noreferrer noopener">' in text
    assert 'href="javascript:' not in text and "javascript:alert(1)" in text  # shown, no link
    (payload,) = world.sql("SELECT payload FROM audit_event WHERE action = 'oogo_news'")
    anchor = json.loads(payload[0])["anchor"]
    assert re.fullmatch(r"\d+-[0-9a-f]{32}-[0-9a-f]{16}", anchor)
    shown = client.get(f"/m/{meeting}").text
    assert "Agenda" in shown and f"/p/{pid}" in shown
    assert "Published decision list" in shown and f'<code class="anchor">{anchor}</code>' in shown
    assert client.get(f"/p/{pid}").text == text  # read-only: the same page again
    for unknown in ("/p/P-2099-999", "/m/nergens-2099-01-01"):
        missing = client.get(unknown)
        assert missing.status_code == 404 and "Not found" in missing.text


def test_pages_in_the_members_language(world: Any, key: keys.Key, client: TestClient) -> None:
    signed_in(client, world, key, person(world, lang="nl"))
    home = client.get("/").text
    assert "Lopende voorstellen" in home and "Komende vergaderingen" in home


def test_no_personal_data_in_portal_urls_and_headers_everywhere(
    world: Any, key: keys.Key, client: TestClient
) -> None:
    _pid, meeting = _decided_with_news(world)
    who = person(world)
    signed_in(client, world, key, who)
    pages = [client.get(p) for p in ("/", f"/m/{meeting}", "/login", "/logout")]
    hrefs = {h for r in pages for h in re.findall(r'(?:href|action)="([^"]+)"', r.text)}
    private = {p.id for p in world.region.people} | {p.email for p in world.region.people}
    for href in hrefs:
        assert "?" not in href and "@" not in href, href
        assert not any(part in private for part in href.split("/")), href
    for response in pages:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
