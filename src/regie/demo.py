"""`regie demo`: three proposals, one per purpose, through the whole route.

Runs on a temporary SQLite database with ``config/foodvalley.toml`` and a clock that
jumps to each meeting. Each proposal's story is a generator that yields the meeting time
it waits for; a small scheduler interleaves the stories in time order.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from regie import private_files
from regie.clock import AMSTERDAM, FixedClock, to_local
from regie.engine import agenda, agenda_approval, attendance, audit, decisions, moves, queries
from regie.engine.moves import MoveResult
from regie.engine.setup import init_database
from regie.engine.storage import Database
from regie.errors import MandateMissing, StaleVersion, UsageError
from regie.region import Region, load_region
from regie.workflows.definition import builtin_workflows

START = datetime(2026, 11, 23, 9, 0, tzinfo=AMSTERDAM)
Story = Generator[datetime, None, None]


def default_config() -> Path:
    return Path(__file__).resolve().parents[2] / "config" / "foodvalley.toml"


class Demo:
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

    def decide_and_confirm(self, pid: str, outcome: str, text: str) -> None:
        r = self.call(
            decisions.decide, actor=self.coordinator, proposal_id=pid, outcome=outcome, text=text
        )
        self.say(pid, f"decision recorded at {r.meeting_id}: {outcome} (awaiting the chair)")
        self.call(decisions.confirm, actor=self.oogo.chair, proposal_id=pid, version=1)
        self.say(pid, f"decision confirmed by {self.oogo.chair}, chair of the OOGO")

    # -- the three stories -------------------------------------------------------------

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
        yield at
        meeting = self.meeting_of(pid)
        for party in ("veenendaal", "swv-vo"):
            self.present(meeting, party)
        self.try_without_ede(pid, meeting)
        self.decide_and_confirm(pid, "adopted", "Het beleidskader OZA wordt vastgesteld.")

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
        self.call(agenda.publish_agenda, actor=self.coordinator, meeting_id=meeting)
        self.say(pid, f"agenda of {meeting} published (mail with calendar invite to its members)")
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


def interleave(demo: Demo, stories: list[Story]) -> None:
    """Run the stories in time order; each resumes half an hour into its meeting."""
    queue: list[tuple[datetime, int, Story]] = []
    for n, story in enumerate(stories):
        demo.clock.set(START + timedelta(minutes=n))
        _resume(queue, n, story)
    while queue:
        at, n, story = heapq.heappop(queue)
        demo.clock.set(at + timedelta(minutes=30))
        _resume(queue, n, story)


def _resume(queue: list[tuple[datetime, int, Story]], n: int, story: Story) -> None:
    with suppress(StopIteration):
        heapq.heappush(queue, (next(story), n, story))


@contextmanager
def _workdir(keep: str | None) -> Iterator[Path]:
    if keep:
        path = Path(keep)
        private_files.make_dirs(path)  # 0700, like every folder regie creates
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="regie-demo-") as tmp:
        yield Path(tmp)


def run_demo(
    *, keep: str | None = None, config: str | None = None, echo: Callable[[str], None] = click.echo
) -> bool:
    config_path = Path(config) if config else default_config()
    if not config_path.exists():
        raise UsageError(
            f"{config_path}: the example region config is not there; pass --config FILE"
        )
    region = load_region(config_path)
    with _workdir(keep) as work:
        db_file = work / "demo.db"
        if db_file.exists():
            raise UsageError(f"{db_file} exists already; choose an empty --keep folder")
        db = Database(f"sqlite:///{db_file}")
        try:
            report = init_database(
                db=db, clock=FixedClock(START), region=region, workflows=builtin_workflows()
            )
            echo(
                f"regie demo: region {report.region}, {report.people} people, "
                f"{report.bodies} bodies, database {db_file}"
            )
            demo = Demo(db, region, echo)
            interleave(demo, [demo.adoption(), demo.information(), demo.advice()])
            ok = _finish(demo, echo)
            _send_mail(demo, work / "mail", echo, kept=keep is not None)
            return ok
        finally:
            db.dispose()


def _finish(demo: Demo, echo: Callable[[str], None]) -> bool:
    echo("\nAudit timeline:")
    with demo.db.transaction(write=False) as session:
        for pid in demo.ids:
            for ev in queries.timeline(session=session, proposal_id=pid):
                at = ev["at"][:16].replace("T", " ")
                echo(f"  #{ev['id']:<3} {at}  {pid}  {ev['action']:<15} by {ev['actor']}")
        report = audit.verify(session)
    if report.ok:
        echo(f"\naudit verify: chain intact ({report.events} events)")
    else:
        echo(f"\naudit verify: BROKEN at event {report.bad_event}: {report.problem}")
    return report.ok


def _send_mail(demo: Demo, folder: Path, echo: Callable[[str], None], *, kept: bool) -> None:
    """Drain the outbox to a real local SMTP sink (aiosmtpd) and show who got what."""
    import asyncio
    from collections import Counter

    from regie.engine.storage import Tx
    from regie.notifications.sender import Sender
    from regie.notifications.sink import MailSink, running
    from regie.notifications.smtp_settings import load_settings, with_overrides

    handler = MailSink(folder)
    with demo.db.transaction(write=False) as session:
        settings = load_settings(Tx(session), env={})
    with running(handler) as port:
        settings = with_overrides(
            settings, host="127.0.0.1", port=port, starttls=False, tls=False, user=None
        )
        report = asyncio.run(Sender(demo.db, settings, demo.clock).drain())
    echo(
        f"\nMail: {report.sent} notices sent to a local SMTP sink (aiosmtpd on port {port}); "
        f"{report.retry} to retry, {report.failed} failed"
    )
    per_person = Counter(to for mail in handler.messages for to in mail.rcpt_tos)
    kinds = Counter(mail.subject.split(":")[0] for mail in handler.messages)
    for subject, n in kinds.most_common(8):
        echo(f"  {n:3} x {subject}")
    echo(
        f"  to {len(per_person)} people; most: "
        + ", ".join(f"{to} ({n})" for to, n in per_person.most_common(3))
    )
    for mail in handler.messages[:5]:
        echo(f"  e.g. to {', '.join(mail.rcpt_tos)}: {mail.subject}")
    if kept:
        echo(f"  the messages are in {folder} (open the .eml files in a mail program)")
    else:
        echo("  (run 'regie demo --keep DIR' to keep the database and the .eml files)")
