"""Who is signed in to the portal, and how a member asks for a sign-in link.

A session is a cookie (``regie_session``: signed with itsdangerous under the key derived
for ``web-session`` from the database's secret, ``HttpOnly``, ``SameSite=Lax``, ``Secure``
over https) that holds only the person's id and when it was made; it works
:data:`SESSION_HOURS` hours by the app's clock, and only while the person is still an
active member of some body (or the coordinator). Nothing about it is stored server-side.

A sign-in link is an outbox row of kind ``sign_in`` (the link names that row, see
:mod:`regie.web.links`); it works :data:`SIGN_IN_MINUTES` minutes. A person gets at most one
per :data:`RATE_LIMIT_MINUTES` minutes, whatever the form is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from regie.clock import Clock, to_utc_naive
from regie.engine.changes import begin
from regie.engine.facts import region_facts
from regie.engine.storage import Tx

if TYPE_CHECKING:
    from regie.web.app import WebState

COOKIE = "regie_session"
SESSION_PURPOSE = "web-session"
SESSION_HOURS = 12
SIGN_IN_MINUTES = 60
RATE_LIMIT_MINUTES = 5
MAX_EMAIL = 254
_SALT = "regie-portal-session"
_SERIALIZERS: dict[int, tuple[Any, URLSafeTimedSerializer]] = {}


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    email: str
    language: str


def _serializer(state: WebState) -> URLSafeTimedSerializer:
    """One serializer per app, whose timestamps come from the app's clock."""
    cached = _SERIALIZERS.get(id(state))
    if cached is not None and cached[0] is state:
        return cached[1]
    clock: Clock = state.clock

    class _ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    made = URLSafeTimedSerializer(
        state.key.derive(SESSION_PURPOSE), salt=_SALT, signer=_ClockSigner
    )
    _SERIALIZERS[id(state)] = (state, made)
    return made


def _members_where() -> str:
    """Active people who are a member or chair of an active body, or the coordinator."""
    return (
        "p.active = ? AND (p.id IN (SELECT bm.person_id FROM body_member bm JOIN body b "
        "ON b.id = bm.body_id WHERE b.active = ?) OR p.id IN (SELECT chair_id FROM body "
        "WHERE active = ?) OR p.id = ?)"
    )


def _member(tx: Tx, column: str, value: str) -> list[Member]:
    rows = tx.all(
        f"SELECT p.id, p.name, p.email, p.language FROM person p WHERE {column} = ? AND "
        f"{_members_where()} ORDER BY p.id",
        (value, True, True, True, region_facts(tx).coordinator),
    )
    return [Member(str(r[0]), str(r[1]), str(r[2]), str(r[3] or "nl")) for r in rows]


def member_by_id(tx: Tx, person_id: str) -> Member | None:
    found = _member(tx, "p.id", person_id)
    return found[0] if found else None


# -- the cookie ---------------------------------------------------------------------------


def signed_in(request: Request) -> Member | None:
    """The member this request's session cookie names, if it is valid and current."""
    value = request.cookies.get(COOKIE)
    if not value or len(value) > 512:
        return None
    state: WebState = request.app.state.regie
    try:
        person_id = _serializer(state).loads(value, max_age=SESSION_HOURS * 3600)
    except BadSignature:  # forged, altered or expired (SignatureExpired is one)
        return None
    if not isinstance(person_id, str):
        return None
    with state.db.transaction(write=False) as session:
        return member_by_id(Tx(session), person_id)


def start(request: Request, response: Response, person_id: str) -> None:
    state: WebState = request.app.state.regie
    response.set_cookie(
        COOKIE,
        _serializer(state).dumps(person_id),
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def end(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
    )


# -- asking for a sign-in link ------------------------------------------------------------


def request_link(state: WebState, email: str) -> int:
    """Queue a ``sign_in`` mail for every active member with this address (normally one),
    unless one was queued for them in the last minutes; returns how many were queued.
    One committed transaction per person, with a `sign_in_requested` audit event; an
    unknown address changes nothing."""
    address = email.strip().lower()
    if not address or len(address) > MAX_EMAIL or "@" not in address:
        return 0
    now = to_utc_naive(state.clock.now())
    queued = 0
    since = now - timedelta(minutes=RATE_LIMIT_MINUTES)
    with state.db.transaction(write=False) as session:
        people = _member(Tx(session), "lower(p.email)", address)
    for person in people:
        with state.db.transaction() as session:
            tx = Tx(session)
            recent = tx.scalar(
                "SELECT 1 FROM outbox WHERE kind = 'sign_in' AND person_id = ? "
                "AND created_at > ? LIMIT 1",
                (person.id, since),
            )
            if recent is not None:
                continue
            # An audit event like every change: who asked for access, when, from where;
            # its notice (`sign_in`, to the actor) carries the link, never held for a digest.
            ch = begin(session, state.clock, person.id)
            ch.record("sign_in_requested", acting_for=None, payload={})
            ch.commit()
            queued += 1
    return queued
