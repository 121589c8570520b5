"""The region configuration: parties, people, bodies, mandates, calendar and focus points.

A region is described in one TOML file (see ``config/foodvalley.toml``). :func:`load_region`
reads it into typed, fully validated objects. Problems are reported together in one
:class:`~regie.errors.ConfigError`, each naming the file, the key path as the user typed it
(``bodies[2].chair``, ``mandates[3].from``; indices are 0-based) and what to do about it.

Checking happens in two passes: pydantic checks the shape of every entry (types, unknown
keys, ids, e-mail addresses, ranges) and reports every shape problem; when the shape is
right, :mod:`regie.region_validate` checks how the entries refer to each other (unknown
people, chairs who are not members, overlapping mandates, …), the region's workflows are
loaded and :mod:`regie.region_structure` checks that every stage finds its body; all of
those problems are reported together.
"""

from __future__ import annotations

import datetime
import os
import re
import tomllib
from collections.abc import Iterable
from typing import Any, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from regie.engine.calendar import public_holidays
from regie.errors import ConfigError
from regie.notifications.config import MailSettings, NotificationRules
from regie.region_scheduler import SchedulerTable
from regie.region_structure import (
    Kind,
    Roles,
    StructureSpec,
    WorkflowsSpec,
    load_region_workflows,
    resolve_roles,
    structure_problems,
)
from regie.region_types import (
    DEFAULT_TIMEZONE,
    Article,
    Email,
    Minutes,
    Slug,
    TimeZoneName,
    TomlDate,
    TomlTime,
    WebTable,
    WorkingDays,
)
from regie.region_validate import region_problems, translate_validation_error
from regie.workflows.definition import Workflow

Language = Literal["nl", "en"]
# Kinds are the region's words: the built-in workflows look for bodies of kind table,
# chairs, ao and oogo; [structure] rules may name any kind (e.g. lea, municipality).
PartyKind = Kind
BodyKind = Kind


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)


# --- the entries ---------------------------------------------------------------------------


class Party(_Model):
    id: Slug
    name: str
    kind: PartyKind
    short_name: str | None = None  # in lists of parties in mails ("Barneveld, SWV PO")

    @property
    def short(self) -> str:
        return self.short_name or self.name


class Person(_Model):
    id: Slug
    name: str
    email: Email
    party: str
    language: Language = "nl"
    digest: bool = False


class MeetingSpec(_Model):
    """One scheduled meeting of a body."""

    id: Slug | None = None
    date: TomlDate
    time: TomlTime
    duration_minutes: Minutes = 120
    location: str = ""

    def meeting_id(self, body_id: str) -> str:
        """The explicit id, or ``<body>-<date>``."""
        return self.id or f"{body_id}-{self.date.isoformat()}"

    def starts_at(self, tz: str | ZoneInfo = DEFAULT_TIMEZONE) -> datetime.datetime:
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        return datetime.datetime.combine(self.date, self.time, tzinfo=zone)

    def ends_at(self, tz: str | ZoneInfo = DEFAULT_TIMEZONE) -> datetime.datetime:
        return self.starts_at(tz) + datetime.timedelta(minutes=self.duration_minutes)


class Body(_Model):
    """A consultation body ("overleg"). ``party`` is set for a LEA: its municipality."""

    id: Slug
    name: str
    kind: BodyKind
    short_name: str | None = None  # in subjects and lists ("OOGO")
    article: Article = "de"  # its Dutch article in mails: "het Regionaal voorzittersoverleg"
    chair: str
    members: list[str]
    deadline_working_days: WorkingDays = 5
    party: str | None = None
    meetings: list[MeetingSpec] = Field(default_factory=list)

    @property
    def short(self) -> str:
        return self.short_name or self.name


class Mandate(_Model):
    """``person`` may decide for ``party`` in ``body`` from ``valid_from`` to ``valid_until``."""

    person: str
    party: str
    body: str
    valid_from: TomlDate = Field(alias="from")
    valid_until: TomlDate | None = Field(default=None, alias="until")

    def covers(self, day: datetime.date) -> bool:
        """Whether the mandate is valid on ``day`` (both ends inclusive)."""
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class Substitute(_Model):
    """``person`` may stand in for ``party`` in ``body``."""

    party: str
    body: str
    person: str


