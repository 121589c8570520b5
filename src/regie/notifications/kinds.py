"""The notice kinds, the recipient groups and which kinds an audit event causes.

:data:`NOTICE_KINDS` is the one registry of notice kinds: every kind has a text and an
HTML template in every language, and a default list of recipient groups. This module has
no pydantic, so the commands that queue notices start fast; the ``[notifications]`` table
of a region config is checked by :class:`regie.notifications.config.NotificationRules`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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
    "actor": "the person who acted: the only group that reaches them about their own action",
    "submission_recipients": "everyone who got a notice of the proposal's submission",
    "named": "the people the event names (the scheduler's reminders: whom it is for)",
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
    waits_for_digest: bool = True  # False: sent at once, also to people with digest = true


NOTICE_KINDS: dict[str, NoticeKind] = {
    k.id: k
    for k in (
        NoticeKind("submitted_receipt", "a receipt for the person who submitted", ("actor",)),
        NoticeKind("submitted", "a proposal was submitted", ("table_members", "routing_members")),
        NoticeKind("route_set", "the routing body set the route", ("leads", "table_chair")),
        NoticeKind(
            "route_proposed",
            "a route was proposed for the routing body to decide",
            ("routing_members", "leads"),
        ),
        NoticeKind(
            "placed_lead",
            "a proposal the recipient leads was placed on a meeting: documents due",
            ("leads",),
        ),
        NoticeKind("placed", "a proposal was placed on a meeting", ("body_members",)),
        NoticeKind("agenda", "a meeting's agenda was published", ("body_members",), "REQUEST"),
        NoticeKind("meeting_changed", "a meeting moved", ("body_members",), "REQUEST"),
        NoticeKind("meeting_cancelled", "a meeting was cancelled", ("body_members",), "CANCEL"),
        NoticeKind("decision_recorded", "a decision awaits confirmation", ("body_chair",)),
        NoticeKind(
            "decision_amended", "a decision text was amended", ("body_chair", "coordinator")
        ),
        NoticeKind(
            "decision_final",
            "a decision was confirmed",
            ("body_members", "representatives", "leads"),
        ),
        NoticeKind("advice", "a confirmed advice, to its addressee", ("addressee",)),
        NoticeKind("noted", "an information item was noted", ("leads", "table_chair")),
        NoticeKind("decision_retracted", "a recorded decision was retracted", ("body_chair",)),
        NoticeKind(
            "correction_requested",
            "the chair asked for a correction of a decision text",
            ("coordinator",),
        ),
        NoticeKind("returned", "a proposal was sent back", ("leads", "table_chair")),
        NoticeKind("deferred", "a proposal was deferred", ("leads", "table_chair")),
        NoticeKind(
            "withdrawn",
            "a proposal was withdrawn",
            ("leads", "table_chair", "submission_recipients"),
        ),
        NoticeKind("oogo_news", "news from the top meeting", ("news_members",)),
        NoticeKind(
            "confirmation_reminder",
            "a recorded decision is still not confirmed (daily, by the scheduler)",
            ("body_chair",),
        ),
        NoticeKind(
            "confirmation_escalated",
            "a recorded decision is still not confirmed after 5 working days",
            ("coordinator",),
        ),
        NoticeKind(
            "documents_reminder",
            "no documents yet, 3 working days before the document deadline (by the scheduler)",
            ("leads",),
        ),
        NoticeKind(
            "mandate_expiring",
            "a mandate ends in 20 working days and meetings with items for its party come "
            "after it (by the scheduler)",
            ("named", "coordinator"),
        ),
        NoticeKind(
            "feasibility_reminder",
            "a concerned party has not stated whether a follow-up is feasible (by the scheduler)",
            ("named",),
        ),
        NoticeKind(
            "feasibility_concern",
            "a concerned party stated that a follow-up is not feasible",
            ("named",),
        ),
        NoticeKind(
            "coverage_reminder",
            "a concerned party of an item that needs a mandate is not yet covered, 7 and 3 "
            "working days before the meeting (by the scheduler)",
            ("named",),
        ),
        NoticeKind(
            "coverage_escalated",
            "parties still not covered 2 working days before the meeting (by the scheduler)",
            ("body_chair", "coordinator"),
        ),
        NoticeKind(
            "absence_reminder",
            "a representative who announced absence has no substitute and no prior position "
            "for their party (by the scheduler)",
            ("named",),
        ),
        NoticeKind(
            "agenda_unapproved",
            "the routing body has not approved the top meeting's agenda: 2 working days "
            "before its publication day, and on that day, when it is not sent (by the scheduler)",
            ("coordinator",),
        ),
        NoticeKind(
            "agenda_empty",
            "a meeting's agenda is empty on its publication day: not sent; cancel the meeting? "
            "(by the scheduler)",
            ("coordinator",),
        ),
        # Never caused by an event: outbox.build_digests bundles a person's notices into it.
        NoticeKind("digest", "the daily digest for people with digest = true", ()),
        # Never caused by an event: a member asks the portal for it (regie.web.portal).
        NoticeKind(
            "sign_in",
            "a link to sign in to the portal, to whoever asked",
            ("actor",),
            waits_for_digest=False,  # the link is for now (it expires within the hour)
        ),
    )
}

# Which notice kinds an audit event causes, in order of precedence: a person who is in
# the groups of several kinds gets one mail, of the first kind. The person who acted gets
# none, unless a kind names the group ``actor`` (by default only ``submitted_receipt``).
EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "submitted": ("submitted_receipt", "placed_lead", "submitted", "placed"),
    "route_set": ("route_set",),
    "route_proposed": ("route_proposed",),
    "advanced": ("placed_lead", "placed"),
    "returned": ("returned", "placed_lead", "placed"),
    "deferred": ("deferred", "placed_lead", "placed"),
    "withdrawn": ("withdrawn",),
    "decided": ("decision_recorded",),
    "amended": ("decision_amended",),
    "confirmed": ("advice", "decision_final"),
    "noted": ("noted",),
    "decision_retracted": ("decision_retracted",),
    "correction_requested": ("correction_requested",),
    "agenda_published": ("agenda",),
    "meeting_changed": ("meeting_changed",),
    "meeting_cancelled": ("meeting_cancelled",),
    "oogo_news": ("oogo_news",),
    "sign_in_requested": ("sign_in",),
    # The scheduler's events (regie.scheduler) are keyed "action:rule": the payload's rule
    # chooses the kind (see recipients.event_notices).
    "reminder_sent:confirmation": ("confirmation_reminder",),
    "escalated:confirmation": ("confirmation_escalated",),
    "reminder_sent:documents": ("documents_reminder",),
    "reminder_sent:agenda": ("agenda_unapproved",),
    "agenda_empty:agenda": ("agenda_empty",),
    "reminder_sent:coverage": ("coverage_reminder",),
    "escalated:coverage": ("coverage_escalated",),
    "reminder_sent:absence": ("absence_reminder",),
    "reminder_sent:mandate_expiry": ("mandate_expiring",),
    "reminder_sent:feasibility": ("feasibility_reminder",),
    "feasibility_stated": ("feasibility_concern",),  # payload "to": the chair, if not feasible
}

# A chair confirms a recorded (or amended) decision within this many working days of the
# day it was recorded: the mail names that day (``confirm_by``), reminders follow it.
CONFIRM_WORKING_DAYS = 2


def default_rules() -> dict[str, list[str]]:
    return {k.id: list(k.groups) for k in NOTICE_KINDS.values()}


def rules_from_setting(value: str | None) -> dict[str, tuple[str, ...]]:
    """The stored ``notifications`` region setting (JSON), completed with the defaults."""
    stored: dict[str, Any] = json.loads(value) if value else {}
    return {
        kind: tuple(GROUP_ALIASES.get(g, g) for g in stored.get(kind, spec.groups))
        for kind, spec in NOTICE_KINDS.items()
    }
