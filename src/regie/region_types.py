"""Field types of the region config: ids, e-mail addresses, dates, times, the time zone,
deadlines and durations, each with a message that says how to write it."""

from __future__ import annotations

import datetime
import re
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

DEFAULT_TIMEZONE = "Europe/Amsterdam"
MAX_DEADLINE_WORKING_DAYS = 30
DEFAULT_LINK_DAYS = 14  # how long a link in a mail works (regie.web.links says the same)
MAX_LINK_DAYS = 90
ARTICLES = ("de", "het")  # Dutch definite articles of a body's name ("het OOGO")

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_EMAIL = re.compile(r"[^@\s<>,;\"']+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


# --- field types -------------------------------------------------------------------------


def _slugify(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def _check_slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        hint = _slugify(value)
        example = f", e.g. {hint!r}" if hint else ""
        raise ValueError(
            f"{value!r} is not a valid id; use only lowercase letters, digits and '-', "
            f"starting with a letter or digit{example}"
        )
    return value


def check_email(value: str) -> str:
    """``value`` if it is an e-mail address (people's, the ``[mail]`` sender's), else ValueError."""
    if not _EMAIL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid e-mail address; write it as name@domain.tld "
            "(e.g. 'j.jansen@ede.example.org'), without spaces or a display name"
        )
    return value


def _parse_date(value: object) -> object:
    """TOML dates (2027-01-12) or ISO strings ("2027-01-12"); no datetimes, no numbers."""
    if isinstance(value, datetime.datetime):
        raise ValueError(f"{value.isoformat()} has a time of day; write only the date, YYYY-MM-DD")
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2027-01-12")


def _parse_time(value: object) -> object:
    """TOML local times (14:00:00) or "HH:MM" strings."""
    if isinstance(value, datetime.time):
        return value
    match = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if match:
        hour, minute, second = (int(part or 0) for part in match.groups())
        try:
            return datetime.time(hour, minute, second)
        except ValueError:
            pass
    raise ValueError(
        f'{value!r} is not a time of day; write "HH:MM" in quotes ("14:00") '
        "or a TOML time (14:00:00)"
    )


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r}; use an IANA name such as 'Europe/Amsterdam'"
        ) from None
    if value != DEFAULT_TIMEZONE:
        # Meeting times, deadlines, mails and the CLI all read times in Dutch local time
        # (with Dutch public holidays); another zone would be silently misread.
        raise ValueError(
            f"timezone {value!r} is not supported yet: regie keeps Dutch local time and "
            f"public holidays; remove the key or write timezone = '{DEFAULT_TIMEZONE}'"
        )
    return value


def _check_deadline(value: int) -> int:
    if not 0 <= value <= MAX_DEADLINE_WORKING_DAYS:
        raise ValueError(
            f"{value} is out of range; documents are due 0 to {MAX_DEADLINE_WORKING_DAYS} "
            "working days before a meeting, e.g. 5"
        )
    return value


def _check_article(value: str) -> str:
    if value not in ARTICLES:
        raise ValueError(
            f'{value!r} is not a Dutch article; write article = "de" or article = "het", '
            'the article of the body\'s name in Dutch mails ("het Regionaal voorzittersoverleg", '
            '"de Stuurgroep"); leave it out for "de"'
        )
    return value


def _check_duration(value: int) -> int:
    if value <= 0:
        raise ValueError(f"{value} is not a duration; give the length in minutes, e.g. 120")
    return value


Slug = Annotated[str, AfterValidator(_check_slug)]
Email = Annotated[str, AfterValidator(check_email)]
TomlDate = Annotated[datetime.date, BeforeValidator(_parse_date)]
TomlTime = Annotated[datetime.time, BeforeValidator(_parse_time)]
TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
WorkingDays = Annotated[int, AfterValidator(_check_deadline)]
Minutes = Annotated[int, AfterValidator(_check_duration)]
Article = Annotated[str, AfterValidator(_check_article)]


# --- the [web] table ----------------------------------------------------------------------


def _check_base_url(value: str) -> str:
    """An http(s) address without query, fragment or login; stored without a final '/'."""
    text = value.strip()
    problem = "" if text == value and " " not in text else "it contains spaces"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        parts, problem = None, problem or "it cannot be read as a web address"
    if parts is not None and not problem:
        if parts.scheme not in ("http", "https"):
            problem = "it does not start with http:// or https://"
        elif not parts.hostname:
            problem = "it names no host"
        elif parts.username is not None or parts.password is not None:
            problem = "it holds a user name or password"
        elif parts.query or parts.fragment or "?" in text or "#" in text:
            problem = "it has a query (?) or fragment (#)"
    if problem:
        raise ValueError(
            f"{value!r} is not a base URL for links ({problem}); write the public address "
            "where 'regie serve' is reached, e.g. \"https://regie.foodvalley.example.org\""
        )
    return text.rstrip("/")


def _check_optional_base_url(value: str | None) -> str | None:
    return None if value is None else _check_base_url(value)


def _check_link_days(value: int) -> int:
    if not 1 <= value <= MAX_LINK_DAYS:
        raise ValueError(
            f"{value} is out of range; links in mails work 1 to {MAX_LINK_DAYS} days, "
            f"e.g. {DEFAULT_LINK_DAYS}"
        )
    return value


class WebTable(BaseModel):
    """The ``[web]`` table: where ``regie serve`` is reached and how long links work."""

    model_config = ConfigDict(extra="forbid")

    base_url: Annotated[str | None, AfterValidator(_check_optional_base_url)] = None
    link_days: Annotated[int, AfterValidator(_check_link_days)] = DEFAULT_LINK_DAYS

    def as_setting(self) -> dict[str, object]:
        """The ``web`` region setting (read by :mod:`regie.web.settings`)."""
        return {"base_url": self.base_url, "link_days": self.link_days}
