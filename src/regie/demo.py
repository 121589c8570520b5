"""`regie demo`: five proposals through the whole route, and the mails they cause.

Runs on a temporary SQLite database with ``config/foodvalley.toml`` and a clock that
jumps to each meeting. Each proposal's story (:mod:`regie.demo_stories`) is a generator
that yields the meeting time it waits for; a small scheduler interleaves the stories in
time order. The next morning the outbox is sent to a real local SMTP sink, digests first.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, time, timedelta
from pathlib import Path

import click

from regie import private_files
from regie.clock import AMSTERDAM, FixedClock, to_local
from regie.demo_scheduler import SchedulerWeeks
from regie.demo_stories import START, Demo, Story
from regie.engine import audit, queries
from regie.engine.keys import Key
from regie.engine.setup import init_database
from regie.engine.storage import Database
from regie.errors import UsageError
from regie.region import load_region
from regie.scheduler.sweep import sweep
from regie.workflows.definition import builtin_workflows


def default_config() -> Path:
    return Path(__file__).resolve().parents[2] / "config" / "foodvalley.toml"


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
            stories = [demo.adoption(), demo.information(), demo.advice()]
            interleave(demo, [*stories, demo.led_by_others(), demo.withdrawal()])
            # the chair does not confirm at once: the scheduler reminds them every working
            # day, then tells the coordinator; then the chair uses the link
            weeks = SchedulerWeeks(demo, echo)
            weeks.run(stop=lambda due: due.detail.get("kind") == "escalation")
            confirmed = confirm_over_http(demo, echo)
            weeks.run()
            ok = weeks.done() and _finish(demo, echo) and confirmed
            next_morning = to_local(demo.clock.now()).date() + timedelta(days=1)
            demo.clock.set(datetime.combine(next_morning, time(8, 0), tzinfo=AMSTERDAM))
            sweep(demo.db, demo.clock)  # the morning's digests
            _send_mail(demo, work / "mail", echo, kept=keep is not None)
            return ok
        finally:
            db.dispose()


def confirm_over_http(demo: Demo, echo: Callable[[str], None]) -> bool:
    """The chair confirms the decision that awaits them through the link in their mail:
    the web app (what `regie serve` runs) on a free local port, a GET of the link's page,
    then a POST of its form with the CSRF cookie and field, as a browser sends them."""
    import re

    import httpx

    from regie.web import csrf, links
    from regie.web.serve import secret_of

    pid = demo.awaiting
    assert pid is not None, "a story leaves one decision for its chair to confirm"
    demo.clock.set(demo.clock.now() + timedelta(hours=1))  # an hour after the last mail
    key = secret_of(demo.db)
    row_id, chair = _decision_mail(demo, pid)
    with _web_app(demo, key) as base_url:
        url = links.url_for(base_url, key, row_id)
        echo(f"\nThe chair confirms through the link in the decision mail, over HTTP ({base_url}):")
        shown = f"/l/{row_id}.…"
        try:
            with httpx.Client(timeout=10, follow_redirects=True) as client:
                page = client.get(url)
                demo.say(pid, f"{chair} opens the link: GET {shown} -> {page.status_code}, "
                              f"the page; still {_state(demo, pid)}")  # fmt: skip
                field = re.search(rf'name="{csrf.FIELD}" value="([^"]+)"', page.text)
                form = {csrf.FIELD: field.group(1) if field else "", "action": "confirm"}
                done = client.post(url, data=form)
        except httpx.HTTPError as exc:
            echo(f"  the web app did not answer: {exc}")
            return False
    state = _state(demo, pid)
    demo.say(pid, f"{chair} clicks Confirm: POST {shown} -> {done.status_code} "
                  f"'{_heading(done.text)}'; now {state}")  # fmt: skip
    return page.status_code == 200 and done.status_code == 200 and state == "decided"


def _decision_mail(demo: Demo, pid: str) -> tuple[int, str]:
    """The outbox row of the chair's latest decision mail about ``pid``, and the chair."""
    from regie.engine.storage import Tx

    with demo.db.transaction(write=False) as session:
        row = Tx(session).one(
            "SELECT id, person_id FROM outbox WHERE kind = 'decision_recorded' "
            "AND proposal_id = ? ORDER BY id DESC",
            (pid,),
        )
    assert row is not None, f"{pid}: no decision_recorded notice in the outbox"
    return int(row[0]), str(row[1])


def _state(demo: Demo, pid: str) -> str:
    from regie.engine.storage import Tx

    with demo.db.transaction(write=False) as session:
        return str(Tx(session).scalar("SELECT state FROM proposal WHERE id = ?", (pid,)))


def _heading(page: str) -> str:
    import html
    import re

    found = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split()) if found else ""


@contextmanager
def _web_app(demo: Demo, key: Key) -> Iterator[str]:
    """The web app on a free loopback port (uvicorn in a thread, the demo's clock); yields
    its base URL."""
    import threading

    import uvicorn

    from regie.notifications.sink import free_port
    from regie.web.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(demo.db, demo.clock, key), host="127.0.0.1", port=port,
                       log_level="warning", access_log=False, lifespan="off")
    )  # fmt: skip
    thread = threading.Thread(target=server.run, name="regie-demo-web", daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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
    from email.parser import BytesHeaderParser

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
    when = to_local(demo.clock.now()).strftime("%a %d %b %Y %H:%M")
    echo(
        f"\nMail: {report.sent} notices sent to a local SMTP sink (aiosmtpd on port {port}); "
        f"{report.retry} to retry, {report.failed} failed\n"
        f"  ({when}, the next morning: the digests of people with digest = true are in it)"
    )
    kinds: Counter[str] = Counter()
    example: dict[str, str] = {}
    for mail in handler.messages:
        kind = str(BytesHeaderParser().parsebytes(mail.data)["X-Regie-Notice"])
        kinds[kind] += 1
        example.setdefault(kind, mail.subject)
    for kind, n in kinds.most_common():
        subject = example[kind]
        subject = subject if len(subject) <= 72 else subject[:71] + "…"
        echo(f"  {n:3} x {kind:<17}  e.g. {subject}")
    per_person = Counter(to for mail in handler.messages for to in mail.rcpt_tos)
    echo(
        f"  to {len(per_person)} people; most: "
        + ", ".join(f"{to} ({n})" for to, n in per_person.most_common(3))
    )
    if kept:
        echo(f"  the messages are in {folder} (open the .eml files in a mail program)")
    else:
        echo("  (run 'regie demo --keep DIR' to keep the database and the .eml files)")
