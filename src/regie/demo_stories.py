"""The stories `regie demo` tells: five proposals through the FoodValley structure.

Each proposal's story is a generator that yields the meeting time it waits for (see
:func:`regie.demo.interleave`). Together their mails show what a member can act on
(issue 16): receipts, the leads' instruction with its deadline, a deferral and a
withdrawal, agendas with invites, a moved and a cancelled meeting (the coordinator edits
the region and runs init again), decisions and the digest of those who asked for one.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, time, timedelta
from typing import Any

from regie.clock import AMSTERDAM, FixedClock, to_local
from regie.engine import agenda, agenda_approval, attendance, decisions, moves, queries
from regie.engine.moves import MoveResult
from regie.engine.setup import init_database
from regie.engine.storage import Database
from regie.errors import MandateMissing, StaleVersion, UsageError
from regie.region import Body, MeetingSpec, Region
from regie.workflows.definition import builtin_workflows

START = datetime(2026, 11, 23, 9, 0, tzinfo=AMSTERDAM)
MOVED_TO = "Gemeentehuis Rhenen"  # where the adoption's top meeting moves to
Story = Generator[datetime, None, None]


def _spec(region: Region, meeting: str) -> tuple[Body, MeetingSpec]:
    for body in region.bodies:
        for spec in body.meetings:
            if spec.meeting_id(body.id) == meeting:
                return body, spec
    raise UsageError(f"the demo needs the meeting {meeting} in the region config")


class Demo:
    """The demo's database, region and clock, the moves the stories share, the stories."""

    def __init__(self, db: Database, region: Region, echo: Callable[[str], None]) -> None:
        self.db = db
        self.region = region
        self.clock = FixedClock(START)
        self.echo = echo
        self.coordinator = region.coordinator
        top = region.roles.top_body
        assert top is not None, "the demo's region names its top body in [structure]"
        self.oogo = region.body(top)
        self.ids: list[str] = []
        self.awaiting: str | None = None  # a decision its chair confirms over HTTP

    def call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        with self.db.transaction() as session:
            return fn(session=session, clock=self.clock, **kwargs)

    def meeting_of(self, pid: str) -> str:
        with self.db.transaction(write=False) as session:
            meeting = queries.show_proposal(session=session, proposal_id=pid)["meeting"]
        assert isinstance(meeting, str)
        return meeting

    def say(self, pid: str, text: str) -> None:
        when = to_local(self.clock.now()).strftime("%a %d %b %Y %H:%M")
        self.echo(f"  {when}  {pid}  {text}")

    def moved(self, r: MoveResult, what: str) -> datetime:
        starts = r.as_dict()["meeting_starts_at"]
        assert isinstance(starts, str)
        at = datetime.fromisoformat(starts)
        self.say(r.proposal_id, f"{what} -> {r.state}, on {r.meeting_id}")
        return at

    def advance(self, pid: str) -> datetime:
        return self.moved(
            self.call(moves.advance, actor=self.coordinator, proposal_id=pid), "advanced"
        )

    def approve(self, pid: str) -> None:
        """The chairs' meeting sets the agenda of the OOGO the proposal now waits for."""
        meeting = self.meeting_of(pid)
        r = self.call(agenda_approval.approve, actor=self.coordinator, meeting_id=meeting)
        held = r.routing_meeting or "(no meeting yet)"
        self.say(
            pid,
            f"agenda of {meeting} approved on behalf of the chairs' meeting {held} "
            f"({len(r.proposals)} item(s))",
        )

    def publish(self, pid: str, meeting: str) -> None:
        self.call(agenda.publish_agenda, actor=self.coordinator, meeting_id=meeting)
        self.say(pid, f"agenda of {meeting} published (mail with calendar invite to its members)")

    def reconfigure(self, pid: str, what: str, change: Callable[[Region], None]) -> None:
        """What a coordinator does: edit the region config and run `regie init` again;
        members of a published meeting get a calendar update or cancellation."""
        region = self.region.model_copy(deep=True)
        change(region)
        report = init_database(
            db=self.db, clock=self.clock, region=region, workflows=builtin_workflows()
        )
        self.region = region
        self.say(
            pid,
            f"{what}: config edited, regie init again ({report.meetings_changed} moved, "
            f"{report.meetings_cancelled} cancelled)",
        )

    def move_meeting(self, pid: str, meeting: str, at: time, location: str) -> datetime:
        def change(region: Region) -> None:
            spec = _spec(region, meeting)[1]
            spec.time, spec.location = at, location

        self.reconfigure(pid, f"{meeting} moves to {at:%H:%M} in {location}", change)
        return _spec(self.region, meeting)[1].starts_at(AMSTERDAM)

    def cancel_meeting(self, pid: str, meeting: str) -> None:
        def change(region: Region) -> None:
            body, spec = _spec(region, meeting)
            body.meetings.remove(spec)

        self.reconfigure(pid, f"{meeting} is cancelled", change)

    def representative(self, party: str) -> str:
        for md in self.region.mandates:
            if md.party == party and md.body == self.oogo.id:
                return md.person
        raise UsageError(f"the demo needs a mandated OOGO representative for {party}")

    def present(self, meeting: str, party: str) -> None:
        person = self.representative(party)
        self.call(
            attendance.record_attendance,
            actor=self.coordinator,
            meeting_id=meeting,
            person=person,
            status="present",
        )

    def decide_for_the_link(self, pid: str, outcome: str, text: str) -> None:
        """Record the decision; its chair confirms it through the link in the mail, over
        HTTP, at the end of the demo (:func:`regie.demo.confirm_over_http`)."""
        r = self.call(
            decisions.decide, actor=self.coordinator, proposal_id=pid, outcome=outcome, text=text
        )
        self.say(
            pid,
            f"decision recorded at {r.meeting_id}: {outcome} (the chair gets a mail with a link)",
        )
        self.awaiting = pid

    # -- one story per purpose ---------------------------------------------------------

    def adoption(self) -> Story:
        tables = self.region.bodies_of_kind("table")
        r = self.call(
            moves.submit,
            actor=self.coordinator,
            purpose="adoption",
            title="Regionaal beleidskader onderwijszorgarrangementen (OZA)",
            table=tables[0].id,
            parties=["ede", "veenendaal", "swv-vo"],
            focus_point="sp5",
            summary="Kaders voor onderwijs-zorgarrangementen.",
        )
        pid = r.proposal_id
        self.ids.append(pid)
        yield self.moved(r, "submitted (for adoption)")
        yield self.advance(pid)
        yield self.advance(pid)
        r = self.call(
            moves.return_,
            actor=self.coordinator,
            proposal_id=pid,
            to="table",
            reason="De financiële paragraaf ontbreekt nog",
        )
        yield self.moved(r, "returned by the AO to the table (financial section missing)")
        for _ in range(2):
            yield self.advance(pid)
        at = self.advance(pid)
        self.approve(pid)
        meeting = self.meeting_of(pid)
        self.publish(pid, meeting)
        # three weeks before, the town hall is not available: the meeting moves
        yield at - timedelta(days=21, hours=10)
        yield self.move_meeting(pid, meeting, time(19, 0), MOVED_TO)
        for party in ("veenendaal", "swv-vo"):
            self.present(meeting, party)
        self.try_without_ede(pid, meeting)
        self.decide_for_the_link(pid, "adopted", "Het beleidskader OZA wordt vastgesteld.")

    def try_without_ede(self, pid: str, meeting: str) -> None:
        absent = self.representative("ede")
        self.call(
            attendance.record_attendance,
            actor=self.coordinator,
            meeting_id=meeting,
            person=absent,
            status="absent",
        )
        try:
            self.call(
                decisions.decide,
                actor=self.coordinator,
                proposal_id=pid,
                outcome="adopted",
                text="Vastgesteld.",
            )
        except MandateMissing as exc:
            self.say(pid, f"refused: {', '.join(exc.parties)} not represented with mandate")
        sub = next(
            s.person for s in self.region.substitutes if s.party == "ede" and s.body == self.oogo.id
        )
        self.call(
            attendance.record_attendance,
            actor=self.coordinator,
            meeting_id=meeting,
            person=sub,
            status="substitute",
            substitute_for=absent,
        )
        self.say(pid, f"{absent} (ede) absent; registered substitute {sub} attends for ede")

    def information(self) -> Story:
        tables = self.region.bodies_of_kind("table")
        r = self.call(
            moves.submit,
            actor=self.coordinator,
            purpose="information",
            title="Dashboard Monitor Jeugd & Onderwijs 2026",
            table=tables[-1].id,
            parties=["barneveld", "wageningen"],
            focus_point="sp3",
        )
        pid = r.proposal_id
        self.ids.append(pid)
        at = self.moved(r, "submitted (for information)")
        route = ["table", "chairs"]
        self.call(moves.set_route, actor=self.coordinator, proposal_id=pid, route=route)
        self.say(pid, "coordinator proposes the route table -> chairs (on the agenda)")
        yield at
        yield self.advance(pid)
        r2 = self.call(moves.set_route, actor=self.coordinator, proposal_id=pid, route=route)
        self.say(pid, f"chairs' meeting {r2.meeting_id} sets the route: it takes note itself")
        r3 = self.call(
            decisions.decide,
            actor=self.coordinator,
            proposal_id=pid,
            outcome="noted",
            text="Het voorzittersoverleg neemt kennis van het dashboard.",
        )
        self.say(pid, f"noted at {r3.meeting_id}, below the OOGO: information is not a decision")

    def advice(self) -> Story:
        tables = self.region.bodies_of_kind("table")
        r = self.call(
            moves.submit,
            actor=self.coordinator,
            purpose="advice",
            title="Advies aanpak puzzelkinderen",
            table=tables[0].id,
            parties=["barneveld", "swv-po"],
            focus_point="sp4",
            addressee="swv-po",
        )
        pid = r.proposal_id
        self.ids.append(pid)
        yield self.moved(r, "submitted (for advice)")
        for _ in range(2):
            yield self.advance(pid)
        at = self.advance(pid)
        meeting = self.meeting_of(pid)
        self.approve(pid)
        self.publish(pid, meeting)
        self.call(
            attendance.record_prior_position,
            actor=self.coordinator,
            meeting_id=meeting,
            proposal_id=pid,
            person=self.representative("swv-po"),
            stance="agree",
            position="Kan instemmen, mits de pilot in 2027 start.",
        )
        self.say(pid, "swv-po cannot attend and gives its position beforehand: agree")
        yield at
        self.present(meeting, "barneveld")
        r = self.call(
            decisions.decide,
            actor=self.coordinator,
            proposal_id=pid,
            outcome="positive",
            text="Positief advies over de aanpak.",
        )
        self.say(pid, f"advice recorded at {r.meeting_id} (awaiting the chair)")
        self.call(
            decisions.confirm,
            actor=self.oogo.chair,
            proposal_id=pid,
            amend_text="Positief advies; de pilot start in 2027.",
        )
        self.say(pid, "chair amends the advice text (version 2, confirmation starts again)")
        try:
            self.call(decisions.confirm, actor=self.oogo.chair, proposal_id=pid, version=1)
        except StaleVersion:
            self.say(pid, "a confirmation of version 1 is refused: it was superseded")
        self.call(decisions.confirm, actor=self.oogo.chair, proposal_id=pid, version=2)
        self.say(pid, f"version 2 confirmed by {self.oogo.chair}; sent to its addressee swv-po")
        news = self.call(agenda.oogo_news, actor=self.coordinator, meeting_id=meeting)
        self.say(
            pid,
            f"news from the OOGO {meeting} to the members of {news.bodies} LEAs "
            f"({news.decisions} confirmed decision)",
        )

    # -- led by others, deferred from a cancelled meeting; withdrawn -------------------

    def person_of(self, party: str, body: str) -> str:
        members = set(self.region.body(body).members)
        for person in self.region.people:
            if person.party == party and person.id in members:
                return person.id
        raise UsageError(f"the demo needs a member of {body} for {party}")

    def led_by_others(self) -> Story:
        """The coordinator submits for two leads, who get the instruction with the
        documents' deadline; the table meeting is cancelled after its agenda went out."""
        table = self.region.bodies_of_kind("table")[-1]
        planned = table.meetings[1].meeting_id(table.id)  # the leads need a month
        r = self.call(
            moves.submit,
            actor=self.coordinator,
            purpose="adoption",
            title="Regionale aanpak thuiszitters 2027",
            table=table.id,
            parties=["barneveld", "scherpenzeel"],
            focus_point="sp2",
            summary="Samen voorkomen dat leerlingen thuis komen te zitten.",
            admin_lead=self.representative("barneveld"),
            official_lead=self.person_of("barneveld", "ao"),
            meeting=planned,
        )
        pid = r.proposal_id
        self.ids.append(pid)
        at = self.moved(r, "submitted for its leads (they get the documents' deadline)")
        yield at - timedelta(days=9, hours=4)  # the agenda goes out the week before
        self.publish(pid, planned)
        yield at - timedelta(days=6, hours=4)  # then the meeting is called off
        r = self.call(
            moves.defer,
            actor=self.coordinator,
            proposal_id=pid,
            reason="De tafel van januari gaat niet door",
        )
        at = self.moved(r, "deferred: its table meeting will not take place")
        self.cancel_meeting(pid, planned)
        yield at
        yield self.advance(pid)

    def withdrawal(self) -> Story:
        """Withdrawn at its table: everyone who got the submission hears of it."""
        r = self.call(
            moves.submit,
            actor=self.coordinator,
            purpose="adoption",
            title="Gezamenlijk leerlingenvervoer speciaal onderwijs",
            table=self.region.bodies_of_kind("table")[0].id,
            parties=["rhenen", "renswoude"],
            focus_point="sp1",
        )
        pid = r.proposal_id
        self.ids.append(pid)
        yield self.moved(r, "submitted (for adoption)")
        self.call(
            moves.withdraw,
            actor=self.coordinator,
            proposal_id=pid,
            reason="De gemeenten regelen het vervoer elk zelf",
        )
        self.say(pid, "withdrawn at its table: the gemeenten arrange the transport themselves")
