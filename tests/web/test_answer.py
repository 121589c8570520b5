"""Answering an invitation through the personal link (issue 17): the real app on a real
SQLite file (the ``world`` fixture), a TestClient, the engine's own tables and trail.

Ingrid Schouten (Ede) is a member of the OOGO with a mandate for Ede; Bart Lamers is
Ede's registered substitute there, Ellen Post SWV VO's. On the OOGO of 28 January 2027:
P1 concerns Ede and SWV VO, P2 Barneveld and Wageningen (not Ede).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pytest
from click.testing import CliRunner

from regie.cli import cli
from regie.clock import AMSTERDAM
from regie.engine import agenda
from regie.engine.check import check_database
from regie.engine.keys import Key, load_key
from regie.engine.storage import Tx
from regie.notifications.outbox import ROW_COLUMNS, row_from_tuple
from regie.notifications.render import render_notice
from regie.web import links
from regie.web.app import create_app

with warnings.catch_warnings():  # starlette asks for httpx2, which is not packaged here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

MEETING = "oogo-2027-01-28"
INGRID, BART, ELLEN = "ingrid-schouten", "bart-lamers", "ellen-post"
BEFORE = datetime(2027, 1, 14, 12, tzinfo=AMSTERDAM)  # two weeks ahead; the agenda goes out
STARTS = datetime(2027, 1, 28, 19, 30, tzinfo=AMSTERDAM)
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@dataclass
class Invited:
    world: Any
    key: Key
    client: TestClient
    url: str  # Ingrid's link
    p1: str  # concerns Ede
    p2: str  # does not

    def get(self) -> Any:
        return self.client.get(self.url)

    def post(self, **fields: str) -> Any:
        token = _CSRF.search(self.get().text)
        return self.client.post(self.url, data={"csrf": token.group(1) if token else "",
                                                "action": "answer", **fields})  # fmt: skip

    def attendance(self) -> list[tuple[Any, ...]]:
        return self.world.sql(
            "SELECT person_id, party_id, status, substitute_for, recorded_by FROM attendance "
            "ORDER BY person_id"
        )

    def positions(self) -> list[tuple[Any, ...]]:
        return self.world.sql(
            "SELECT proposal_id, party_id, person_id, stance, position FROM prior_position "
            "ORDER BY proposal_id"
        )

    def events(self, n: int) -> list[tuple[Any, ...]]:
        rows = self.world.sql(
            "SELECT at, actor, acting_for, action, proposal_id, meeting_id, payload "
            "FROM audit_event ORDER BY id DESC LIMIT ?",
            (n,),
        )
        return rows[::-1]

    def state(self) -> tuple[Any, ...]:
        """Everything an answer may change."""
        return (self.attendance(), self.positions(), self.world.audit_count(),
                self.world.sql("SELECT COUNT(*) FROM outbox"))  # fmt: skip


def cli_attend(world: Any, *args: str, as_: str = INGRID) -> None:
    env = {"REGIE_DB": None, "REGIE_NOW": world.clock.now().isoformat(), "REGIE_USER": as_,
           "REGIE_LANG": "en"}  # fmt: skip
    result = CliRunner().invoke(cli, ["--db", str(world.path), "attend", MEETING, *args], env=env)
    assert result.exit_code == 0, result.output


@pytest.fixture
def invited(world: Any) -> Invited:
    p1 = world.submit(parties=["ede", "swv-vo"])
    p2 = world.submit(title="Other", parties=["barneveld", "wageningen"])
    while waiting := [p for p in (p1, p2) if world.show(p)["state"] != "oogo"]:
        world.advance(min(waiting, key=lambda p: world.meeting_start(world.show(p)["meeting"])))
    assert {world.show(p)["meeting"] for p in (p1, p2)} == {MEETING}
    world.at(BEFORE)
    world.approve(MEETING)
    world.call(agenda.publish_agenda, meeting_id=MEETING)
    key = load_key(str(world.path), True)
    assert key is not None
    row = world.sql("SELECT id FROM outbox WHERE kind = 'agenda' AND person_id = ?", (INGRID,))
    client = TestClient(create_app(world.db, world.clock, key))
    return Invited(world, key, client, f"/l/{links.token_for(key, row[0][0])}", p1, p2)


def test_the_page_shows_the_meeting_and_get_head_change_nothing(invited: Invited) -> None:
    before = invited.state()
    page = invited.get()
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page.text
    assert "Regionaal bestuurlijk OOGO onderwijs en jeugd" in text
    assert "donderdag 28 januari 2027, van 19.30 tot 21.30 uur" in text
    assert "Stadhuis Veenendaal" in text and "Nog geen antwoord" in text
    assert f"({invited.p1})" in text and f"({invited.p2})" in text  # the whole agenda
    assert 'name="answer" value="present"' in text and 'name="answer" value="absent"' in text
    # substitutes: Ede's in the OOGO only, by name
    assert '<option value="bart-lamers">Bart Lamers</option>' in text
    assert ELLEN not in text and "fleur-de-gooijer" not in text  # SWV VO's; Ede's in the AO
    # prior positions: only on the item that concerns Ede
    assert f'name="stance:{invited.p1}" value="disagree"' in text
    assert f'name="position:{invited.p1}"' in text and f"stance:{invited.p2}" not in text
    assert invited.client.head(invited.url).status_code == 200
    assert invited.state() == before


def test_present_is_what_attend_expected_records(invited: Invited) -> None:
    page = invited.post(answer="present", substitute=BART, **{f"stance:{invited.p1}": "agree"})
    assert page.status_code == 200 and "Uw antwoord is opgeslagen" in page.text
    assert "U komt (verwacht" in page.text
    # with "present", the stand-in and the stance are not used
    assert invited.attendance() == [(INGRID, "ede", "expected", None, INGRID)]
    assert invited.positions() == []
    web = invited.events(1)
    assert web[0][3] == "attendance" and web[0][1:3] == (INGRID, "ede")
    cli_attend(invited.world, INGRID, "--expected")  # the same answer through the CLI
    assert invited.attendance() == [(INGRID, "ede", "expected", None, INGRID)]
    assert invited.events(1) == web
    assert check_database(db=invited.world.db).ok


def test_absent_with_a_stand_in(invited: Invited) -> None:
    page = invited.post(answer="absent", substitute=BART)
    assert page.status_code == 200 and 'id="stand-in">Bart Lamers (verwacht)' in page.text
    assert invited.attendance() == [
        (BART, "ede", "expected", INGRID, INGRID),  # announced by Ingrid, for Ingrid
        (INGRID, "ede", "absent", None, INGRID),
    ]
    events = invited.events(2)
    assert [e[3] for e in events] == ["attendance", "attendance"]
    assert '"status":"absent"' in events[0][6]
    assert f'"person":"{BART}"' in events[1][6] and f'"substitute_for":"{INGRID}"' in events[1][6]
    assert check_database(db=invited.world.db).ok
    # on the day, the stand-in attends as substitute, as `regie attend` records it
    invited.world.at(datetime(2027, 1, 28, 19, 0, tzinfo=AMSTERDAM))
    cli_attend(invited.world, BART, "--substitute-for", INGRID, as_=BART)
    assert (BART, "ede", "substitute", INGRID, BART) in invited.attendance()


def test_absent_with_prior_positions_on_the_partys_items_only(invited: Invited) -> None:
    p1, p2 = invited.p1, invited.p2
    before = invited.state()
    # a stance on an item that does not concern Ede: the whole answer is refused
    page = invited.post(answer="absent", **{f"stance:{p1}": "agree", f"stance:{p2}": "agree"})
    assert page.status_code == 400 and "Er is niets opgeslagen" in page.text
    assert f"{p2} gaat niet over uw partij" in page.text
    assert invited.state() == before
    page = invited.post(answer="absent", **{f"stance:{p1}": "disagree",
                                            f"position:{p1}": "Te duur in 2027"})  # fmt: skip
    assert page.status_code == 200
    assert "Standpunt vooraf van uw partij: oneens – Te duur in 2027" in page.text
    assert invited.positions() == [(p1, "ede", INGRID, "disagree", "Te duur in 2027")]
    web = invited.events(1)
    assert web[0][3:5] == ("prior_position", p1)
    cli_attend(invited.world, INGRID, "--prior-position", p1, "--stance", "disagree",
               "--position", "Te duur in 2027")  # fmt: skip
    assert invited.events(1) == web  # the CLI records the same event


def test_a_stand_in_the_config_does_not_allow_is_refused(invited: Invited) -> None:
    before = invited.state()
    page = invited.post(answer="absent", substitute=ELLEN)  # SWV VO's substitute
    assert page.status_code == 400
    assert f"{ELLEN} mag uw partij niet vervangen" in page.text
    assert invited.state() == before
    page = invited.post(answer="maybe")
    assert page.status_code == 400 and "kies of u komt of niet" in page.text
    page = invited.post(answer="absent", **{f"position:{invited.p1}": "zonder standpunt"})
    assert page.status_code == 400 and f"kies eens, oneens of onthouding bij {invited.p1}" in (
        page.text
    )
    assert invited.state() == before


def test_the_latest_answer_stands(invited: Invited) -> None:
    assert invited.post(answer="absent", substitute=BART).status_code == 200
    events = invited.world.audit_count("attendance")
    page = invited.post(answer="present")
    assert page.status_code == 200 and "stand-in" not in page.text
    # Ingrid comes; the stand-in she named is withdrawn (absent, for her)
    assert invited.attendance() == [
        (BART, "ede", "absent", INGRID, INGRID),
        (INGRID, "ede", "expected", None, INGRID),
    ]
    assert invited.world.audit_count("attendance") == events + 2
    assert 'value="present" checked' in invited.get().text
    assert check_database(db=invited.world.db).ok


def test_after_the_start_the_answer_is_fixed(invited: Invited) -> None:
    assert invited.post(answer="absent").status_code == 200
    token = _CSRF.search(invited.get().text)
    assert token is not None
    invited.world.at(STARTS)
    page = invited.get()
    assert page.status_code == 200 and "<form" not in page.text
    assert "De vergadering is begonnen" in page.text and "U komt niet" in page.text
    before = invited.state()
    page = invited.client.post(invited.url, data={"csrf": token.group(1), "answer": "present"})
    assert page.status_code == 409 and "Vergadering begonnen" in page.text
    assert invited.state() == before


def test_the_link_expires_link_days_after_it_was_sent(invited: Invited) -> None:
    invited.world.at(datetime(2027, 1, 28, 13, 0, tzinfo=AMSTERDAM))  # 14 days + 1 hour
    page = invited.get()
    assert page.status_code == 410 and "Link verlopen" in page.text


def test_a_forged_token_is_400(invited: Invited) -> None:
    row, mac = invited.url.removeprefix("/l/").split(".")
    forged = f"/l/{int(row) + 1}.{mac}"
    before = invited.state()
    assert invited.client.get(forged).status_code == 400
    assert invited.client.post(forged, data={"answer": "present"}).status_code == 400
    assert invited.state() == before


def test_without_the_csrf_token_nothing_is_stored(invited: Invited) -> None:
    invited.get()  # the cookie is set
    before = invited.state()
    page = invited.client.post(invited.url, data={"answer": "present", "action": "answer"})
    assert page.status_code == 403
    page = invited.client.post(invited.url, data={"answer": "present", "csrf": "0" * 64})
    assert page.status_code == 403
    assert invited.state() == before


def test_a_person_no_longer_a_member_is_refused(invited: Invited) -> None:
    token = _CSRF.search(invited.get().text)
    assert token is not None
    # as `regie init` with Ingrid taken out of the OOGO's members leaves it
    with invited.world.db.transaction() as session:
        Tx(session).execute(
            "DELETE FROM body_member WHERE body_id = 'oogo' AND person_id = ?", (INGRID,)
        )
        session.commit()
    before = invited.state()
    page = invited.get()
    assert page.status_code == 403 and "Geen lid meer" in page.text
    page = invited.client.post(invited.url, data={"csrf": token.group(1), "answer": "present"})
    assert page.status_code == 403
    assert invited.state() == before


def test_a_cancelled_meeting_says_so(invited: Invited) -> None:
    token = _CSRF.search(invited.get().text)
    assert token is not None
    with invited.world.db.transaction() as session:
        Tx(session).execute("UPDATE meeting SET status = 'cancelled' WHERE id = ?", (MEETING,))
        session.commit()
    page = invited.get()
    assert page.status_code == 200 and "Vergadering afgelast" in page.text
    assert "<form" not in page.text
    before = invited.state()
    page = invited.client.post(invited.url, data={"csrf": token.group(1), "answer": "present"})
    assert page.status_code == 409 and "afgelast" in page.text
    assert invited.state() == before


def test_english_page_for_an_english_link(invited: Invited) -> None:
    with invited.world.db.transaction() as session:
        Tx(session).execute(
            "UPDATE outbox SET language = 'en' WHERE kind = 'agenda' AND person_id = ?", (INGRID,)
        )
        session.commit()
    page = invited.get()
    assert "Will you come?" in page.text and "Thursday 28 January 2027" in page.text
    page = invited.post(answer="absent", substitute=ELLEN)
    assert page.status_code == 400 and f"{ELLEN} may not stand in for your party" in page.text


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_invitation_carries_the_link_and_it_opens_the_page(invited: Invited, lang: str) -> None:
    columns = ("id, event_id, kind, person_id, email, language, proposal_id, meeting_id, "
               "context, message_id, status, attempts, created_at")  # fmt: skip
    raw = invited.world.sql(
        f"SELECT {columns} FROM outbox WHERE kind = 'agenda' AND person_id = ?", (INGRID,)
    )[0]
    row = row_from_tuple(raw)
    row = replace(row, language=lang)
    made = lambda r: links.url_for("https://regie.example.org", invited.key, r.id)  # noqa: E731
    sentence = {
        "nl": "Laat via deze link weten of u komt (of wie u vervangt en uw standpunt): ",
        "en": "Let us know through this link whether you will come (or who stands in for you, "
        "and your position): ",
    }[lang]
    coordinator = {"nl": "Kunt u niet komen?", "en": "Cannot attend?"}[lang]
    msg = render_notice(None, row, sender_address="regie@foodvalley.example.org",
                        link_url=made)  # fmt: skip
    plain = _part(msg, "plain")
    url = made(row)
    assert sentence + url in plain and coordinator not in plain
    assert f'<a href="{url}">' in _part(msg, "html")
    assert invited.client.get(url.removeprefix("https://regie.example.org")).status_code == 200
    without = _part(render_notice(None, row, sender_address="regie@foodvalley.example.org"),
                    "plain")  # fmt: skip
    assert coordinator in without and "/l/" not in without


def _part(msg: Any, subtype: str) -> str:
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}":
            return str(part.get_content())
    raise AssertionError(f"no text/{subtype} part")


def test_the_absence_reminder_links_to_the_answer_page_where_a_stand_in_is_named(
    invited: Invited,
) -> None:
    """Absent without a stand-in: the scheduler's reminder the next working day carries
    the personal link; it opens the meeting's answer page (her answer: absent), and
    naming Ede's registered substitute there covers Ede."""
    from regie.scheduler import absence
    from regie.scheduler.sweep import sweep

    invited.post(answer="absent")  # Thursday 14 January: no stand-in, no position
    invited.world.at(datetime(2027, 1, 15, 9, tzinfo=AMSTERDAM))
    fired = sweep(invited.world.db, invited.world.clock, {absence.NAME: absence.RULE}).fired
    assert [d.person for d in fired] == [INGRID]
    raw = invited.world.sql(f"SELECT {ROW_COLUMNS} FROM outbox WHERE kind = 'absence_reminder' "
                            "AND person_id = ?", (INGRID,))[0]  # fmt: skip
    row = row_from_tuple(raw)
    made = lambda r: links.url_for("https://regie.example.org", invited.key, r.id)  # noqa: E731
    plain = _part(render_notice(None, row, sender_address="regie@foodvalley.example.org",
                                link_url=made), "plain")  # fmt: skip
    url = made(row)
    assert f"Een vervanger en uw standpunt geeft u door via deze persoonlijke link: {url}" in plain
    path = url.removeprefix("https://regie.example.org")
    page = invited.client.get(path)
    assert page.status_code == 200 and "Regionaal bestuurlijk OOGO" in page.text
    token = _CSRF.search(page.text)
    assert token is not None
    answered = invited.client.post(path, data={"csrf": token.group(1), "action": "answer",
                                               "answer": "absent", "substitute": BART})  # fmt: skip
    assert answered.status_code == 200
    assert (BART, "ede", "expected", INGRID, INGRID) in invited.attendance()
    assert check_database(db=invited.world.db).problems == []
