"""Calendar invites (iCalendar, RFC 5545/5546) for meetings.

One UID per meeting, for its whole life: a published agenda sends METHOD:REQUEST, a
moved meeting sends REQUEST again with the same UID and a higher SEQUENCE (calendars
update the entry they have), a cancelled one sends METHOD:CANCEL. Times carry
``TZID=Europe/Amsterdam`` with the VTIMEZONE for the meeting's whole year (both
changes of daylight saving time), so a calendar can place it whatever it does with
time zones. The ORGANIZER carries a name (the network coordinator's, else the region's):
Outlook shows it as whom the meeting is from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from icalendar import Calendar, Event, vCalAddress, vText

from regie.clock import AMSTERDAM

PRODID = "-//regie//meeting invites//NL"


def meeting_uid(meeting_id: str, region: str) -> str:
    """Stable per meeting and region; does not depend on the sender's address."""
    slug = re.sub(r"[^a-z0-9]+", "-", region.lower()).strip("-") or "regio"
    return f"meeting-{meeting_id}@{slug}.regie"


@dataclass(frozen=True)
class Invite:
    method: str  # REQUEST | CANCEL
    meeting_id: str
    region: str
    summary: str
    description: str
    location: str
    starts_at: datetime  # aware
    ends_at: datetime
    sequence: int
    stamp: datetime  # when the change happened (UTC)
    organizer: str  # e-mail address
    attendee: str
    attendee_name: str
    organizer_name: str = ""

    @property
    def uid(self) -> str:
        return meeting_uid(self.meeting_id, self.region)


def invite_from_context(
    ctx: dict[str, Any],
    *,
    method: str,
    summary: str,
    description: str,
    organizer: str,
    attendee: str,
    attendee_name: str,
    organizer_name: str = "",
) -> Invite:
    """An invite from a notice's context (meeting facts captured at event time)."""
    stamp = datetime.fromisoformat(str(ctx["at"]).removesuffix("Z"))
    return Invite(
        method=method,
        meeting_id=str(ctx["meeting_id"]),
        region=str(ctx.get("region") or ""),
        summary=summary,
        description=description,
        location=str(ctx.get("location") or ""),
        starts_at=datetime.fromisoformat(str(ctx["starts_at"])).astimezone(AMSTERDAM),
        ends_at=datetime.fromisoformat(str(ctx["ends_at"])).astimezone(AMSTERDAM),
        sequence=int(ctx.get("sequence") or 0),
        stamp=stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC),
        organizer=organizer,
        attendee=attendee,
        attendee_name=attendee_name,
        organizer_name=organizer_name,
    )


def _address(email: str, name: str, **params: str) -> vCalAddress:
    addr = vCalAddress(f"mailto:{email}")
    if name:
        addr.params["cn"] = vText(name)
    for key, value in params.items():
        addr.params[key] = vText(value)
    return addr


def build_ics(inv: Invite) -> bytes:
    """The VCALENDAR text (CRLF line ends, folded at 75 octets)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", inv.method)
    ev = Event()
    ev.add("uid", inv.uid)
    ev.add("sequence", inv.sequence)
    ev.add("dtstamp", inv.stamp.astimezone(UTC))
    ev.add("dtstart", inv.starts_at)
    ev.add("dtend", inv.ends_at)
    ev.add("summary", inv.summary)
    if inv.location:
        ev.add("location", inv.location)
    if inv.description:
        ev.add("description", inv.description)
    ev.add("organizer", _address(inv.organizer, inv.organizer_name or inv.region))
    ev.add(
        "attendee",
        _address(
            inv.attendee,
            inv.attendee_name,
            role="REQ-PARTICIPANT",
            partstat="NEEDS-ACTION",
            rsvp="FALSE",
        ),
    )
    ev.add("status", "CANCELLED" if inv.method == "CANCEL" else "CONFIRMED")
    ev.add("transp", "OPAQUE")
    cal.add_component(ev)
    cal.add_missing_timezones(
        first_date=date(inv.starts_at.year, 1, 1), last_date=date(inv.ends_at.year, 12, 31)
    )
    return cal.to_ical()
