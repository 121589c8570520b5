"""Pages: Jinja2 templates per language (``templates/nl``, ``templates/en``), escaped by
default, one small CSS file, no JavaScript. :func:`page` renders one and sets what every
page needs: the CSRF cookie its forms are checked against, and the form token."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from regie.dates import DATE, DAY, TIME, format_span, format_when
from regie.web import csrf

LANGUAGES = ("nl", "en")


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("regie.web", f"templates/{lang}"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        auto_reload=False,  # packaged templates: no stat() of three files per page
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda value: format_when(value, lang)
    env.filters["day"] = lambda value: format_when(value, lang, DAY)
    env.filters["date"] = lambda value: format_when(value, lang, DATE)
    env.filters["time"] = lambda value: format_when(value, lang, TIME)
    env.filters["span"] = lambda start, end: format_span(start, end, lang)
    return env


def page(
    request: Request, name: str, lang: str, *, status: int = 200, **values: Any
) -> HTMLResponse:
    """The page ``name`` in ``lang`` (nl when unknown), with a CSRF token for its forms."""
    lang = lang if lang in LANGUAGES else "nl"
    state = request.app.state.regie
    cookie = request.cookies.get(csrf.COOKIE) or csrf.new_cookie_value()
    token = csrf.form_token(state.key, cookie, request.url.path)
    html = (
        environment(lang)
        .get_template(name)
        .render(lang=lang, csrf_field=csrf.FIELD, csrf_token=token, path=request.url.path, **values)
    )
    response = HTMLResponse(html, status_code=status)
    if request.cookies.get(csrf.COOKIE) != cookie:
        response.set_cookie(
            csrf.COOKIE,
            cookie,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


def message(
    request: Request, lang: str, title: str, text: str, *, status: int = 200
) -> HTMLResponse:
    """A page that only says something: a link that is used up, a refusal, a thank-you."""
    return page(request, "message.html", lang, status=status, title=title, text=text)


def browser_language(request: Request) -> str:
    """The language for a page that has no person yet: the browser's first choice."""
    accepted = request.headers.get("accept-language", "").lower()
    return "en" if accepted.startswith("en") else "nl"
