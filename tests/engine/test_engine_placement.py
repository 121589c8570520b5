"""Which meeting a proposal goes to: document deadlines in working days, or a chosen one."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from regie.clock import AMSTERDAM
from regie.engine import moves
from regie.engine.calendar import WorkCalendar
from regie.errors import NotFound, UsageError


def test_deadline_skips_weekends_holidays_and_extra_closed_days():
    cal = WorkCalendar(
        frozenset({date(2026, 12, 28), date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)})
    )
    # Tue 8 Dec 2026, 3 working days: Mon 7, Fri 4, Thu 3
    assert cal.deadline(date(2026, 12, 8), 3) == date(2026, 12, 3)
    # Thu 7 Jan 2027, 7 working days back over New Year, the Christmas break, Christmas
    assert cal.deadline(date(2027, 1, 7), 7) == date(2026, 12, 21)
    # Good Friday declared open: counts as a working day
    good_friday = date(2027, 3, 26)
    assert not WorkCalendar().is_working_day(good_friday)
    assert WorkCalendar(open_days=frozenset({good_friday})).is_working_day(good_friday)
    assert cal.deadline(date(2027, 1, 7), 0) == date(2027, 1, 7)


def test_submit_on_the_deadline_day_gets_the_nearest_meeting(world):
    world.at(datetime(2026, 12, 3, 17, 0))
    pid = world.submit("adoption")
    assert world.show(pid)["meeting"] == "tafel-model-2026-12-08"


def test_submit_after_the_deadline_gets_the_following_meeting(world):
    world.at(datetime(2026, 12, 4, 9, 0))  # deadline of 8 Dec (3 working days) was 3 Dec
    pid = world.submit("adoption")
    p = world.show(pid)
    assert p["meeting"] == "tafel-model-2027-01-12"
    assert [a["result"] for a in p["agenda"]] == [None]


def _to_chairs(world):
    pid = world.submit("adoption")
    world.advance(pid)
    assert world.show(pid)["meeting"] == "voorzitters-2026-12-17"
    return pid


def test_advance_before_holiday_deadline_takes_the_nearest_ao(world):
    pid = _to_chairs(world)
    world.at(datetime(2026, 12, 21, 10, 0))  # AO 7 Jan: 7 working days back is 21 Dec
    r = world.call(moves.advance, proposal_id=pid)
    assert (r.meeting_id, r.late) == ("ao-2027-01-07", False)


def test_advance_after_holiday_deadline_takes_the_next_ao(world):
    """Counting weekdays only, 22 Dec would still be in time for 7 Jan; with Christmas,
    New Year and the region's Christmas break skipped it is not."""
    pid = _to_chairs(world)
    world.at(datetime(2026, 12, 22, 10, 0))
    r = world.call(moves.advance, proposal_id=pid)
    assert (r.meeting_id, r.late) == ("ao-2027-02-04", False)


def test_chosen_meeting_in_time(world):
    pid = world.submit("adoption", meeting="tafel-model-2027-02-09")
    assert world.show(pid)["meeting"] == "tafel-model-2027-02-09"
    assert (
        world.sql("SELECT payload FROM audit_event WHERE action = 'submitted'")[0][0].count(
            '"late":false'
        )
        == 1
    )


def test_chosen_meeting_after_its_deadline_is_flagged_late(world):
    pid = _to_chairs(world)
    world.at(datetime(2026, 12, 22, 10, 0))
    r = world.call(moves.advance, proposal_id=pid, meeting="ao-2027-01-07")
    assert (r.meeting_id, r.late) == ("ao-2027-01-07", True)
    assert r.as_dict()["late"] is True
    payload = world.sql("SELECT payload FROM audit_event WHERE action = 'advanced'")[-1][0]
    assert '"late":true' in payload


def test_chosen_meeting_of_another_body_refused(world):
    pid = _to_chairs(world)
    world.to_meeting_of(pid)
    before = world.snapshot(pid)
    with pytest.raises(UsageError) as exc:
        world.call(moves.advance, proposal_id=pid, meeting="oogo-2027-01-28")
    assert "belongs to 'oogo', but the proposal goes to 'ao'" in str(exc.value)
    assert world.snapshot(pid) == before


def test_chosen_past_meeting_refused(world):
    world.at(datetime(2026, 12, 9, 10, 0, tzinfo=AMSTERDAM))
    before = world.snapshot()
    with pytest.raises(UsageError, match="already started or taken place"):
        world.submit("adoption", meeting="tafel-model-2026-12-08")
    assert world.snapshot() == before


def test_chosen_unknown_meeting_refused(world):
    with pytest.raises(NotFound, match="tafel-model-2031-01-01"):
        world.submit("adoption", meeting="tafel-model-2031-01-01")


def test_no_open_meeting_left(world):
    world.at(datetime(2027, 12, 14, 10, 0))  # the last meeting of tafel-model in the config
    with pytest.raises(NotFound, match="choose one with --meeting"):
        world.submit("adoption")


def test_init_stores_the_public_holidays_so_commands_need_not_ask_the_library(world):
    """`regie init` keeps the holidays of the years around it with the region's settings
    (issue 15: the `holidays` package costs ~25 ms to import); they are the library's."""
    import json

    from regie.engine.calendar import STORED_YEARS_AFTER, public_holidays
    from regie.engine.storage import Tx

    with world.db.transaction(write=False) as session:
        setting = Tx(session).scalar("SELECT value FROM region_setting WHERE key = 'calendar'")
    stored = json.loads(setting)["public_holidays"]
    this_year = world.clock.now().year
    assert str(this_year + STORED_YEARS_AFTER) in stored
    assert stored[str(this_year)] == sorted(d.isoformat() for d in public_holidays(this_year))
    assert date(this_year, 12, 25).isoformat() in stored[str(this_year)]
    calendar = WorkCalendar.from_setting({"public_holidays": {"2027": ["2027-03-24"]}})
    assert not calendar.is_working_day(date(2027, 3, 24))  # a Wednesday, as stored
    assert not calendar.is_working_day(date(2028, 12, 25))  # not stored: from the library
