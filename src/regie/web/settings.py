"""Settings of the web service: where it is reachable and how long links live.

From the region config's ``[web]`` table as ``regie init`` stored it (the ``web`` region
setting): ``base_url`` (the public address links in mails start with) and ``link_days``
(default 14). ``REGIE_BASE_URL`` overrides the base URL (a test server on a free port).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from regie.engine.storage import Tx
from regie.web.links import DEFAULT_LINK_DAYS

DEFAULT_BASE_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class WebSettings:
    base_url: str = DEFAULT_BASE_URL
    link_days: int = DEFAULT_LINK_DAYS


def load_web_settings(tx: Tx) -> WebSettings:
    raw = tx.scalar("SELECT value FROM region_setting WHERE key = 'web'")
    stored = json.loads(raw) if raw else {}
    base = os.environ.get("REGIE_BASE_URL") or stored.get("base_url") or DEFAULT_BASE_URL
    days = stored.get("link_days")
    return WebSettings(
        base_url=str(base).rstrip("/"),
        link_days=int(days) if isinstance(days, int) and days > 0 else DEFAULT_LINK_DAYS,
    )
