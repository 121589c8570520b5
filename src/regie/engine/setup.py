"""`regie init`: create or upgrade the schema, then load the region config.

Re-running with a changed config updates people, bodies, mandates and future meetings;
meetings that have started, proposals, decisions and the audit trail are never touched.
People and bodies that left the config are marked inactive (history still names them).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import Session, select

from regie.clock import Clock, to_local, to_utc_naive
from regie.engine import keys
from regie.engine import models as m
from regie.engine.calendar import stored_holidays
from regie.engine.changes import Change
from regie.engine.storage import Database, Tx, as_datetime, require_schema, upgrade
from regie.errors import ConfigError
from regie.notifications.outbox import INSTALLATION_KEY
from regie.region import Region
from regie.workflows.definition import Workflow


@dataclass
class InitReport:
    database: str
    region: str
    people: int = 0
    bodies: int = 0
    meetings_added: int = 0
    meetings_changed: int = 0
    meetings_cancelled: int = 0
    workflows_added: list[str] = field(default_factory=list)
    key: str = ""  # where the audit key comes from (a file path or REGIE_SECRET), never itself
    key_created: bool = False

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def init_database(
    *, db: Database, clock: Clock, region: Region, workflows: dict[str, Workflow] | None = None
) -> InitReport:
    """Migrate the schema, then apply the region and workflows in one transaction.
    ``workflows`` defaults to the region's own (its config's, else the built-in ones)."""
    workflows = dict(region.workflows) if workflows is None else workflows
    upgrade(db)
    require_schema(db)
    key, created = _audit_key(db)
    with db.session() as session:
        report = _apply(session, clock, region, workflows)
        report.database = db.path or "(server)"
        report.key, report.key_created = (key.source if key else ""), created
        session.commit()
    return report


_NOT_IN_EVENT = ("database", "key", "key_created")


def _audit_key(db: Database) -> tuple[keys.Key | None, bool]:
    """The key outside the database that authenticates the audit trail: created (a 0600
    file) when the trail has no key yet; a trail that has one must find that one."""
    with db.session(write=False) as session:
        used = Tx(session).scalar(
            "SELECT key_id FROM audit_event WHERE key_id IS NOT NULL ORDER BY id DESC LIMIT 1"
        )
    if used is None:
        return keys.ensure_key(db.path, db.is_sqlite)
    found = keys.load_key(db.path, db.is_sqlite)
    if found is None:
        raise keys.missing_key(str(used), db.path, db.is_sqlite)
    if found.key_id != used:
        raise keys.wrong_key(found, str(used))
    return found, False


def _apply(
    session: Session, clock: Clock, region: Region, workflows: dict[str, Workflow]
) -> InitReport:
    now = to_utc_naive(clock.now())
    report = InitReport(database="", region=region.name)
    _settings(session, region, to_local(clock.now()).year)
    _parties_people(session, region, report)
    _bodies(session, region, report)
    _registers(session, region)
    meeting_events = _meetings(session, region, now, report)
    _workflows(session, workflows, now, report)
    session.flush()
    text = Path(region.source).read_bytes() if Path(region.source).exists() else b""
    ch = Change(session, _Frozen(now), region.coordinator)
    ch.record(
        "config_loaded",
        acting_for=None,
        payload={
            "file": str(region.source),
            "sha256": hashlib.sha256(text).hexdigest(),
            **{k: v for k, v in report.as_dict().items() if k not in _NOT_IN_EVENT},
        },
    )
    for action, meeting_id, payload in meeting_events:
        ch.record(action, meeting_id=meeting_id, acting_for=None, payload=payload)
    return report


class _Frozen:
    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        from datetime import UTC

        return self._at.replace(tzinfo=UTC)


def _settings(session: Session, region: Region, this_year: int) -> None:
    values: dict[str, object] = {
        "name": region.name,
        "coordinator": region.coordinator,
        "timezone": region.timezone,
        "language": region.language,
        "roles": region.roles.as_setting(),
        "calendar": {
            "extra_closed_days": [d.isoformat() for d in region.calendar.extra_closed_days],
            "open_days": [d.isoformat() for d in region.calendar.open_days],
            "public_holidays": stored_holidays(this_year),
        },
    }
    values["mail"] = region.mail.model_dump(exclude_none=True)
    values["notifications"] = region.notifications.model_dump()
    values["web"] = region.web.as_setting()  # read by regie.web.settings
    values["scheduler"] = region.scheduler.as_setting()  # read by regie.scheduler.settings
    old = session.get(m.RegionSetting, "generation")
    values["generation"] = (json.loads(old.value) if old else 0) + 1  # invalidates caches
    if session.get(m.RegionSetting, INSTALLATION_KEY) is None:  # kept when init runs again
        values[INSTALLATION_KEY] = secrets.token_hex(6)  # in every Message-ID of this database
    for key, value in values.items():
        session.merge(m.RegionSetting(key=key, value=json.dumps(value)))
    session.info.pop("regie_facts", None)
    session.info.pop("regie_notify_rules", None)


def _parties_people(session: Session, region: Region, report: InitReport) -> None:
    for party in region.parties:
        session.merge(
            m.Party(id=party.id, name=party.name, kind=party.kind, short_name=party.short_name)
        )
    session.flush()
    seen = set()
    for person in region.people:
        seen.add(person.id)
        session.merge(
            m.Person(
                id=person.id,
                name=person.name,
                email=person.email,
                party_id=person.party,
                language=person.language,
                digest=person.digest,
                active=True,
            )
        )
    for old in session.exec(select(m.Person)).all():
        if old.id not in seen:
            old.active = False
    report.people = len(seen)
    session.flush()


def _bodies(session: Session, region: Region, report: InitReport) -> None:
    seen = set()
    for body in region.bodies:
        seen.add(body.id)
        session.merge(
            m.Body(
                id=body.id,
                name=body.name,
                kind=body.kind,
                chair_id=body.chair,
                deadline_working_days=body.deadline_working_days,
                party_id=body.party,
                active=True,
                short_name=body.short_name,
                article=body.article,
            )
        )
    for old in session.exec(select(m.Body)).all():
        if old.id not in seen:
            old.active = False
    session.flush()
    session.execute(delete(m.BodyMember))
    for body in region.bodies:
        for person in dict.fromkeys(body.members):
            session.add(m.BodyMember(body_id=body.id, person_id=person))
    for fp in region.focus_points:
        session.merge(
            m.FocusPoint(
                id=fp.id,
                title_nl=fp.title_nl,
                title_en=fp.title_en,
                admin_lead=fp.admin_lead,
                official_lead=fp.official_lead,
            )
        )
    report.bodies = len(seen)
    session.flush()


def _registers(session: Session, region: Region) -> None:
    """Mandates and substitutes are the config's register: replaced as a whole."""
    session.execute(delete(m.Mandate))
    session.execute(delete(m.Substitute))
    for md in region.mandates:
        session.add(
            m.Mandate(
                person_id=md.person,
                party_id=md.party,
                body_id=md.body,
                valid_from=md.valid_from,
                valid_until=md.valid_until,
            )
        )
    for sub in region.substitutes:
        session.add(m.Substitute(party_id=sub.party, body_id=sub.body, person_id=sub.person))
    session.flush()