class CalendarSpec(_Model):
    """Days on top of weekends and Dutch public holidays.

    ``extra_closed_days`` are closed as well; ``open_days`` are public holidays on which the
    network works anyway (e.g. Good Friday).
    """

    extra_closed_days: list[TomlDate] = Field(default_factory=list)
    open_days: list[TomlDate] = Field(default_factory=list)


class FocusPoint(_Model):
    """A focus point ("speerpunt") of the regional agenda, with its two leads ("trekkers",
    person ids): rule of conduct 4 wants both; a missing one is a warning at load
    (:mod:`regie.region_warnings`), an unknown one an error."""

    id: Slug
    title_nl: str
    title_en: str
    admin_lead: str | None = None  # administrative lead, e.g. an alderman
    official_lead: str | None = None  # official lead, e.g. a policy officer


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_T = TypeVar("_T", bound=_HasId)


def _find(items: Iterable[_T], ident: str, what: str) -> _T:
    for item in items:
        if item.id == ident:
            return item
    raise KeyError(f"unknown {what} {ident!r}")


class Region(_Model):
    name: str
    timezone: TimeZoneName = DEFAULT_TIMEZONE
    language: Language = "nl"
    coordinator: str
    parties: list[Party]
    people: list[Person]
    bodies: list[Body]
    mandates: list[Mandate] = Field(default_factory=list)
    substitutes: list[Substitute] = Field(default_factory=list)
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    focus_points: list[FocusPoint] = Field(default_factory=list)
    mail: MailSettings = Field(default_factory=MailSettings)
    notifications: NotificationRules = Field(default_factory=NotificationRules)
    web: WebTable = Field(default_factory=WebTable)
    scheduler: SchedulerTable = Field(default_factory=SchedulerTable)
    structure: StructureSpec = Field(default_factory=StructureSpec)
    workflows: dict[str, Workflow] = Field(default_factory=dict)  # per purpose, resolved
    own_workflows: frozenset[str] = frozenset()  # purposes the region defines itself
    source: str = ""

    @property
    def roles(self) -> Roles:
        return resolve_roles(self)

    def party(self, party_id: str) -> Party:
        return _find(self.parties, party_id, "party")

    def person(self, person_id: str) -> Person:
        return _find(self.people, person_id, "person")

    def body(self, body_id: str) -> Body:
        return _find(self.bodies, body_id, "body")

    def bodies_of_kind(self, kind: BodyKind) -> list[Body]:
        return [body for body in self.bodies if body.kind == kind]

    def body_of_kind(self, kind: BodyKind) -> Body:
        """The single body of ``kind`` (chairs, ao, oogo); ValueError if not exactly one."""
        found = self.bodies_of_kind(kind)
        if len(found) != 1:
            raise ValueError(f"{len(found)} bodies of kind {kind!r}; use bodies_of_kind()")
        return found[0]

    def is_closed_day(self, day: datetime.date) -> bool:
        """Weekend, Dutch public holiday or extra closed day, unless listed as open day."""
        if day.weekday() >= 5:
            return True
        if day in self.calendar.open_days:
            return False
        return day in self.calendar.extra_closed_days or day in public_holidays(day.year)


class _RegionTable(_Model):
    """The ``[region]`` table."""

    name: str
    coordinator: str
    timezone: TimeZoneName = DEFAULT_TIMEZONE
    language: Language = "nl"


