"""The web app: ``/l/{token}`` (a link from a mail), the portal, static files.

:func:`create_app` builds a FastAPI app around an opened database, a clock and the
database's secret. Every response says ``Cache-Control: no-store`` and
``Referrer-Policy: no-referrer`` (a token must not end up in a cache or in another
site's logs); errors are plain pages in the person's language, never a trace. What a
link does is decided by its kind (:data:`regie.web.links.ACTIONS`): the module of that
action renders the page (GET, HEAD: never a change) and handles the form (POST).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regie.clock import Clock
from regie.engine.keys import Key
from regie.engine.storage import Database, Tx
from regie.errors import RegieError
from regie.web import links
from regie.web.pages import browser_language, message
from regie.web.settings import WebSettings, load_web_settings

# action -> module with `show(request, link)` and `submit(request, link)`
HANDLERS = {
    "confirm": "regie.web.confirm",
    "answer": "regie.web.answer",
    "sign_in": "regie.web.portal",
}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
}


_RAW_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response (a plain ASGI middleware: the
    decorator kind costs about as much as a whole small request, bench/web.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _RAW_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass
class WebState:
    db: Database
    clock: Clock
    key: Key
    settings: WebSettings


def create_app(db: Database, clock: Clock, key: Key) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    with db.transaction(write=False) as session:
        settings = load_web_settings(Tx(session))
    app.state.regie = WebState(db=db, clock=clock, key=key, settings=settings)
    app.mount("/static", StaticFiles(packages=[("regie.web", "static")]), name="static")

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(RegieError)
    async def refused(request: Request, exc: RegieError) -> HTMLResponse:
        status = int(getattr(exc, "status", 0) or (409 if exc.exit_code == 3 else 400))
        lang = browser_language(request)
        title = {"nl": "Dat lukt niet", "en": "That did not work"}[lang]
        return message(request, lang, title, str(exc), status=status)

    @app.exception_handler(HTTPException)
    async def not_found(request: Request, exc: HTTPException) -> HTMLResponse:
        lang = browser_language(request)
        title = {"nl": "Niet gevonden", "en": "Not found"}[lang]
        text = {"nl": "Deze pagina bestaat niet.", "en": "This page does not exist."}[lang]
        return message(request, lang, title, text, status=exc.status_code)

    @app.api_route("/l/{token}", methods=["GET", "HEAD"])
    async def show_link(request: Request, token: str) -> Response:
        if request.app.state.regie.db.is_sqlite:
            # one short read in WAL mode (~0.1 ms, never waits for a writer): cheaper in the
            # event loop than a hop to a worker thread (bench/web.py: 0.2 -> ~0.7 x bare)
            return _show(request, token)
        return await run_in_threadpool(_show, request, token)  # network round trips

    @app.post("/l/{token}")
    async def submit_link(request: Request, token: str) -> Response:
        form = await request.form()
        values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        # the database work blocks: in a worker thread, so requests run side by side
        return await run_in_threadpool(_submit, request, token, values)

    _portal_routes(app)
    return app


def _show(request: Request, token: str) -> Response:
    link = _open(request, token)
    return _handler(link).show(request, link)


def _submit(request: Request, token: str, values: dict[str, str]) -> Response:
    link = _open(request, token)
    return _handler(link).submit(request, link, values)


def _open(request: Request, token: str) -> links.Link:
    state: WebState = request.app.state.regie
    with state.db.transaction(write=False) as session:
        return links.open_link(Tx(session), state.key, token)


def _handler(link: links.Link) -> Any:
    return importlib.import_module(HANDLERS[link.action])


def _portal_routes(app: FastAPI) -> None:
    """The read-only portal, when its module is there (issue 17)."""
    try:
        portal = importlib.import_module("regie.web.portal")
    except ModuleNotFoundError:
        return
    routes = getattr(portal, "install", None)
    if routes is not None:
        routes(app)
