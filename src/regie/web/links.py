"""Links in mails: an opaque token that names one outbox row, signed with the link key.

A token is ``<outbox row id>.<MAC>``: the MAC is HMAC-SHA256 under the ``link`` key
derived from the database's secret (:mod:`regie.engine.keys`), so a token cannot be
forged or altered, and it carries no personal data. Everything a link stands for — the
person, the action, the proposal or meeting, the decision version, when it was made — is
read from that row, which never changes after it was queued. What the link may still do
(expired, used, superseded by a newer one) is decided by the page that opens it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from regie.engine.keys import LINK, Key
from regie.engine.storage import Tx, as_datetime
from regie.errors import RegieError

# notice kind -> what its link lets the recipient do
ACTIONS = {
    "decision_recorded": "confirm",
    "decision_amended": "confirm",
    "confirmation_reminder": "confirm",  # its row names the proposal, meeting and version
    "agenda": "answer",
    "meeting_changed": "answer",
    "absence_reminder": "answer",  # name a stand-in or give positions (issue 18, rule 3)
    "sign_in": "sign_in",
}
DEFAULT_LINK_DAYS = 14
_TOKEN = re.compile(r"([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{22})")


class LinkError(RegieError):
    """A link that cannot be used; the page says why (never a trace)."""

    exit_code = 2
    status = 400


class ForgedLink(LinkError):
    def __init__(self) -> None:
        super().__init__("this link is not valid: it was changed or made up")


class UnknownLink(LinkError):
    status = 404

    def __init__(self) -> None:
        super().__init__("this link is no longer known here")


@lru_cache(maxsize=16)
def link_key(key: Key) -> bytes:
    """The ``link`` key derived from the secret (links, CSRF tokens): derived once per key."""
    return key.derive(LINK)


def _mac(key: Key, row_id: int) -> str:
    digest = hmac.digest(link_key(key), f"regie-link:{row_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def token_for(key: Key, row_id: int) -> str:
    return f"{row_id}.{_mac(key, row_id)}"


def row_id_of(key: Key, token: str) -> int:
    """The outbox row a token names; :class:`ForgedLink` unless its MAC is ours."""
    found = _TOKEN.fullmatch(token)
    if found is None:
        raise ForgedLink()
    row_id = int(found.group(1))
    if not hmac.compare_digest(found.group(2), _mac(key, row_id)):
        raise ForgedLink()
    return row_id


def url_for(base_url: str, key: Key, row_id: int) -> str:
    return f"{base_url.rstrip('/')}/l/{token_for(key, row_id)}"


@dataclass(frozen=True)
class Link:
    """What a valid token stands for, read from its outbox row."""

    row_id: int
    kind: str
    action: str
    person_id: str
    language: str
    proposal_id: str | None
    meeting_id: str | None
    context: dict[str, object]
    created_at: datetime  # naive UTC

    @property
    def version(self) -> int | None:
        payload = self.context.get("payload")
        value = payload.get("version") if isinstance(payload, dict) else None
        return int(value) if isinstance(value, int) else None

    def expires_at(self, link_days: int) -> datetime:
        return self.created_at + timedelta(days=link_days)


def open_link(tx: Tx, key: Key, token: str) -> Link:
    """The link a token names; :class:`ForgedLink` or :class:`UnknownLink` otherwise."""
    import json

    row_id = row_id_of(key, token)
    row = tx.one(
        "SELECT kind, person_id, language, proposal_id, meeting_id, context, created_at "
        "FROM outbox WHERE id = ?",
        (row_id,),
    )
    if row is None or row[0] not in ACTIONS:
        raise UnknownLink()
    created = as_datetime(row[6])
    assert created is not None
    return Link(
        row_id=row_id,
        kind=str(row[0]),
        action=ACTIONS[str(row[0])],
        person_id=str(row[1]),
        language=str(row[2]) if row[2] in ("nl", "en") else "nl",
        proposal_id=row[3],
        meeting_id=row[4],
        context=json.loads(row[5] or "{}"),
        created_at=created,
    )
