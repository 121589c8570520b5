"""Database tables (SQLModel). The schema is owned by the Alembic migrations in
``engine/migrations``; these classes describe it for reads and for autogenerate.

Times are stored as naive UTC. Ids of people, parties, bodies and meetings come from the
region config; proposal ids are ``P-<year>-<nnn>``.
"""

from __future__ import annotations

from datetime import date

from pydantic import NaiveDatetime as datetime  # stored as naive UTC
from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlalchemy import false as sa_false
from sqlmodel import Field, SQLModel

from regie.engine.machine import OPEN_STATE_SQL


class Party(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str
    kind: str
    short_name: str | None = None  # in lists in mails ("SWV PO"); else the name


class Person(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str
    email: str
    party_id: str = Field(foreign_key="party.id")
    language: str = "nl"
    digest: bool = False
    active: bool = True


class Body(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str
    kind: str = Field(index=True)
    chair_id: str = Field(foreign_key="person.id")
    deadline_working_days: int = 5
    party_id: str | None = Field(default=None, foreign_key="party.id")
    active: bool = True
    short_name: str | None = None  # in mails ("OOGO"); else the name
    article: str = Field(default="de", sa_column_kwargs={"server_default": "de"})  # 0009


class BodyMember(SQLModel, table=True):
    __tablename__ = "body_member"
    body_id: str = Field(foreign_key="body.id", primary_key=True)
    person_id: str = Field(foreign_key="person.id", primary_key=True)


class Mandate(SQLModel, table=True):
    __table_args__ = (Index("ix_mandate_valid_until", "valid_until"),)  # 0013
    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(foreign_key="person.id", index=True)
    party_id: str = Field(foreign_key="party.id")
    body_id: str = Field(foreign_key="body.id")
    valid_from: date
    valid_until: date | None = None


class Substitute(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    party_id: str = Field(foreign_key="party.id")
    body_id: str = Field(foreign_key="body.id")
    person_id: str = Field(foreign_key="person.id")


class FocusPoint(SQLModel, table=True):
    __tablename__ = "focus_point"
    id: str = Field(primary_key=True)
    title_nl: str
    title_en: str
    admin_lead: str | None = None  # person ids (rule of conduct: every focus point has
    official_lead: str | None = None  # an administrative and an official lead)


class RegionSetting(SQLModel, table=True):
    """Key/value facts of the region (name, coordinator, calendar), JSON values."""

    __tablename__ = "region_setting"
    key: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Meeting(SQLModel, table=True):
    __table_args__ = (
        Index("ix_meeting_body_start", "body_id", "starts_at"),
        Index("ix_meeting_starts_at", "starts_at"),  # 0012: the scheduler's time windows
        Index("ix_meeting_ends_at", "ends_at"),  # 0012
    )
    id: str = Field(primary_key=True)
    body_id: str = Field(foreign_key="body.id")
    starts_at: datetime
    ends_at: datetime
    location: str = ""
    status: str = "scheduled"  # scheduled | cancelled
    sequence: int = 0  # raised on every change (calendar invites)


class WorkflowVersion(SQLModel, table=True):
    """Every workflow definition a proposal ever followed, by the hash of its text."""

    __tablename__ = "workflow_version"
    digest: str = Field(primary_key=True)
    purpose: str
    source: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    loaded_at: datetime


class Proposal(SQLModel, table=True):
    # `regie list` (newest first, filters): migration 0007
    __table_args__ = (
        Index("ix_proposal_submitted", "submitted_at"),
        Index("ix_proposal_state_submitted", "state", "submitted_at"),
        Index("ix_proposal_stage_submitted", "stage", "submitted_at"),
        Index("ix_proposal_meeting", "meeting_id"),
        # the open items on a meeting (the scheduler's deferral of items left open): 0014
        Index(
            "ix_proposal_open",
            "meeting_id",
            sqlite_where=text(OPEN_STATE_SQL),
            postgresql_where=text(OPEN_STATE_SQL),
        ),
    )
    id: str = Field(primary_key=True)
    title: str
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    purpose: str
    workflow_digest: str = Field(foreign_key="workflow_version.digest")
    table_id: str = Field(foreign_key="body.id")
    focus_point: str | None = Field(default=None, foreign_key="focus_point.id")
    admin_lead: str | None = Field(default=None, foreign_key="person.id")
    official_lead: str | None = Field(default=None, foreign_key="person.id")
    documents: str = "[]"  # JSON list of links
    route: str  # JSON list of stage ids
    stage: str
    state: str
    meeting_id: str | None = Field(default=None, foreign_key="meeting.id")
    version: int = 1  # compare-and-set counter, raised by every change
    submitted_by: str = Field(foreign_key="person.id")
    submitted_at: datetime
    updated_at: datetime
    addressee: str | None = None  # advice: "party:<id>" or "body:<id>"
    follow_up: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})  # 0013


class ProposalParty(SQLModel, table=True):
    __tablename__ = "proposal_party"
    __table_args__ = (Index("ix_proposal_party_party", "party_id", "proposal_id"),)
    proposal_id: str = Field(foreign_key="proposal.id", primary_key=True)
    party_id: str = Field(foreign_key="party.id", primary_key=True)


class Attendance(SQLModel, table=True):
    meeting_id: str = Field(foreign_key="meeting.id", primary_key=True)
    person_id: str = Field(foreign_key="person.id", primary_key=True)
    party_id: str = Field(foreign_key="party.id")
    status: str  # present | absent | substitute
    substitute_for: str | None = Field(default=None, foreign_key="person.id")
    recorded_by: str = Field(foreign_key="person.id")
    recorded_at: datetime


class PriorPosition(SQLModel, table=True):
    __tablename__ = "prior_position"
    meeting_id: str = Field(foreign_key="meeting.id", primary_key=True)
    proposal_id: str = Field(foreign_key="proposal.id", primary_key=True)
    party_id: str = Field(foreign_key="party.id", primary_key=True)
    person_id: str = Field(foreign_key="person.id")
    position: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime
    stance: str | None = None  # agree | disagree | abstain (None: recorded before 0004)


class Decision(SQLModel, table=True):
    """One version of the decision text of a proposal; a new version restarts confirmation."""

    __table_args__ = (
        Index("ix_decision_meeting", "meeting_id"),  # 0012
        # what changed at a meeting since a moment (the scheduler's news rule): 0014
        Index("ix_decision_meeting_confirmed", "meeting_id", "confirmed_at"),
    )

    proposal_id: str = Field(foreign_key="proposal.id", primary_key=True)
    version: int = Field(primary_key=True)
    meeting_id: str = Field(foreign_key="meeting.id")
    outcome: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    override_reason: str | None = None
    recorded_by: str = Field(foreign_key="person.id")
    recorded_at: datetime
    confirmed_by: str | None = Field(default=None, foreign_key="person.id")
    confirmed_at: datetime | None = None
    dissent: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    retracted_by: str | None = None  # a recorded decision withdrawn for a new one
    retracted_at: datetime | None = None


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained. UPDATE and DELETE are refused by triggers."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_meeting_action", "meeting_id", "action"),)  # 0008
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str
    acting_for: str | None = None
    action: str
    proposal_id: str | None = Field(default=None, index=True)
    meeting_id: str | None = None
    payload: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str
    hash: str
    os_user: str | None = None  # migration 0005: the process's OS account and host
    host: str | None = None
    mac: str | None = None  # HMAC over hash with the key outside the database (keys.py)
    key_id: str | None = None


