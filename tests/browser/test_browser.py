"""A chair and a member act through the links in their mails, in a real browser (issue 17).

Everything is real: a database made by `regie init`, `regie serve` on a free port whose
sender delivers to an aiosmtpd sink in this process, the link taken from the mail the
sink received, and Debian's Chromium (headless, through Playwright) that opens it and
submits the form. The database is checked afterwards; a screenshot of the last page is
saved in the test's temporary folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from webtest import Office, later, serving

from regie.engine import agenda, attendance, decisions

DECISION = "Het beleidskader thuiszitters wordt vastgesteld."


def _recorded_decision(office: Office) -> tuple[str, str]:
    """A proposal with its decision recorded at the top meeting, awaiting the chair."""
    parties = ["ede", "swv-vo"]
    pid = office.submit(parties)
    meeting = office.to_top(pid)
    office.to_meeting_of(pid)
    for party in parties:
        office.call(attendance.record_attendance, meeting_id=meeting,
                    person=office.mandated(party), status="present")  # fmt: skip
    office.call(decisions.decide, proposal_id=pid, outcome="adopted", text=DECISION)
    return pid, meeting


def test_the_chair_confirms_a_decision_through_the_link_in_the_mail(
    chromium: Any, office: Office, tmp_path: Path
) -> None:
    pid, meeting = _recorded_decision(office)
    chair = office.region.person(office.region.body(office.top()).chair)
    assert chair.language == "nl"
    with serving(office, later(office)) as site:
        link = site.link_in(site.mail("decision_recorded", chair.email))
        page = chromium.new_page()
        response = page.goto(link)
        assert response is not None and response.status == 200
        shown = page.inner_text("body")
        assert pid in shown and DECISION in shown, shown
        assert office.sql("SELECT state FROM proposal WHERE id = ?", (pid,)) == [
            ("awaiting_confirmation",)
        ]  # opening the page changes nothing
        with page.expect_navigation():
            page.click("button[name=action][value=confirm]")
        done = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "confirmed.png"), full_page=True)
    assert "Besluit bevestigd" in done and f"door {chair.name}" in done and pid in done, done
    assert (tmp_path / "confirmed.png").stat().st_size > 1000
    assert office.sql("SELECT state FROM proposal WHERE id = ?", (pid,)) == [("decided",)]
    assert office.sql(
        "SELECT actor, meeting_id FROM audit_event WHERE action = 'confirmed' AND proposal_id = ?",
        (pid,),
    ) == [(chair.id, meeting)]
    assert office.sql(
        "SELECT confirmed_by FROM decision WHERE proposal_id = ? AND confirmed_at IS NOT NULL",
        (pid,),
    ) == [(chair.id,)]


def test_a_member_answers_absent_with_a_substitute_through_the_invitation(
    chromium: Any, office: Office, tmp_path: Path
) -> None:
    parties = ["ede", "swv-vo"]
    pid = office.submit(parties)
    meeting = office.to_top(pid)
    office.call(agenda.publish_agenda, meeting_id=meeting)  # what `regie publish` does
    party = "ede"  # its member gets each mail at once; the config allows a substitute
    member = office.region.person(office.mandated(party, mailed=True))
    stand_in = office.substitutes(party)[0]
    before = office.sql("SELECT COUNT(*) FROM audit_event")[0][0]
    with serving(office, later(office, 5)) as site:
        link = site.link_in(site.mail("agenda", member.email))
        page = chromium.new_page()
        response = page.goto(link)
        assert response is not None and response.status == 200
        assert office.region.person(stand_in).name in page.inner_text("body")
        page.check("input[name=answer][value=absent]")
        page.select_option("select[name=substitute]", stand_in)
        with page.expect_navigation():
            page.click("button[name=action][value=answer]")
        done = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "answered.png"), full_page=True)
    assert member.language == "nl"
    assert "Uw antwoord is opgeslagen" in done and "afwezig" in done, done
    assert f"{office.region.person(stand_in).name} (verwacht)" in done, done
    assert (tmp_path / "answered.png").stat().st_size > 1000
    # what `regie attend MEETING PERSON --absent` and the announced stand-in record
    assert sorted(
        office.sql(
            "SELECT person_id, party_id, status, substitute_for, recorded_by FROM attendance "
            "WHERE meeting_id = ?",
            (meeting,),
        )
    ) == sorted(
        [
            (member.id, party, "absent", None, member.id),
            (stand_in, party, "expected", member.id, member.id),
        ]
    )
    events = office.sql(
        "SELECT actor, meeting_id FROM audit_event WHERE id > ? AND action LIKE 'attend%'",
        (before,),
    )
    assert events and all(e == (member.id, meeting) for e in events), events
