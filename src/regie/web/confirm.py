"""The chair confirms a decision through the link in the decision mail (issue 17).

``GET``/``HEAD`` only show (mail scanners open links before people do): the proposal,
the meeting, the recorded text and version, who attended for which party, and two
buttons. ``POST`` confirms (:func:`regie.engine.decisions.confirm` for the link's version,
as the link's person) or asks the coordinator for a correction
(:func:`regie.engine.decisions.request_correction`); the link's use is recorded in the
same transaction (:mod:`regie.web.uses`), so fifty simultaneous confirmations make one
change and forty-nine pages that say it was confirmed. A link that can no longer be used
says why (:mod:`regie.web.confirm_view`), in its person's language, never with a trace.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from regie.clock import to_utc_naive
from regie.engine import decisions
from regie.engine.storage import Tx
from regie.engine.warmup import prepare
from regie.errors import RegieError, UsageError
from regie.web import confirm_view, csrf, uses
from regie.web.confirm_view import DecisionView
from regie.web.links import Link
from regie.web.pages import page

# status -> HTTP status of the page when it is only shown (GET) and when a POST was refused
_SHOWN = {
    confirm_view.OPEN: 200,
    confirm_view.REQUESTED: 200,
    confirm_view.CONFIRMED: 200,
    confirm_view.SUPERSEDED: 410,
    confirm_view.EXPIRED: 410,
    confirm_view.NOT_CHAIR: 403,
}
_REFUSED = {**_SHOWN, confirm_view.CONFIRMED: 409, confirm_view.REQUESTED: 409}
ACTIONS = ("confirm", "correct")


def show(request: Request, link: Link) -> HTMLResponse:
    view = _read(request, link)
    return _page(request, link, view, status=_SHOWN[view.status])


def submit(request: Request, link: Link, form: dict[str, str]) -> HTMLResponse:
    state = request.app.state.regie
    csrf.check(state.key, request.cookies.get(csrf.COOKIE), form.get(csrf.FIELD), request.url.path)
    action = form.get("action", "")
    if action not in ACTIONS:
        raise UsageError("choose Confirm or Request correction on the page and send it again")
    view = _read(request, link)
    may = view.status == confirm_view.OPEN or (
        view.status == confirm_view.REQUESTED and action == "confirm"
    )
    if not may:
        return _page(request, link, view, status=_REFUSED[view.status])
    try:
        _act(request, link, action, form.get("comment", ""))
    except Exception as exc:
        if not (uses.is_second_use(exc) or isinstance(exc, RegieError)):
            raise
        again = _read(request, link)
        if again.status in confirm_view.ACTIONABLE and not uses.is_second_use(exc):
            raise  # refused for a reason of its own (an empty comment): a plain page
        return _page(request, link, again, status=_REFUSED[again.status])
    return _page(request, link, _read(request, link), done=action)


def _act(request: Request, link: Link, action: str, comment: str) -> None:
    """The change and the link's use, in one transaction."""
    state = request.app.state.regie
    with state.db.transaction(write=False) as ahead:
        prepare(ahead, state.clock)
    with state.db.transaction() as session:
        now = to_utc_naive(state.clock.now())
        pid, version = str(link.proposal_id), link.version or 0
        if action == "confirm":
            uses.take(Tx(session), link.row_id, link.person_id, uses.CONFIRMED, now)
            decisions.confirm(session=session, clock=state.clock, actor=link.person_id,
                              proposal_id=pid, version=version)  # fmt: skip
        else:
            uses.take(Tx(session), link.row_id, link.person_id, uses.CORRECTION_REQUESTED, now)
            decisions.request_correction(session=session, clock=state.clock,
                                         actor=link.person_id, proposal_id=pid,
                                         version=version, comment=comment)  # fmt: skip


def _read(request: Request, link: Link) -> DecisionView:
    state = request.app.state.regie
    with state.db.transaction(write=False) as session:
        return confirm_view.read(
            Tx(session), link, state.clock.now(), state.settings.link_days, link.language
        )


def _page(
    request: Request, link: Link, view: DecisionView, *, status: int = 200, done: str = ""
) -> HTMLResponse:
    return page(request, "confirm.html", link.language, status=status, d=view, done=done)
