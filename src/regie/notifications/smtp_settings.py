"""Where and how the sender delivers mail.

Read from the region setting ``mail`` (JSON, stored by ``regie init`` from the config's
``[mail]`` section), then overridden by the environment: ``REGIE_SMTP_HOST``,
``REGIE_SMTP_PORT``, ``REGIE_SMTP_USER``. The password comes ONLY from
``REGIE_SMTP_PASSWORD``; it is never part of ``repr`` or :meth:`SmtpSettings.describe`.
Without any of these the sender talks to the local sink on 127.0.0.1:8025.

The sender is ``[mail] from_address``, else ``regie@`` the domain of the coordinator's
address (no one's personal mailbox); replies go to ``[mail] reply_to``, else to the
coordinator (:func:`load_settings`).

Host and port are checked when the settings are made (:class:`MailConfigError`, exit 2),
so a typo stops ``regie send`` before it claims anything. With a user, the login only
goes over TLS: ``starttls`` left unset then means *required*; a login without TLS needs
``allow_plaintext_auth = true``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from regie.engine.storage import Tx
from regie.errors import MailError
from regie.notifications.smtp_host import host_problem
from regie.notifications.types import SINK_PORT

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = SINK_PORT
DEFAULT_FROM = "regie@regie.localhost"


class MailConfigError(MailError):
    """The mail settings cannot work (host, port, TLS and login): fix the config."""

    exit_code = 2


@dataclass(frozen=True)
class SmtpSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    starttls: bool | None = None  # True: require, False: never, None: see start_tls
    tls: bool = False  # implicit TLS (port 465)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    allow_plaintext_auth: bool = False  # log in even where no TLS is in place
    from_address: str = DEFAULT_FROM
    reply_to: str | None = None  # the Reply-To header; None: none
    message_id_domain: str = ""  # default: the domain of from_address
    ca_file: str | None = None  # extra CA bundle to trust (e.g. a private relay)
    connections: int = 2
    timeout: float = 30.0
    lease_seconds: int = 600
    max_attempts: int = 10
    digest_hour: int = 7  # local hour after which yesterday's digest goes out

    def __post_init__(self) -> None:
        where = "check [mail] in the region config and REGIE_SMTP_HOST/REGIE_SMTP_PORT"
        problem = host_problem(self.host) if isinstance(self.host, str) else "no host name"
        if problem:
            raise MailConfigError(f"mail host: {problem}; {where}")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise MailConfigError(f"mail port {self.port!r} is not a number; {where}")
        if not 1 <= self.port <= 65535:
            raise MailConfigError(f"mail port {self.port} is not a TCP port (1 to 65535); {where}")
        if self.tls and self.starttls:
            raise MailConfigError("mail: tls and starttls are both true; choose one")
        if self.user and self.start_tls is False and not self.tls and not self.allow_plaintext_auth:
            raise MailConfigError(
                f"mail: a login as {self.user!r} with starttls = false would send the password "
                "unencrypted; remove starttls = false, use tls = true, or set "
                "allow_plaintext_auth = true in [mail]"
            )

    @property
    def start_tls(self) -> bool | None:
        """STARTTLS: True required, False never, None if the server offers it. Unset, it
        is required when a user logs in (unless ``allow_plaintext_auth``)."""
        if self.tls:
            return False
        if self.starttls is not None:
            return self.starttls
        return True if self.user and not self.allow_plaintext_auth else None

    @property
    def domain(self) -> str:
        if self.message_id_domain:
            return self.message_id_domain
        return self.from_address.rpartition("@")[2] or "regie.localhost"

    def describe(self) -> str:
        if self.tls:
            mode = "TLS"
        elif self.start_tls is None:
            mode = "STARTTLS if offered"
        else:
            mode = "STARTTLS" if self.start_tls else "plain"
        who = f" as {self.user}" if self.user else ""
        return f"{self.host}:{self.port} ({mode}{who})"


_INT_KEYS = ("port", "connections", "lease_seconds", "max_attempts", "digest_hour")
_STR_KEYS = ("host", "user", "message_id_domain", "ca_file", "reply_to")


def settings_from_mapping(mail: Mapping[str, Any], env: Mapping[str, str]) -> SmtpSettings:
    """Config values first, then the environment on top."""
    values: dict[str, Any] = {}
    try:
        for key in _INT_KEYS:
            if mail.get(key) is not None:
                values[key] = int(mail[key])
        for key in _STR_KEYS:
            if mail.get(key):
                values[key] = str(mail[key])
        if mail.get("timeout") is not None:
            values["timeout"] = float(mail["timeout"])
        sender = mail.get("from_address") or mail.get("from") or mail.get("sender")
        if sender:
            values["from_address"] = str(sender)
        if mail.get("starttls") is not None:
            values["starttls"] = bool(mail["starttls"])
        values["tls"] = bool(mail.get("tls", False))
        values["allow_plaintext_auth"] = bool(mail.get("allow_plaintext_auth", False))
        values.update(_env_values(env))
    except (TypeError, ValueError) as exc:
        raise MailConfigError(
            f"mail settings: {exc}; check [mail] in the region config and the REGIE_SMTP_* "
            "environment variables"
        ) from None
    settings = SmtpSettings(**values)
    if settings.connections < 1:
        raise MailConfigError("mail settings: connections must be at least 1")
    return settings


def _env_values(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if env.get("REGIE_SMTP_HOST"):
        values["host"] = env["REGIE_SMTP_HOST"]
    if env.get("REGIE_SMTP_PORT"):
        try:
            values["port"] = int(env["REGIE_SMTP_PORT"])
        except ValueError:
            raise ValueError(
                f"REGIE_SMTP_PORT={env['REGIE_SMTP_PORT']!r} is not a port number"
            ) from None
        if not 1 <= values["port"] <= 65535:
            raise ValueError(f"REGIE_SMTP_PORT={values['port']} is not a TCP port (1 to 65535)")
    if env.get("REGIE_SMTP_HOST") and (problem := host_problem(env["REGIE_SMTP_HOST"])):
        raise ValueError(f"REGIE_SMTP_HOST: {problem}")
    if env.get("REGIE_SMTP_USER"):
        values["user"] = env["REGIE_SMTP_USER"]
    if env.get("REGIE_SMTP_PASSWORD"):
        values["password"] = env["REGIE_SMTP_PASSWORD"]
    return values


def load_settings(tx: Tx, env: Mapping[str, str] | None = None) -> SmtpSettings:
    """The mail settings of the region in this database, with env overrides; sender and
    Reply-To default from the coordinator's address (:func:`with_coordinator`)."""
    raw = tx.scalar("SELECT value FROM region_setting WHERE key = ?", ("mail",))
    mail = json.loads(raw) if raw else {}
    if not isinstance(mail, dict):
        mail = {}
    raw_id = tx.scalar("SELECT value FROM region_setting WHERE key = ?", ("coordinator",))
    coordinator = (
        tx.scalar("SELECT email FROM person WHERE id = ?", (json.loads(raw_id),))
        if raw_id
        else None
    )
    return settings_from_mapping(
        with_coordinator(mail, coordinator), os.environ if env is None else env
    )


SENDER_MAILBOX = "regie"  # the local part of the default sender: regie@<coordinator's domain>


def with_coordinator(mail: Mapping[str, Any], coordinator: str | None) -> dict[str, Any]:
    """``[mail]`` with the defaults that come from the coordinator's address filled in: the
    sender ``regie@<its domain>`` (not their personal mailbox) and Reply-To the
    coordinator. Configured values are used as they are."""
    out = dict(mail)
    if not coordinator or "@" not in coordinator:
        return out
    if not (out.get("from_address") or out.get("from") or out.get("sender")):
        out["from_address"] = f"{SENDER_MAILBOX}@{coordinator.rpartition('@')[2]}"
    if not out.get("reply_to"):
        out["reply_to"] = coordinator
    return out


def with_overrides(settings: SmtpSettings, **changes: Any) -> SmtpSettings:
    return replace(settings, **changes)
