"""`regie demo`, last part: the scheduler keeps the calendar for six weeks.

After the stories, one more proposal is submitted and nobody records its documents. Then
the demo's clock moves from one due time to the next, as a running ``regie scheduler``
would see them, and each sweep fires what has come due: the leads are reminded of the
document deadline, the item is deferred at the deadline, agendas go out (or the
coordinator is asked about an empty one), parties without a mandate are reminded and the
chair and coordinator get the escalation, digests go out every morning. Every firing is
printed; the mails are in the outbox for the sender that runs after it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from regie.clock import to_local, to_utc_naive
from regie.engine import moves
from regie.scheduler.sweep import due_items, sweep

if TYPE_CHECKING:
    from regie.demo_stories import Demo
    from regie.scheduler.rules import Due

WEEKS = 6


class SchedulerWeeks:
    """The scheduler from the end of the stories for ``weeks``; :meth:`run` moves the clock
    from one due time to the next and sweeps, until a firing ``stop`` accepts or the end."""

    def __init__(self, demo: Demo, echo: Callable[[str], None], weeks: int = WEEKS) -> None:
        self.demo, self.echo = demo, echo
        self.end = to_utc_naive(demo.clock.now() + timedelta(weeks=weeks))
        self.fired: Counter[str] = Counter()
        pid = _undocumented_proposal(demo)
        echo(f"\nThe scheduler keeps the calendar for {weeks} weeks (regie scheduler):")
        echo(f"  {pid} is submitted; nobody records its documents")

    def run(self, stop: Callable[[Due], bool] | None = None) -> None:
        demo = self.demo
        while True:
            stopped = False
            for due in sweep(demo.db, demo.clock).fired:
                what = _what(due)
                self.fired[what] += 1
                stopped = stopped or (stop is not None and stop(due))
                if due.rule != "digest":
                    at = to_local(due.due_at).strftime("%a %d %b %Y %H:%M")
                    late = due.due_at < to_utc_naive(demo.clock.now()) - timedelta(hours=1)
                    extra = " (overdue: fired when the scheduler started)" if late else ""
                    self.echo(f"  {at}  {what:<28} {_about(due)}{extra}")
            upcoming = None if stopped else _next_due(demo, self.end)
            if upcoming is None:
                return
            demo.clock.set(upcoming.replace(tzinfo=UTC))

    def done(self) -> bool:
        """Did the weeks show a reminder, an escalation and an automatic deferral?"""
        self.echo(
            f"  … and {self.fired['digest']} daily digest runs; "
            f"until {to_local(self.end):%a %d %b %Y}"
        )
        actions = (" reminder", " escalation", " defer")
        return all(any(what.endswith(a) for what in self.fired) for a in actions)


def _undocumented_proposal(demo: Demo) -> str:
    table = next(b for b in demo.region.bodies if b.kind == "table")
    point = next(p for p in demo.region.focus_points if p.admin_lead and p.official_lead)
    r = demo.call(
        moves.submit,
        actor=demo.region.coordinator,
        title="Pilot thuiszitters: maatwerktrajecten 2027",
        purpose="adoption",
        table=table.id,
        parties=["ede", "barneveld"],
        focus_point=point.id,
        admin_lead=point.admin_lead,
        official_lead=point.official_lead,
    )
    demo.ids.append(r.proposal_id)
    return str(r.proposal_id)


def _next_due(demo: Demo, end: datetime) -> datetime | None:
    now = to_utc_naive(demo.clock.now())
    later = [d.due_at for _r, d in due_items(demo.db, now, end, unfired=True) if d.due_at > now]
    return min(later).replace(tzinfo=None) if later else None


def _what(due: Due) -> str:
    action = due.detail.get("action") or due.detail.get("kind") or due.item.split(":")[0]
    return due.rule if due.rule == "digest" else f"{due.rule} {action}"


def _about(due: Due) -> str:
    d = due.detail
    subject = d.get("proposal") or d.get("proposal_id") or d.get("meeting") or due.item
    return f"{subject}" + (f" -> {due.person}" if due.person else "")
