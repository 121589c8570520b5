"""`regie audit history P` and `regie audit as-of DATE P` (issue 19): one adoption driven
through the engine services from submission to a confirmed, amended decision (a route
proposed and set, a party corrected, a prior position, a substitute, a correction request),
its mails sent to a real SMTP sink; then the history holds every step in order with the
right people, and the state at several moments is what it was then. Real SQLite files
(the ``world`` fixture) and the real PostgreSQL server; a fixed clock."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from regie.cli import cli
from regie.clock import AMSTERDAM, FixedClock
from regie.dispute.as_of import as_of, end_of, moment
from regie.dispute.history import history
from regie.engine import agenda, agenda_approval, attendance, decisions, moves, parties
from regie.engine.setup import init_database
from regie.engine.storage import Database
from regie.errors import NotFound, UsageError
from regie.notifications.sink import MailSink, running
from regie.region import Region
from regie.workflows.definition import builtin_workflows

OOGO = "oogo-2027-01-28"
TABLE = "tafel-model-2026-12-08"
V1 = "De regio stelt het thuiszitterspact vast."
V2 = "De regio stelt het thuiszitterspact 2027-2030 vast; evaluatie in 2029."
CORRECTION = "Looptijd en evaluatiejaar ontbreken."
POSITION = "Akkoord, mits de monitor jaarlijks terugkomt."


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=AMSTERDAM)


@dataclass
class Story:
    pid: str
    chair: str  # the OOGO's chair
    absent: str  # Ede's representative, absent
    stand_in: str  # Ede's registered substitute, present for them
    position_by: str  # SWV VO's representative, who gave a prior position
    at: dict[str, datetime] = field(default_factory=dict)  # step -> when it happened


class Driver:
    """The engine services on any database (the SQLite world, a PostgreSQL database)."""

    def __init__(self, db: Database, clock: FixedClock, region: Region) -> None:
        self.db, self.clock, self.region = db, clock, region

    def call(self, fn: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("actor", self.region.coordinator)
        with self.db.transaction() as session:
            return fn(session=session, clock=self.clock, **kwargs)

    def read(self, fn: Any, **kwargs: Any) -> Any:
        with self.db.transaction(write=False) as session:
            return fn(session=session, **kwargs)

    def person(self, party: str, body: str, *, substitute: bool) -> str:
        subs = {s.person for s in self.region.substitutes if s.party == party and s.body == body}
        if substitute:
            return sorted(subs)[0]
        mandated = [
            m.person
            for m in self.region.mandates
            if m.party == party and m.body == body and m.person not in subs
        ]
        return mandated[0]

    def meeting_start(self, pid: str) -> datetime:
        starts = self.read(history, proposal_id=pid)["proposal"]["meeting_starts_at"]
        return datetime.fromisoformat(starts)

    def step(self, story: Story, name: str, when: datetime, fn: Any, **kwargs: Any) -> Any:
        self.clock.set(when)
        story.at[name] = when
        return self.call(fn, **kwargs)


def tell(d: Driver) -> Story:
    oogo = d.region.body_of_kind("oogo").id
    d.clock.set(local(2026, 11, 23, 10))
    r = d.call(
        moves.submit,
        title="Thuiszitterspact",
        purpose="adoption",
        table="tafel-model",
        parties=["barneveld", "ede", "swv-vo"],
        summary="Samen geen thuiszitters meer.",
        focus_point="sp1",
        admin_lead="ingrid-schouten",
        official_lead="koen-smit",
    )
    s = Story(
        r.proposal_id,
        d.region.body_of_kind("oogo").chair,
        d.person("ede", oogo, substitute=False),
        d.person("ede", oogo, substitute=True),
        d.person("swv-vo", oogo, substitute=False),
        {"submitted": local(2026, 11, 23, 10)},
    )
    route = ["table", "chairs", "ao", "oogo"]
    d.step(
        s, "route_proposed", local(2026, 11, 24, 9), moves.set_route, proposal_id=s.pid, route=route
    )
    d.step(
        s,
        "parties_changed",
        local(2026, 11, 25, 9),
        parties.correct_parties,
        proposal_id=s.pid,
        remove=["barneveld"],
        reason="Barneveld doet niet mee",
    )
    d.step(s, "advanced", d.meeting_start(s.pid), moves.advance, proposal_id=s.pid)  # to chairs
    d.step(s, "route_set", d.meeting_start(s.pid), moves.set_route, proposal_id=s.pid, route=route)
    d.step(s, "to_ao", d.clock.now() + timedelta(minutes=5), moves.advance, proposal_id=s.pid)
    d.step(s, "to_oogo", d.meeting_start(s.pid), moves.advance, proposal_id=s.pid)
    later = d.clock.now() + timedelta(minutes=5)
    d.step(s, "approved", later, agenda_approval.approve, meeting_id=OOGO)
    d.step(s, "published", later + timedelta(minutes=1), agenda.publish_agenda, meeting_id=OOGO)
    d.step(
        s,
        "prior_position",
        later + timedelta(minutes=2),
        attendance.record_prior_position,
        meeting_id=OOGO,
        proposal_id=s.pid,
        person=s.position_by,
        stance="agree",
        position=POSITION,
    )
    start = d.meeting_start(s.pid)
    d.step(
        s,
        "absent",
        start,
        attendance.record_attendance,
        meeting_id=OOGO,
        person=s.absent,
        status="absent",
    )
    d.step(
        s,
        "substitute",
        start + timedelta(minutes=1),
        attendance.record_attendance,
        meeting_id=OOGO,
        person=s.stand_in,
        status="substitute",
        substitute_for=s.absent,
    )
    d.step(
        s,
        "decided",
        start + timedelta(minutes=60),
        decisions.decide,
        proposal_id=s.pid,
        outcome="adopted",
        text=V1,
    )
    d.step(
        s,
        "correction",
        local(2027, 1, 29, 9),
        decisions.request_correction,
        actor=s.chair,
        proposal_id=s.pid,
        version=1,
        comment=CORRECTION,
    )
    d.step(
        s, "amended", local(2027, 1, 29, 9, 30), decisions.confirm, proposal_id=s.pid, amend_text=V2
    )
    d.step(
        s,
        "confirmed",
        local(2027, 1, 29, 11),
        decisions.confirm,
        actor=s.chair,
        proposal_id=s.pid,
        version=2,
    )
    return s


@pytest.fixture
def told(world: Any) -> tuple[Driver, Story]:
    d = Driver(world.db, world.clock, world.region)
    return d, tell(d)


def regie(world: Any, *args: str, now: str = "2027-02-01T12:00", **env: str) -> Result:
    environ = {
        "REGIE_DB": str(world.path),
        "REGIE_NOW": now,
        "REGIE_USER": world.coordinator,
        "REGIE_LANG": None,
        **env,
    }
    result = CliRunner().invoke(cli, list(args), env=environ)
    assert "Traceback" not in result.output + result.stderr
    return result


# -- the history -------------------------------------------------------------------------


def test_the_history_holds_every_step_in_order_with_people_and_mails(
    world: Any, told: tuple[Driver, Story], tmp_path: Path
) -> None:
    d, s = told
    sink = MailSink(tmp_path / "mail")
    with running(sink) as port:
        sent = regie(
            world,
            "send",
            now="2027-01-29T12:00",
            REGIE_SMTP_HOST="127.0.0.1",
            REGIE_SMTP_PORT=str(port),
        )
    assert sent.exit_code == 0, sent.output + sent.stderr
    h = d.read(history, proposal_id=s.pid, lang="nl")

    p = h["proposal"]
    assert (p["id"], p["title"], p["state"], p["parties"]) == (
        s.pid,
        "Thuiszitterspact",
        "decided",
        ["ede", "swv-vo"],
    )
    assert p["state_label"] == "besloten" and p["submitted_by"] == world.coordinator
    # the route: given at submission, proposed at the table stage, set at the chairs' meeting
    assert [(c["action"], c["actor"]) for c in h["route"]] == [
        ("submitted", world.coordinator),
        ("route_proposed", world.coordinator),
        ("route_set", world.coordinator),
    ]
    assert h["route"][2]["route_labels"][-1] == "OOGO" and h["route"][2]["routing_body"]
    # each meeting it was on, and what became of it there
    meetings = [(m["meeting"], m["stage"], m["result"]) for m in h["meetings"]]
    assert meetings[0] == (TABLE, "table", "advanced") and meetings[-1] == (OOGO, "oogo", "decided")
    assert [m[1] for m in meetings] == ["table", "chairs", "ao", "oogo"]
    top = h["meetings"][-1]
    assert top["decisions"] == [1, 2] and top["body_name"] and top["result_label"]
    # attendance as recorded, with the substitute and whom they stood in for
    people = {a["person"]: a for a in top["attendance"]}
    assert (people[s.absent]["status"], people[s.absent]["party"]) == ("absent", "ede")
    sub = people[s.stand_in]
    assert (sub["status"], sub["party"], sub["substitute_for"]) == ("substitute", "ede", s.absent)
    assert sub["status_label"] == "vervanger" and sub["substitute_for_name"] != s.absent
    (position,) = top["prior_positions"]
    assert (position["party"], position["person"], position["stance"], position["position"]) == (
        "swv-vo",
        s.position_by,
        "agree",
        POSITION,
    )
    assert all(m["attendance"] == [] for m in h["meetings"][:-1])
    # the decision versions and the steps: recorded, correction asked, amended, confirmed
    v1, v2 = h["decisions"]
    assert (v1["text"], v1["confirmed_by"], v2["text"], v2["confirmed_by"]) == (
        V1,
        None,
        V2,
        s.chair,
    )
    assert v2["outcome_label"] == "vastgesteld"
    steps = [(x["action"], x["actor"], x["version"]) for x in h["decision_steps"]]
    assert steps == [
        ("decided", world.coordinator, 1),
        ("correction_requested", s.chair, 1),
        ("amended", world.coordinator, 2),
        ("confirmed", s.chair, 2),
    ]
    assert h["decision_steps"][1]["comment"] == CORRECTION
    assert h["decision_steps"][1]["action_label"] == "correctie gevraagd"
    assert h["decision_steps"][2]["previous_text"] == V1
    # the mails: each row about it, sent to the sink (digest rows wait for the digest)
    mails = h["mails"]
    kinds = {m["action"] for m in mails}
    assert {"submitted", "decided", "amended", "confirmed", "agenda_published"} <= kinds
    assert {m["status"] for m in mails} <= {"sent", "digest"}
    delivered = {m.message_id for m in sink.messages}
    sent_rows = [m for m in mails if m["status"] == "sent"]
    assert sent_rows and all(m["message_id"] in delivered and m["sent_at"] for m in sent_rows)
    # every event, in order: its own and the agenda events of its meetings that name it
    events = h["events"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    order = [e["action"] for e in events]
    wanted = [
        "submitted",
        "route_proposed",
        "parties_changed",
        "advanced",
        "route_set",
        "advanced",
        "advanced",
        "agenda_approved",
        "agenda_published",
        "prior_position",
        "decided",
        "correction_requested",
        "amended",
        "confirmed",
    ]
    assert order == wanted
    by_action = {e["action"]: e for e in events}
    assert by_action["prior_position"]["acting_for"] == "swv-vo"
    assert by_action["confirmed"]["actor_name"] != s.chair  # the name, not the id
    assert by_action["agenda_approved"]["proposal"] is None  # a meeting event
    assert h["revisits"] == {"reopens": [], "reopened_by": []}


def test_history_shows_revisits_both_ways(world: Any, told: tuple[Driver, Story]) -> None:
    d, s = told
    world.at(local(2027, 2, 1, 10))
    later = world.submit(title="Thuiszitterspact herzien", revisits=s.pid, reason="Nieuwe cijfers")
    assert d.read(history, proposal_id=s.pid)["revisits"]["reopened_by"] == [
        {"proposal": later, "title": "Thuiszitterspact herzien", "reason": "Nieuwe cijfers"}
    ]
    assert [r["proposal"] for r in d.read(history, proposal_id=later)["revisits"]["reopens"]] == [
        s.pid
    ]


def test_history_of_an_unknown_proposal_is_refused(world: Any) -> None:
    with pytest.raises(NotFound, match="proposal 'P-2026-999' does not exist; see 'regie list'"):
        world.read(history, proposal_id="P-2026-999")


# -- the state at a moment ---------------------------------------------------------------


def test_as_of_gives_the_state_route_parties_and_decision_text_then(
    told: tuple[Driver, Story],
) -> None:
    d, s = told
    now = s.at["confirmed"] + timedelta(days=3)

    def at(when: date | datetime) -> dict[str, Any]:
        return dict(d.read(as_of, proposal_id=s.pid, at=when, lang="en", now=now))

    first = at(date(2026, 11, 23))  # a date: the end of that day
    assert (first["state"], first["meeting"]["id"], first["decision"]) == ("table", TABLE, None)
    assert first["parties"] == ["barneveld", "ede", "swv-vo"] and first["proposed_route"] is None
    assert first["last_change"]["action"] == "submitted" and first["future"] is False
    proposed = at(s.at["route_proposed"])
    assert proposed["proposed_route"] == ["table", "chairs", "ao", "oogo"]
    assert at(s.at["parties_changed"] - timedelta(seconds=1))["parties"] == [
        "barneveld",
        "ede",
        "swv-vo",
    ]
    assert at(s.at["parties_changed"])["parties"] == ["ede", "swv-vo"]
    chairs = at(s.at["route_set"])
    assert (chairs["state"], chairs["proposed_route"]) == ("chairs", None)
    assert chairs["last_change"]["action"] == "route_set"
    before_decision = at(s.at["decided"] - timedelta(seconds=1))
    assert (before_decision["state"], before_decision["decision"]) == ("oogo", None)
    assert before_decision["meeting"]["id"] == OOGO

    recorded = at(s.at["decided"])
    d1 = recorded["decision"]
    assert recorded["state"] == "awaiting_confirmation"
    assert (d1["version"], d1["text"], d1["outcome"], d1["confirmed"]) == (1, V1, "adopted", False)
    assert d1["status_label"] == "awaiting confirmation" and d1["outcome_label"] == "adopted"
    # a correction asked for changes nothing yet: still version 1, unconfirmed
    asked = at(s.at["correction"] + timedelta(minutes=1))["decision"]
    assert (asked["version"], asked["text"], asked["confirmed"]) == (1, V1, False)
    amended = at(s.at["amended"])["decision"]
    assert (amended["version"], amended["text"], amended["confirmed"]) == (2, V2, False)
    assert amended["recorded_by"] == d.region.coordinator
    done = at(date(2027, 1, 29))
    assert done["state"] == "decided" and done["state_label"] == "decided"
    d2 = done["decision"]
    assert (d2["version"], d2["text"], d2["confirmed"], d2["confirmed_by"]) == (
        2,
        V2,
        True,
        s.chair,
    )
    assert d2["confirmed_at"].startswith("2027-01-29T11:00")
    assert done["events_after"] == 0 and done["events_until"] == first["events_until"] + 11


def test_as_of_before_submission_is_refused_and_the_future_is_now(
    told: tuple[Driver, Story],
) -> None:
    d, s = told
    now = s.at["amended"] + timedelta(minutes=10)  # before the confirmation
    with pytest.raises(UsageError) as exc:
        d.read(as_of, proposal_id=s.pid, at=date(2026, 11, 22), now=now)
    assert str(exc.value) == (
        f"{s.pid} was submitted on 2026-11-23 10:00, after 2026-11-22; choose a later date "
        "(2026-11-23 or after)"
    )
    with pytest.raises(UsageError, match="after 2026-11-23T09:59:59"):
        d.read(as_of, proposal_id=s.pid, at=local(2026, 11, 23, 9, 59, 59), now=now)
    # after `now` (the confirmation lies after it here): the state now, marked as future
    future = d.read(as_of, proposal_id=s.pid, at=date(2027, 6, 1), now=now, lang="nl")
    assert future["future"] is True and future["decision"]["confirmed"] is False
    assert future["decision"]["text"] == V2 and future["events_after"] == 1
    assert future["at_label"] == "1 juni 2027"
    assert future["until"] == now.isoformat(timespec="seconds")
    today = d.read(as_of, proposal_id=s.pid, at=now.date(), now=now)  # today so far
    assert today["future"] is False and today["until"] == future["until"]
    with pytest.raises(NotFound):
        d.read(as_of, proposal_id="P-2026-999", at=date(2027, 1, 1), now=now)


def test_moments_are_local_days_and_times() -> None:
    assert end_of(date(2027, 3, 28)) == datetime(2027, 3, 28, 21, 59, 59, 999999)  # CEST after 2:00
    assert end_of(date(2027, 1, 5)) == datetime(2027, 1, 5, 22, 59, 59, 999999)
    assert moment("2027-01-28") == date(2027, 1, 28)
    assert moment("2027-01-28T21:00") == local(2027, 1, 28, 21)
    assert moment("2027-01-28T21:00+00:00") == local(2027, 1, 28, 22)
    for bad in ("28-01-2027", "gisteren", "2027-13-01", ""):
        with pytest.raises(UsageError, match="is not a date or time; give YYYY-MM-DD"):
            moment(bad)


# -- the commands -------------------------------------------------------------------------


def test_the_commands_print_json_and_tables_in_both_languages(
    world: Any, told: tuple[Driver, Story]
) -> None:
    _d, s = told
    shown = json.loads(regie(world, "audit", "history", s.pid, "--json").stdout)
    assert [x["action"] for x in shown["decision_steps"]][-1] == "confirmed"
    nl = regie(world, "--lang", "nl", "audit", "history", s.pid, COLUMNS="200")
    assert nl.exit_code == 0, nl.stderr
    for text in (
        f"{s.pid}  Thuiszitterspact",
        "Route van",
        "Vergaderingen van",
        "Aanwezigheid:",
        "vervanger",
        "Standpunten vooraf",
        "Besluit over",
        "correctie",
        "Mails over",
        "Logboek van",
        CORRECTION,
        "decision_final",
        "Bart Lamers",
    ):
        assert text in nl.stdout, text
    en = regie(world, "--lang", "en", "audit", "history", s.pid)
    assert "Decision on" in en.stdout and "Attendance:" in en.stdout

    at = json.loads(regie(world, "audit", "as-of", "2027-01-28", s.pid, "--json").stdout)
    assert (at["state"], at["decision"]["version"], at["decision"]["text"]) == (
        "awaiting_confirmation",
        1,
        V1,
    )
    en = regie(world, "--lang", "en", "audit", "as-of", "2027-01-29T09:45", s.pid)
    assert en.exit_code == 0, en.stderr
    assert "as it stood at Friday 29 January 2027, 09:45" in en.stdout
    assert "decision v2" in en.stdout and "awaiting confirmation" in en.stdout
    assert "lies in the future" not in en.stdout
    nl = regie(world, "--lang", "nl", "audit", "as-of", "2027-12-31", s.pid)
    assert "besluit v2" in nl.stdout and "bevestigd door" in nl.stdout
    assert "31 december 2027 ligt in de toekomst: dit is de stand nu" in nl.stdout


def test_the_commands_refuse_bad_input_with_one_line_and_change_nothing(
    world: Any, told: tuple[Driver, Story]
) -> None:
    _d, s = told
    before = world.snapshot()
    cases = [
        (("audit", "history", "P-2026-999"), 1, "proposal 'P-2026-999' does not exist"),
        (("audit", "as-of", "2027-01-01", "P-2026-999"), 1, "does not exist"),
        (("audit", "as-of", "31-01-2027", s.pid), 2, "'31-01-2027' is not a date or time"),
        (("audit", "as-of", "2026-11-01", s.pid), 2, "choose a later date (2026-11-23 or after)"),
    ]
    for args, code, message in cases:
        r = regie(world, *args)
        assert (r.exit_code, r.stdout) == (code, ""), (args, r.output)
        assert r.stderr.startswith("regie: error: ") and message in r.stderr
        assert r.stderr.count("\n") == 1
    assert world.snapshot() == before


# -- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_history_and_as_of_on_postgres(
    pg_scratch: Any, region: Region, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGIE_KEY_FILE", str(tmp_path / "regie.key"))
    monkeypatch.delenv("REGIE_SECRET", raising=False)
    with pg_scratch("regie_history") as url:
        db = Database(url)
        try:
            clock = FixedClock(local(2026, 11, 23, 10))
            init_database(db=db, clock=clock, region=region, workflows=builtin_workflows())
            d = Driver(db, clock, region)
            s = tell(d)
            h = d.read(history, proposal_id=s.pid, lang="en")
            assert [x["action"] for x in h["decision_steps"]] == [
                "decided",
                "correction_requested",
                "amended",
                "confirmed",
            ]
            assert h["meetings"][-1]["attendance"] and h["mails"]
            assert "agenda_published" in [e["action"] for e in h["events"]]
            then = d.read(as_of, proposal_id=s.pid, at=s.at["amended"], now=clock.now())
            assert (then["decision"]["text"], then["decision"]["confirmed"]) == (V2, False)
            assert (
                d.read(as_of, proposal_id=s.pid, at=date(2027, 1, 29), now=clock.now())["state"]
                == "decided"
            )
        finally:
            db.dispose()
