"""Helpers for the confirmation-link tests: a decision awaiting confirmation, its links,
the app around the test's database, and the form a page carries."""

from __future__ import annotations

import re
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI

from regie.clock import Clock
from regie.engine import attendance, decisions, keys
from regie.engine.storage import Database
from regie.notifications.sink import free_port
from regie.web import csrf, links
from regie.web.app import create_app

with warnings.catch_warnings():  # starlette 1.x asks for httpx2; httpx works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="' + csrf.FIELD + r'" value="([0-9a-f]+)"')


def cover(world: Any, pid: str) -> None:
    """Every concerned party present at the proposal's top meeting (by its mandated person)."""
    meeting = world.show(pid)["meeting"]
    for party in world.show(pid)["parties"]:
        person = world.mandated(party, world.body_id("oogo"))
        world.call(
            attendance.record_attendance, meeting_id=meeting, person=person, status="present"
        )


def decided(world: Any, text: str = "Vastgesteld, met <b>opmaak</b>.") -> str:
    pid = world.submit("adoption", title="Dashboard jeugd")
    world.to_final(pid)
    cover(world, pid)
    world.call(decisions.decide, proposal_id=pid, outcome="adopted", text=text)
    return str(pid)


def link_row(world: Any, pid: str, kind: str = "decision_recorded", person: str = "") -> int:
    person = person or world.chair("oogo")
    found = world.sql(
        "SELECT id FROM outbox WHERE proposal_id = ? AND kind = ? AND person_id = ? "
        "ORDER BY id DESC LIMIT 1",
        (pid, kind, person),
    )
    assert found, f"no {kind} notice for {person} about {pid}"
    return int(found[0][0])


def key_of(world: Any) -> keys.Key:
    key = keys.load_key(str(world.path), True)
    assert key is not None
    return key


def app_for(world: Any) -> FastAPI:
    return create_app(world.db, world.clock, key_of(world))


def path_of(world: Any, row_id: int) -> str:
    return f"/l/{links.token_for(key_of(world), row_id)}"


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def forged_form(world: Any, client: TestClient, path: str) -> str:
    """The CSRF token a form on ``path`` would carry (for pages that show no form)."""
    client.get(path)
    return csrf.form_token(key_of(world), str(client.cookies[csrf.COOKIE]), path)


def post(client: TestClient, path: str, **fields: str) -> Any:
    """GET the page (the CSRF cookie and token), then POST its form with ``fields``."""
    shown = client.get(path)
    return client.post(path, data={csrf.FIELD: csrf_of(shown.text), **fields})


def state_of(world: Any, pid: str) -> dict[str, Any]:
    """What a page view must not change, and what a confirmation changes."""
    return {
        **world.snapshot(pid),
        "outbox": world.sql("SELECT COUNT(*) FROM outbox")[0][0],
        "link_use": world.sql("SELECT * FROM link_use"),
    }


@contextmanager
def served(db: Database, clock: Clock, key: keys.Key) -> Iterator[str]:
    """A real uvicorn server (in a thread) with the app on a free port: its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        create_app(db, clock, key), host="127.0.0.1", port=port, log_level="warning",
        access_log=False, lifespan="off",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