class _RegionFile(_Model):
    """The whole file, key for key as the user writes it."""

    region: _RegionTable
    parties: list[Party]
    people: list[Person]
    bodies: list[Body]
    mandates: list[Mandate] = Field(default_factory=list)
    substitutes: list[Substitute] = Field(default_factory=list)
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    focus_points: list[FocusPoint] = Field(default_factory=list)
    mail: MailSettings = Field(default_factory=MailSettings)
    notifications: NotificationRules = Field(default_factory=NotificationRules)
    web: WebTable = Field(default_factory=WebTable)
    scheduler: SchedulerTable = Field(default_factory=SchedulerTable)
    structure: StructureSpec = Field(default_factory=StructureSpec)
    workflows: WorkflowsSpec = Field(default_factory=WorkflowsSpec)

    @model_validator(mode="before")
    @classmethod
    def _people_speak_the_regions_language(cls, data: Any) -> Any:
        """A person without ``language`` reads the region's language (default "nl")."""
        header = data.get("region") if isinstance(data, dict) else None
        lang = header.get("language") if isinstance(header, dict) else None
        people = data.get("people") if isinstance(data, dict) else None
        if lang is None or not isinstance(people, list):
            return data
        filled = [
            {**person, "language": lang}
            if isinstance(person, dict) and "language" not in person
            else person
            for person in people
        ]
        return {**data, "people": filled}


# --- loading -------------------------------------------------------------------------------


def _toml_error(exc: tomllib.TOMLDecodeError, text: str, source: str) -> ConfigError:
    message = str(exc)
    found = re.search(r"\(at line (\d+), column \d+\)", message)
    line = found.group(1) if found else str(text.count("\n") + 1)
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
    return ConfigError(
        source, f"line {line}", f"TOML syntax error: {reason}; fix the syntax on that line"
    )


def parse_region(text: str, source: str) -> Region:
    """Parse and validate the TOML ``text``; ``source`` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, text, source) from None
    try:
        # by_name=False: in the file only the TOML key names count (``from``, not ``valid_from``)
        parsed = _RegionFile.model_validate(data, by_name=False)
    except ValidationError as exc:
        raise translate_validation_error(exc, source, _RegionFile) from None
    header = parsed.region
    workflows, own, problems = load_region_workflows(parsed.workflows, source)
    region = Region(
        name=header.name,
        timezone=header.timezone,
        language=header.language,
        coordinator=header.coordinator,
        parties=parsed.parties,
        people=parsed.people,
        bodies=parsed.bodies,
        mandates=parsed.mandates,
        substitutes=parsed.substitutes,
        calendar=parsed.calendar,
        focus_points=parsed.focus_points,
        mail=parsed.mail,
        notifications=parsed.notifications,
        web=parsed.web,
        scheduler=parsed.scheduler,
        structure=parsed.structure,
        workflows=workflows,
        own_workflows=frozenset(own),
        source=source,
    )
    problems += [(source, key, problem) for key, problem in region_problems(region)]
    problems += structure_problems(region, own)
    if problems:
        raise ConfigError.collect(problems)
    return region


CONFIG_MAX_BYTES = 1_000_000  # a region config is a few kB; FoodValley's is ~20 kB


def _read(source: str) -> str:
    """The config file's text; a file larger than :data:`CONFIG_MAX_BYTES` (a device such
    as /dev/zero, a log file given by mistake) is refused after reading that much. Opened
    without blocking, so a named pipe nobody writes to reads as empty instead of hanging."""
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as handle:
            if hasattr(os, "set_blocking"):
                os.set_blocking(fd, True)  # a pipe with a writer: wait for what it writes
            raw = handle.read(CONFIG_MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            source, "", "file not found; check the path (see config/foodvalley.toml for an example)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(source, "", "is a directory; give the path of the TOML file") from None
    except PermissionError:
        raise ConfigError(
            source, "", "cannot be read (permission denied); check the file's permissions"
        ) from None
    except OSError as exc:
        raise ConfigError(source, "", f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > CONFIG_MAX_BYTES:
        raise ConfigError(
            source,
            "",
            f"is larger than {CONFIG_MAX_BYTES // 1_000_000} MB, too large for a region config; "
            "check the path (see config/foodvalley.toml for an example)",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            source, "", f"is not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from None


def load_region(path: str | os.PathLike[str]) -> Region:
    """Read and validate the region configuration file at ``path``."""
    source = os.fspath(path)
    return parse_region(_read(source), source)
