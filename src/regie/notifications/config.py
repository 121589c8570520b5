"""Notification settings: the notice kinds, who gets each kind, and the SMTP settings.

The region config may carry two optional tables::

    [mail]                      # where mail goes out; the password only from env
    from_address = "regie@foodvalley.example.org"
    host = "smtp.example.org"
    port = 587
    starttls = true             # or tls = true for port 465; required when a user is set
    user = "regie"              # login only over TLS (allow_plaintext_auth = true: also without)
    connections = 2             # SMTP connections in parallel

    [notifications]             # who gets what; a kind set to [] is not sent at all
    submitted = ["table_members", "routing_members"]
    decision_final = ["body_members", "representatives", "leads"]

:data:`NOTICE_KINDS` is the one registry of notice kinds: every kind has a text and an
HTML template in every language, and a default list of recipient groups.
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SMTP_PASSWORD_ENV = "REGIE_SMTP_PASSWORD"
LANGUAGES = ("nl", "en")

# Recipient groups, resolved per event (see recipients.py).
GROUPS: dict[str, str] = {
    "table_members": "members of the proposal's table",
    "table_chair": "chair of the proposal's table",
    "routing_members": "members of the routing body ([structure] routing_body)",
    "body_members": "members of the body whose meeting the event is about",
    "body_chair": "chair of that body",
    "leads": "the proposal's administrative and official leads",
    "representatives": "people with a mandate for a concerned party in that body",
    "coordinator": "the network coordinator",
    "addressee": "whom an advice is for: the people of that party, or the members of that body",
    "news_members": "members of the bodies that get the news of the top meeting "
    "([structure] news_to)",
}
# Earlier names of groups, still accepted in [notifications].
GROUP_ALIASES: dict[str, str] = {
    "chairs_members": "routing_members",
    "lea_members": "news_members",
}


@dataclass(frozen=True)
class NoticeKind:
    id: str
    about: str
    groups: tuple[str, ...]  # default recipients
    invite: str | None = None  # calendar method attached: REQUEST | CANCEL


NOTICE_KINDS: dict[str, NoticeKind] = {
    k.id: k
    for k in (
        NoticeKind("submitted", "a proposal was submitted", ("table_members", "routing_members")),
        NoticeKind("route_set", "the routing body set the route", ("leads", "table_chair")),
        NoticeKind(
            "route_proposed",
            "a route was proposed for the routing body to decide",
            ("routing_members", "leads"),
        ),
        NoticeKind("placed", "a proposal was placed on a meeting", ("body_members", "leads")),
        NoticeKind("agenda", "a meeting's agenda was published", ("body_members",), "REQUEST"),
        NoticeKind("meeting_changed", "a meeting moved", ("body_members",), "REQUEST"),
        NoticeKind("meeting_cancelled", "a meeting was cancelled", ("body_members",), "CANCEL"),
        NoticeKind("decision_recorded", "a decision awaits confirmation", ("body_chair",)),
        NoticeKind("decision_amended", "a decision text was amended", ("body_chair",)),
        NoticeKind(
            "decision_final",
            "a decision was confirmed",
            ("body_members", "representatives", "leads"),
        ),
        NoticeKind("advice", "a confirmed advice, to its addressee", ("addressee",)),
        NoticeKind("noted", "an information item was noted", ("leads", "table_chair")),
        NoticeKind("decision_retracted", "a recorded decision was retracted", ("body_chair",)),
        NoticeKind("returned", "a proposal was sent back", ("leads", "table_chair")),
        NoticeKind("deferred", "a proposal was deferred", ("leads", "table_chair")),
        NoticeKind("withdrawn", "a proposal was withdrawn", ("leads", "table_chair")),
        NoticeKind("oogo_news", "news from the top meeting", ("news_members",)),
        # Never caused by an event: outbox.build_digests bundles a person's notices into it.
        NoticeKind("digest", "the daily digest for people with digest = true", ()),
    )
}

# Which notice kinds an audit event causes, in order of precedence: a person who is in
# the groups of several kinds gets one mail, of the first kind.
EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "submitted": ("submitted", "placed"),
    "route_set": ("route_set",),
    "route_proposed": ("route_proposed",),
    "advanced": ("placed",),
    "returned": ("returned", "placed"),
    "deferred": ("deferred", "placed"),
    "withdrawn": ("withdrawn",),
    "decided": ("decision_recorded",),
    "amended": ("decision_amended",),
    "confirmed": ("advice", "decision_final"),
    "noted": ("noted",),
    "decision_retracted": ("decision_retracted",),
    "agenda_published": ("agenda",),
    "meeting_changed": ("meeting_changed",),
    "meeting_cancelled": ("meeting_cancelled",),
    "oogo_news": ("oogo_news",),
}


def _check_groups(value: list[str]) -> list[str]:
    value = [GROUP_ALIASES.get(group, group) for group in value]
    for group in value:
        if group not in GROUPS:
            close = difflib.get_close_matches(group, list(GROUPS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(
                f"unknown recipient group {group!r}{hint}; use some of: {', '.join(GROUPS)} "
                "(or [] to send this notice to nobody)"
            )
    return list(dict.fromkeys(value))


Groups = Annotated[list[str], AfterValidator(_check_groups)]


def _no_digest_groups(value: list[str]) -> list[str]:
    if value:
        raise ValueError(
            "the daily digest is not sent to groups; a person chooses it with digest = true "
            "in [[people]] (remove 'digest' from [notifications])"
        )
    return value


DigestGroups = Annotated[list[str], AfterValidator(_no_digest_groups)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_port(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 65535:
        raise ValueError(f"{value} is not a TCP port; use e.g. 587 (STARTTLS) or 465 (TLS)")
    return value


def _check_connections(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 20:
        raise ValueError(f"{value} is out of range; use 1 to 20 parallel connections, e.g. 2")
    return value


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def host_problem(value: str) -> str | None:
    """Why ``value`` cannot be an SMTP host (a DNS name or an IP address), or None."""
    example = "write e.g. 'smtp.example.org'"
    if not value or any(c.isspace() or ord(c) < 32 for c in value):
        return f"{value!r} is not a host name; {example}"
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(value.removeprefix("[").removesuffix("]"))
        return None
    name = value.removesuffix(".")
    labels = name.split(".")
    if any(not label for label in labels):
        return f"{value!r} is not a host name: it has an empty part between dots; {example}"
    try:
        ascii_labels = [label.encode("idna").decode("ascii") for label in labels]
    except UnicodeError:
        return f"{value!r} is not a host name (a part between dots is not valid); {example}"
    bad = [label for label in ascii_labels if not _HOST_LABEL.fullmatch(label)]
    if bad or len(".".join(ascii_labels)) > 253:
        what = f"the part {bad[0]!r} is not valid" if bad else "it is too long"
        return f"{value!r} is not a host name ({what}); {example}"
    return None


def _check_host(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    problem = host_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _check_from(value: str | None) -> str | None:
    from regie.region_types import _check_email  # the same rule as people's addresses

    return None if value is None else _check_email(value)


class MailSettings(_Settings):
    """The ``[mail]`` table; what it leaves out, the sender's defaults fill in
    (:mod:`regie.notifications.smtp_settings`: the local sink on 127.0.0.1:8025)."""

    from_address: Annotated[str | None, AfterValidator(_check_from)] = None
    host: Annotated[str | None, AfterValidator(_check_host)] = None
    port: Annotated[int | None, AfterValidator(_check_port)] = None
    starttls: bool | None = None  # None: required with a user, else if the server offers it
    tls: bool = False
    user: str | None = None
    allow_plaintext_auth: bool = False  # log in without TLS (only on a trusted network)
    connections: Annotated[int | None, AfterValidator(_check_connections)] = None

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and "password" in data:
            raise ValueError(
                "the SMTP password is never written in the config file; remove 'password' "
                f"and set the environment variable {SMTP_PASSWORD_ENV} where regie sends mail"
            )
        return data

    @model_validator(mode="after")
    def _one_tls_mode(self) -> MailSettings:
        if self.tls and self.starttls:
            raise ValueError(
                "tls and starttls are both true; use tls = true for port 465 (TLS from the "
                "start) or starttls = true for port 587, not both"
            )
        if self.user and self.starttls is False and not self.tls and not self.allow_plaintext_auth:
            raise ValueError(
                "starttls = false with a user would send the SMTP password unencrypted; remove "
                "starttls = false (STARTTLS is then required), use tls = true, or set "
                "allow_plaintext_auth = true if the server is on a network you trust"
            )
        return self


def _default(kind: str) -> Any:
    return Field(default_factory=lambda: list(NOTICE_KINDS[kind].groups))


class NotificationRules(_Settings):
    """The ``[notifications]`` table: recipient groups per notice kind."""

    submitted: Groups = _default("submitted")
    route_set: Groups = _default("route_set")
    route_proposed: Groups = _default("route_proposed")
    placed: Groups = _default("placed")
    agenda: Groups = _default("agenda")
    meeting_changed: Groups = _default("meeting_changed")
    meeting_cancelled: Groups = _default("meeting_cancelled")
    decision_recorded: Groups = _default("decision_recorded")
    decision_amended: Groups = _default("decision_amended")
    decision_final: Groups = _default("decision_final")
    advice: Groups = _default("advice")
    noted: Groups = _default("noted")
    decision_retracted: Groups = _default("decision_retracted")
    returned: Groups = _default("returned")
    deferred: Groups = _default("deferred")
    withdrawn: Groups = _default("withdrawn")
    oogo_news: Groups = _default("oogo_news")
    digest: DigestGroups = _default("digest")  # always []: people opt in themselves


def default_rules() -> dict[str, list[str]]:
    return {k.id: list(k.groups) for k in NOTICE_KINDS.values()}


def rules_from_setting(value: str | None) -> dict[str, tuple[str, ...]]:
    """The stored ``notifications`` region setting (JSON), completed with the defaults."""
    stored: dict[str, Any] = json.loads(value) if value else {}
    return {
        kind: tuple(GROUP_ALIASES.get(g, g) for g in stored.get(kind, spec.groups))
        for kind, spec in NOTICE_KINDS.items()
    }
