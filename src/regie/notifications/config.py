"""Notification settings: who gets each notice kind, and the SMTP settings.

The region config may carry two optional tables::

    [mail]                      # where mail goes out; the password only from env
    from_address = "regie@foodvalley.example.org"   # default: regie@<coordinator's domain>
    reply_to = "netwerk@foodvalley.example.org"     # default: the coordinator's address
    host = "smtp.example.org"
    port = 587
    starttls = true             # or tls = true for port 465; required when a user is set
    user = "regie"              # login only over TLS (allow_plaintext_auth = true: also without)
    connections = 2             # SMTP connections in parallel

    [notifications]             # who gets what; a kind set to [] is not sent at all
    submitted = ["table_members", "routing_members"]
    decision_final = ["body_members", "representatives", "leads"]

:mod:`regie.notifications.kinds` holds the notice kinds and recipient groups without
pydantic (what the commands that queue notices need); they are re-exported here.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from regie.notifications.kinds import (
    EVENT_KINDS,
    GROUP_ALIASES,
    GROUPS,
    LANGUAGES,
    NOTICE_KINDS,
    NoticeKind,
    default_rules,
    rules_from_setting,
)
from regie.notifications.smtp_host import host_problem
from regie.region_types import check_email

__all__ = [
    "EVENT_KINDS",
    "GROUPS",
    "GROUP_ALIASES",
    "LANGUAGES",
    "NOTICE_KINDS",
    "SMTP_PASSWORD_ENV",
    "MailSettings",
    "NoticeKind",
    "NotificationRules",
    "default_rules",
    "host_problem",
    "rules_from_setting",
]

SMTP_PASSWORD_ENV = "REGIE_SMTP_PASSWORD"


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


def _no_sign_in_groups(value: list[str]) -> list[str]:
    if value != ["actor"]:
        raise ValueError(
            "a sign-in link goes only to the member who asks for it on the portal, never to "
            "groups (remove 'sign_in' from [notifications])"
        )
    return value


SignInGroups = Annotated[list[str], AfterValidator(_no_sign_in_groups)]


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


def _check_host(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    problem = host_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _check_from(value: str | None) -> str | None:
    return None if value is None else check_email(value)  # the rule of people's addresses


class MailSettings(_Settings):
    """The ``[mail]`` table; what it leaves out, the sender's defaults fill in
    (:mod:`regie.notifications.smtp_settings`: the local sink on 127.0.0.1:8025)."""

    from_address: Annotated[str | None, AfterValidator(_check_from)] = None
    reply_to: Annotated[str | None, AfterValidator(_check_from)] = None
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

    submitted_receipt: Groups = _default("submitted_receipt")
    submitted: Groups = _default("submitted")
    route_set: Groups = _default("route_set")
    route_proposed: Groups = _default("route_proposed")
    placed_lead: Groups = _default("placed_lead")
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
    correction_requested: Groups = _default("correction_requested")
    returned: Groups = _default("returned")
    deferred: Groups = _default("deferred")
    withdrawn: Groups = _default("withdrawn")
    oogo_news: Groups = _default("oogo_news")
    confirmation_reminder: Groups = _default("confirmation_reminder")
    confirmation_escalated: Groups = _default("confirmation_escalated")
    documents_reminder: Groups = _default("documents_reminder")
    agenda_unapproved: Groups = _default("agenda_unapproved")
    agenda_empty: Groups = _default("agenda_empty")
    coverage_reminder: Groups = _default("coverage_reminder")
    coverage_escalated: Groups = _default("coverage_escalated")
    absence_reminder: Groups = _default("absence_reminder")
    mandate_expiring: Groups = _default("mandate_expiring")
    feasibility_reminder: Groups = _default("feasibility_reminder")
    feasibility_concern: Groups = _default("feasibility_concern")
    digest: DigestGroups = _default("digest")  # always []: people opt in themselves
    sign_in: SignInGroups = _default("sign_in")  # always ["actor"]: the person who asks
