"""The read-only portal (seed 002: "one shared portal with all base documents").

Members only: ``/login`` takes an e-mail address and, when it belongs to an active member
of some body (or the coordinator), queues a mail with a sign-in link; the answer is the
same page either way, so the form does not tell who is a member. The link (``/l/{token}``,
action ``sign_in``) shows a button (a GET never signs in: mail scanners open links); its
POST starts a session (:mod:`regie.web.session`) and goes to ``/``. A sign-in link works
one hour. Pages: ``/`` (open proposals by stage, coming meetings), ``/p/{proposal}``
(route, documents, timeline, decisions), ``/m/{meeting}`` (agenda; after the meeting its
decisions and the news that published them, with the audit chain's head). Nothing here
changes a proposal or a meeting; every page is in the signed-in person's language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from regie.clock import to_local, to_utc_naive
from regie.engine.storage import Tx
from regie.errors import NotFound
from regie.web import csrf, portal_views, session
from regie.web.links import Link
from regie.web.pages import browser_language, message, page

if TYPE_CHECKING:
    from regie.web.app import WebState

TEXTS = {
    "nl": {
        "expired_title": "Deze inloglink is verlopen",
        "expired": "Een inloglink werkt een uur. Vraag op de inlogpagina een nieuwe aan.",
        "gone_title": "Inloggen lukt niet",
        "gone": "U staat niet (meer) als lid van een overleg in regie. Neem contact op met de "
        "netwerkregisseur.",
        "missing_title": "Niet gevonden",
        "missing": "Dit voorstel of deze vergadering bestaat niet.",
    },
    "en": {
        "expired_title": "This sign-in link has expired",
        "expired": "A sign-in link works for one hour. Ask for a new one on the sign-in page.",
        "gone_title": "You cannot sign in",
        "gone": "You are not (or no longer) a member of a body in regie. Please contact the "
        "network coordinator.",
        "missing_title": "Not found",
        "missing": "This proposal or meeting does not exist.",
    },
}


def _state(request: Request) -> WebState:
    state: WebState = request.app.state.regie
    return state


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


# -- the sign-in link (HANDLERS["sign_in"] in regie.web.app) ------------------------------


def _expired(request: Request, link: Link) -> Response | None:
    now = to_utc_naive(_state(request).clock.now())
    if now <= link.created_at + timedelta(minutes=session.SIGN_IN_MINUTES):
        return None
    words = TEXTS[link.language]
    return message(request, link.language, words["expired_title"], words["expired"], status=410)


def show(request: Request, link: Link) -> Response:
    """The page behind a sign-in link: a button, nothing else (a GET changes nothing)."""
    refused = _expired(request, link)
    if refused is not None:
        return refused
    until = link.created_at + timedelta(minutes=session.SIGN_IN_MINUTES)
    return page(request, "sign_in.html", link.language, until=to_local(until).isoformat())


def submit(request: Request, link: Link, form: dict[str, str]) -> Response:
    state = _state(request)
    csrf.check(state.key, request.cookies.get(csrf.COOKIE), form.get(csrf.FIELD), request.url.path)
    refused = _expired(request, link)
    if refused is not None:
        return refused
    with state.db.transaction(write=False) as tx_session:
        member = session.member_by_id(Tx(tx_session), link.person_id)
    if member is None:
        words = TEXTS[link.language]
        return message(request, link.language, words["gone_title"], words["gone"], status=403)
    response = RedirectResponse("/", status_code=303)
    session.start(request, response, member.id)
    return response


# -- the routes ---------------------------------------------------------------------------


def install(app: FastAPI) -> None:
    app.add_api_route("/login", login_form, methods=["GET", "HEAD"])
    app.add_api_route("/login", login_request, methods=["POST"])
    app.add_api_route("/logout", logout_form, methods=["GET", "HEAD"])
    app.add_api_route("/logout", logout, methods=["POST"])
    app.add_api_route("/", home, methods=["GET", "HEAD"])
    app.add_api_route("/p/{proposal_id}", proposal, methods=["GET", "HEAD"])
    app.add_api_route("/m/{meeting_id}", meeting, methods=["GET", "HEAD"])


def login_form(request: Request) -> Response:
    if session.signed_in(request) is not None:
        return RedirectResponse("/", status_code=303)
    return page(request, "login.html", browser_language(request), minutes=session.SIGN_IN_MINUTES)


async def login_request(request: Request) -> Response:
    """Queue a sign-in link for a member; the same answer for any address."""
    state = _state(request)
    form = await request.form()
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    csrf.check(state.key, request.cookies.get(csrf.COOKIE), values.get(csrf.FIELD), "/login")
    await run_in_threadpool(session.request_link, state, values.get("email", ""))
    return page(
        request, "login_sent.html", browser_language(request), minutes=session.SIGN_IN_MINUTES
    )


def logout_form(request: Request) -> Response:
    member = session.signed_in(request)
    lang = member.language if member else browser_language(request)
    return page(request, "portal_logout.html", lang, member=member)


async def logout(request: Request) -> Response:
    state = _state(request)
    form = await request.form()
    sent = form.get(csrf.FIELD)
    csrf.check(
        state.key,
        request.cookies.get(csrf.COOKIE),
        sent if isinstance(sent, str) else None,
        "/logout",
    )
    response = _to_login()
    session.end(request, response)
    return response


def _portal_page(
    request: Request, name: str, view: Callable[..., dict[str, Any]], *args: Any
) -> Response:
    """A page for the signed-in member (else to /login); an unknown id is a 404 page."""
    member = session.signed_in(request)
    if member is None:
        return _to_login()
    state = _state(request)
    lang = member.language if member.language in ("nl", "en") else "nl"
    try:
        with state.db.transaction(write=False) as tx_session:
            values = view(tx_session, lang, *args)
    except NotFound:
        words = TEXTS[lang]
        return message(request, lang, words["missing_title"], words["missing"], status=404)
    return page(request, name, lang, member=member, **values)


def home(request: Request) -> Response:
    now = to_utc_naive(_state(request).clock.now())
    return _portal_page(
        request, "portal_home.html", lambda s, lang: portal_views.home(s, lang, now)
    )


def proposal(request: Request, proposal_id: str) -> Response:
    return _portal_page(request, "portal_proposal.html", portal_views.proposal, proposal_id)


def meeting(request: Request, meeting_id: str) -> Response:
    now = to_utc_naive(_state(request).clock.now())
    return _portal_page(
        request,
        "portal_meeting.html",
        lambda s, lang: portal_views.meeting(s, lang, meeting_id, now),
    )
