"""Which meeting a proposal goes to: the next meeting of the stage's body whose document
deadline (in working days) has not passed, or one the coordinator chooses."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime

from regie.clock import to_local
from regie.engine import repository as repo
from regie.engine.changes import Change
from regie.engine.repository import MeetingRow, ProposalRow
from regie.errors import NotFound, UsageError
from regie.workflows.definition import Workflow, bodies_for


@dataclass(frozen=True)
class Placement:
    meeting: MeetingRow
    late: bool  # chosen by hand although its document deadline has passed


def stage_body(ch: Change, workflow: Workflow, proposal: ProposalRow, stage: str) -> str:
    """The body a stage meets in: the proposal's own table for the first stage, else the
    body the stage names by id or by kind (the config check made sure there is one)."""
    if stage == workflow.start:
        return proposal.table_id
    ref = workflow.stage(stage).body
    key = ("stage_body", ref)  # the bodies change only with `regie init` (new facts)
    found = ch.facts.cache.get(key)
    if found is None:
        found = ch.facts.cache[key] = bodies_for(
            ref, ((b.id, b.kind) for b in ch.facts.bodies.values())
        )
    if len(found) != 1:
        raise UsageError(
            f"stage '{stage}' meets in '{ref}', which names {len(found)} active bodies of the "
            "region; fix the region config (one body with that id or kind) and run "
            "'regie init --config FILE'"
        )
    return found[0]


def start_bodies(ch: Change, workflow: Workflow) -> list[str]:
    """Where proposals of this workflow may start: the bodies its first stage names."""
    ref = workflow.stage(workflow.start).body
    return sorted(bodies_for(ref, ((b.id, b.kind) for b in ch.facts.bodies.values())))


def _deadline_passed(ch: Change, meeting: MeetingRow, working_days: int) -> bool:
    deadline = ch.facts.calendar.deadline(to_local(meeting.starts_at).date(), working_days)
    return to_local(ch.now).date() > deadline


_EPOCH = datetime(1970, 1, 1)


def _schedule(ch: Change, body_id: str) -> list[MeetingRow]:
    """The body's scheduled meetings in time order. Meetings change only with `regie init`,
    which starts a new config generation, so they are kept with the region facts."""
    key = ("schedule", body_id)
    found = ch.facts.cache.get(key)
    if found is None:
        found = ch.facts.cache[key] = repo.upcoming_meetings(ch.tx, body_id, _EPOCH, None)
    return list(found)


def place(
    ch: Change, body_id: str, *, chosen: str | None = None, after: MeetingRow | None = None
) -> Placement:
    body = ch.facts.bodies.get(body_id)
    working_days = body.deadline_working_days if body else 0
    if chosen is not None:
        return _chosen(ch, body_id, chosen, working_days)
    start = ch.now if after is None else max(ch.now, after.starts_at)
    schedule = _schedule(ch, body_id)
    starts = [m.starts_at for m in schedule]
    for meeting in schedule[bisect_right(starts, start) :]:
        if not _deadline_passed(ch, meeting, working_days):
            return Placement(meeting, late=False)
    raise NotFound(
        f"meeting of '{body_id}' whose document deadline ({working_days} working days) has not "
        "passed, after",
        to_local(start).strftime("%Y-%m-%d %H:%M"),
        "add meetings to the region config and run 'regie init --config FILE', "
        "or choose one with --meeting",
    )


def _chosen(ch: Change, body_id: str, meeting_id: str, working_days: int) -> Placement:
    meeting = repo.load_meeting(ch.tx, meeting_id)
    if meeting.body_id != body_id:
        raise UsageError(
            f"meeting {meeting_id} belongs to '{meeting.body_id}', but the proposal goes to "
            f"'{body_id}'; choose a meeting of '{body_id}' (see 'regie meetings --body {body_id}')"
        )
    if meeting.status != "scheduled":
        raise UsageError(f"meeting {meeting_id} is {meeting.status}; choose another meeting")
    if meeting.starts_at <= ch.now:
        raise UsageError(
            f"meeting {meeting_id} has already started or taken place; choose a future meeting"
        )
    return Placement(meeting, late=_deadline_passed(ch, meeting, working_days))