MeetingEvent = tuple[str, str, dict[str, object]]


def _meetings(
    session: Session, region: Region, now: datetime, report: InitReport
) -> list[MeetingEvent]:
    """Add, move and cancel future meetings; a moved or cancelled meeting whose agenda was
    published gets an event, so its members receive a calendar update or cancellation."""
    wanted: dict[str, tuple[str, datetime, datetime, str]] = {}
    for body in region.bodies:
        for spec in body.meetings:
            wanted[spec.meeting_id(body.id)] = (
                body.id,
                to_utc_naive(spec.starts_at()),
                to_utc_naive(spec.ends_at()),
                spec.location,
            )
    existing = {mt.id: mt for mt in session.exec(select(m.Meeting)).all()}
    events: list[MeetingEvent] = []
    for mid, (body_id, starts, ends, location) in wanted.items():
        old = existing.get(mid)
        if old is None:
            session.add(
                m.Meeting(
                    id=mid, body_id=body_id, starts_at=starts, ends_at=ends, location=location
                )
            )
            report.meetings_added += 1
        elif _naive(old.starts_at) > now and (
            (_naive(old.starts_at), _naive(old.ends_at), old.location, old.status, old.body_id)
            != (starts, ends, location, "scheduled", body_id)
        ):
            before = _meeting_facts(old)
            old.starts_at, old.ends_at, old.location = starts, ends, location
            old.status, old.body_id = "scheduled", body_id
            old.sequence += 1
            report.meetings_changed += 1
            events += _if_published(session, "meeting_changed", old, before)
    for mid, old in existing.items():
        if mid not in wanted and _naive(old.starts_at) > now and old.status != "cancelled":
            _refuse_if_busy(session, region, old)
            old.status = "cancelled"
            old.sequence += 1
            report.meetings_cancelled += 1
            events += _if_published(session, "meeting_cancelled", old, None)
    session.flush()
    return events


def _naive(value: datetime) -> datetime:
    """A stored time as naive UTC (PostgreSQL hands back aware ones)."""
    found = as_datetime(value)
    assert found is not None
    return found


def _meeting_facts(meeting: m.Meeting) -> dict[str, object]:
    return {
        "starts_at": to_local(meeting.starts_at).isoformat(),
        "ends_at": to_local(meeting.ends_at).isoformat(),
        "location": meeting.location,
    }


def _if_published(
    session: Session, action: str, meeting: m.Meeting, before: dict[str, object] | None
) -> list[MeetingEvent]:
    """The event for a changed meeting, if its agenda went out (with an invite) before."""
    published = Tx(session).scalar(
        "SELECT 1 FROM audit_event WHERE action = 'agenda_published' AND meeting_id = ? LIMIT 1",
        (meeting.id,),
    )
    if not published:
        return []
    payload: dict[str, object] = {
        **_meeting_facts(meeting),
        "sequence": meeting.sequence,
        "status": meeting.status,
    }
    if before is not None:
        payload["previous"] = before
    return [(action, meeting.id, payload)]


def _refuse_if_busy(session: Session, region: Region, meeting: m.Meeting) -> None:
    busy = session.exec(select(m.Proposal.id).where(m.Proposal.meeting_id == meeting.id)).all()
    if busy:
        raise ConfigError(
            str(region.source),
            "bodies.meetings",
            f"meeting {meeting.id} is no longer in the config but {', '.join(busy)} "
            f"{'is' if len(busy) == 1 else 'are'} on its agenda; defer them to another meeting "
            "first ('regie defer'), or keep the meeting",
        )


def _workflows(
    session: Session, workflows: dict[str, Workflow], now: datetime, report: InitReport
) -> None:
    tx = Tx(session)
    for purpose, wf in sorted(workflows.items()):
        known = tx.scalar("SELECT loaded_at FROM workflow_version WHERE digest = ?", (wf.digest,))
        if known is None:
            session.add(
                m.WorkflowVersion(
                    digest=wf.digest, purpose=purpose, source=wf.source, text=wf.text, loaded_at=now
                )
            )
            report.workflows_added.append(f"{purpose} {wf.digest[:12]}")
        session.merge(m.RegionSetting(key=f"workflow.{purpose}", value=json.dumps(wf.digest)))
    session.flush()
