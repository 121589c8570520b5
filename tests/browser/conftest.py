"""Fixtures of the browser tests: Debian's Chromium through Playwright, a fresh database.

No browser is ever downloaded: Playwright starts ``/usr/bin/chromium``. Without it the
tests skip with the command that installs it — except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webtest import CHROMIUM, CHROMIUM_ARGS, INSTALL, Office


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (a browser per test, closed after)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: the browser tests must run in CI; {INSTALL}")
        pytest.skip(f"{CHROMIUM} is missing; {INSTALL}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    o = Office(tmp_path)
    yield o
    o.db.dispose()
