"""Fixtures for the outbox and sender tests (helpers live in mailtest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mailtest import ScriptedSink

from regie.notifications.sink import running


@pytest.fixture
def smtp() -> Iterator[tuple[ScriptedSink, int]]:
    """An aiosmtpd server in a thread on a free loopback port, with scripted refusals."""
    handler = ScriptedSink()
    with running(handler) as port:
        yield handler, port
