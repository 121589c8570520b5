"""Forms protected against cross-site requests: a random value in a cookie
(``SameSite=Strict``, ``HttpOnly``) and, in every form, an HMAC of that value and the
form's path under the link key. A POST without both, or with a mismatch, changes
nothing."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from regie.engine.keys import Key
from regie.errors import RegieError
from regie.web.links import link_key

COOKIE = "regie_csrf"
FIELD = "csrf"


class CsrfFailed(RegieError):
    exit_code = 2
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "this form was not sent from its own page (or your browser blocks cookies); "
            "open the link from the mail again and send the form from there"
        )


def new_cookie_value() -> str:
    return secrets.token_urlsafe(24)


def form_token(key: Key, cookie_value: str, path: str) -> str:
    message = f"regie-csrf:{cookie_value}:{path}".encode()
    return hmac.digest(link_key(key), message, hashlib.sha256).hex()


def check(key: Key, cookie_value: str | None, form_value: str | None, path: str) -> None:
    if not cookie_value or not form_value:
        raise CsrfFailed()
    if not hmac.compare_digest(form_value, form_token(key, cookie_value, path)):
        raise CsrfFailed()
