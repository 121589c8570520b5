"""Whether a name can be an SMTP host: checked when the config is loaded
(:class:`regie.notifications.config.MailSettings`) and when the sender starts
(:mod:`regie.notifications.smtp_settings`); no pydantic."""

from __future__ import annotations

import contextlib
import ipaddress
import re

_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def host_problem(value: str) -> str | None:
    """Why ``value`` cannot be an SMTP host (a DNS name or an IP address), or None."""
    example = "write e.g. 'smtp.example.org'"
    if not value or any(c.isspace() or ord(c) < 32 for c in value):
        return f"{value!r} is not a host name; {example}"
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(value.removeprefix("[").removesuffix("]"))
        return None
    name = value.removesuffix(".")
    labels = name.split(".")
    if any(not label for label in labels):
        return f"{value!r} is not a host name: it has an empty part between dots; {example}"
    try:
        ascii_labels = [label.encode("idna").decode("ascii") for label in labels]
    except UnicodeError:
        return f"{value!r} is not a host name (a part between dots is not valid); {example}"
    bad = [label for label in ascii_labels if not _HOST_LABEL.fullmatch(label)]
    if bad or len(".".join(ascii_labels)) > 253:
        what = f"the part {bad[0]!r} is not valid" if bad else "it is too long"
        return f"{value!r} is not a host name ({what}); {example}"
    return None