class Counter(SQLModel, table=True):
    name: str = Field(primary_key=True)
    value: int = 0


class LinkUse(SQLModel, table=True):
    """A link from a mail that was used (migration 0010): the outbox row the link names,
    when, by whom and what it did (``confirmed``, ``correction_requested``). Written in the
    same transaction as the change, so a link is used once."""

    __tablename__ = "link_use"
    row_id: int = Field(
        foreign_key="outbox.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    used_at: datetime
    person_id: str = Field(foreign_key="person.id")
    outcome: str


class Firing(SQLModel, table=True):
    """A scheduler rule that fired (migration 0011): for which item and person (``''``:
    none) and due date, when, and its first audit event. The unique key makes each firing
    happen once, also with several schedulers on one database."""

    __table_args__ = (
        UniqueConstraint("rule", "item", "person", "due_at", name="uq_firing_key"),
        Index("ix_firing_due_at", "due_at"),  # 0012
    )
    id: int | None = Field(default=None, primary_key=True)
    rule: str
    item: str
    person: str
    due_at: datetime
    fired_at: datetime
    event_id: int | None = None


class Feasibility(SQLModel, table=True):
    """A concerned party's statement whether a proposal's follow-up is feasible (migration
    0013, ``regie feasibility``): the latest per proposal and party stands."""

    __table_args__ = (Index("ix_feasibility_proposal_party", "proposal_id", "party_id"),)
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: str = Field(foreign_key="proposal.id")
    party_id: str = Field(foreign_key="party.id")
    person_id: str = Field(foreign_key="person.id")  # who stated it (for the party)
    feasible: bool
    text: str = Field(sa_column=Column(Text, nullable=False))
    stated_at: datetime
    event_id: int | None = None


class Revisit(SQLModel, table=True):
    """A proposal that consciously reopens an earlier decision (migration 0015, ``regie
    submit --revisits``): shown on both proposals, in mails and pages."""

    __table_args__ = (Index("ix_revisit_earlier", "earlier_id"),)
    proposal_id: str = Field(foreign_key="proposal.id", primary_key=True)
    earlier_id: str = Field(foreign_key="proposal.id", primary_key=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime


class SearchEntry(SQLModel, table=True):
    """A searchable text (migration 0016, ``regie audit search``): a proposal's title or
    summary, a decision text version, a correction comment, a prior position; with its
    Dutch stems. The full-text index over it (SQLite FTS5 ``search_fts``; PostgreSQL GIN
    on ``to_tsvector('dutch', text)``) is made by the migration alone."""

    __tablename__ = "search_entry"
    __table_args__ = (Index("ix_search_entry_proposal", "proposal_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: str = Field(foreign_key="proposal.id")
    kind: str  # proposal | decision | correction | position
    ref: str = ""  # title | summary; the decision version; the party
    meeting_id: str | None = Field(default=None, foreign_key="meeting.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    stems: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime


class SearchStem(SQLModel, table=True):
    """In how many search entries each stem occurs (migration 0016): the similar-decision
    check's document frequencies, kept with the entries."""

    __tablename__ = "search_stem"
    stem: str = Field(primary_key=True)
    entries: int


class SearchDecision(SQLModel, table=True):
    """A final decision's stemmed document (migration 0016): title, summary and standing
    text, what a new proposal is compared with (``regie submit``'s revisit check). Its
    full-text index (SQLite FTS5 ``search_fts_decisions``; PostgreSQL GIN) is made by the
    migration alone."""

    __tablename__ = "search_decision"
    __table_args__ = (UniqueConstraint("proposal_id", name="uq_search_decision_proposal"),)
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: str = Field(foreign_key="proposal.id")
    stems: str = Field(sa_column=Column(Text, nullable=False))
