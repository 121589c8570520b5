"""One SMTP connection of the sender: opened lazily, secured, logged in, reused.

* **TLS before the password.** With a user, the login only goes over TLS (``tls = true``
  or STARTTLS); ``starttls`` left unset is then *required*. A server that offers no
  STARTTLS is refused before anything is sent: no AUTH command, no message. Only
  ``allow_plaintext_auth = true`` lets the password go without TLS.
* **Before DATA.** :class:`Client` calls ``before_data`` right before the DATA command
  (after MAIL FROM and RCPT TO were accepted): the sender commits there that DATA starts
  for the message, the one moment after which it may have been delivered.
* **Errors.** :class:`ConfigProblem` is a setup the server refuses (certificate, login,
  no STARTTLS): no message can go out until the config changes. :func:`unreachable`
  words why a connection could not be opened ("connection refused by HOST:PORT").
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Literal

import aiosmtplib
from aiosmtplib.typing import Default

from regie.notifications.smtp_settings import SmtpSettings


class ConfigProblem(Exception):
    """The SMTP setup itself is wrong (certificate, login, TLS): no message can go out."""


class Client(aiosmtplib.SMTP):
    """aiosmtplib's client with a hook that runs right before DATA."""

    before_data: Callable[[], Awaitable[None]] | None = None

    async def data(
        self,
        message: str | bytes,
        /,
        *,
        timeout: float | Literal[Default.token] | None = Default.token,
    ) -> aiosmtplib.SMTPResponse:
        hook, self.before_data = self.before_data, None
        if hook is not None:
            await hook()
        return await super().data(message, timeout=timeout)


class Connection:
    """One lazily opened, reused SMTP connection."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.client: Client | None = None

    async def get(self) -> Client:
        if self.client is not None and self.client.is_connected:
            return self.client
        await self.close()
        s = self.settings
        client = Client(
            hostname=s.host, port=s.port, use_tls=s.tls, start_tls=False, timeout=s.timeout,
            cert_bundle=s.ca_file,
        )  # fmt: skip
        try:
            await client.connect()
            await self._secure(client)
            await self._login(client)
        except ssl.SSLCertVerificationError as exc:
            client.close()
            raise ConfigProblem(
                f"the TLS certificate of {s.host}:{s.port} could not be verified "
                f"({exc.verify_message or exc.reason}); fix the server's certificate or set "
                "ca_file in [mail]"
            ) from None
        except BaseException:
            client.close()
            raise
        self.client = client
        return client

    async def _secure(self, client: Client) -> None:
        s = self.settings
        if s.start_tls is False:
            return
        await client.ehlo()
        if client.supports_extension("starttls"):
            await client.starttls()
        elif s.start_tls:
            why = "starttls = true" if s.starttls else f"the login as {s.user!r} needs it"
            raise ConfigProblem(
                f"{s.host}:{s.port} does not offer STARTTLS, which is required ({why}); "
                "nothing was sent and no password; use a server with STARTTLS, tls = true "
                "(port 465), or allow_plaintext_auth = true in [mail] on a network you trust"
            )

    async def _login(self, client: Client) -> None:
        s = self.settings
        if not s.user:
            return
        encrypted = s.tls or client.get_transport_info("sslcontext") is not None
        if not encrypted and not s.allow_plaintext_auth:  # starttls = None, not offered
            raise ConfigProblem(
                f"{s.host}:{s.port} offers no TLS; regie does not send the password of "
                f"{s.user!r} unencrypted (allow_plaintext_auth = true in [mail] would)"
            )
        try:
            await client.login(s.user, s.password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise ConfigProblem(
                f"{s.host}:{s.port} refused the login of {s.user!r}: {exc.code} {exc.message}; "
                "check user in [mail] and REGIE_SMTP_PASSWORD"
            ) from None
        except aiosmtplib.SMTPException as exc:
            if isinstance(exc, ConnectionError | TimeoutError):
                raise
            raise ConfigProblem(
                f"{s.host}:{s.port} offers no login method regie can use ({exc}); check user "
                "in [mail]"
            ) from None

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        else:
            client.close()


def unreachable(exc: BaseException, settings: SmtpSettings) -> str:
    """Why a connection to the server could not be opened, in words."""
    where = f"{settings.host}:{settings.port}"
    cause = exc.__cause__ or exc
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        return f"{where} turned the connection away: {exc.code} {exc.message}".strip()
    if isinstance(exc, TimeoutError) or isinstance(cause, TimeoutError):
        return f"{where} did not answer within {settings.timeout:g} s"
    refused = f"[Errno {errno.ECONNREFUSED}]"
    if isinstance(cause, ConnectionRefusedError) or refused in str(cause):
        return f"connection refused by {where}"
    if isinstance(cause, socket.gaierror):
        return f"the host name {settings.host} was not found ({cause.strerror})"
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return f"{where} closed the connection before it was ready"
    return f"cannot connect to {where}: {type(exc).__name__}: {exc}"
