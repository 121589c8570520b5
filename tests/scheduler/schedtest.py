"""Helpers the scheduler tests share (imported as ``schedtest``, like notifications'
``mailtest``)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from typing import Any

from regie.engine import attendance


def expected(world: Any, person: str, meeting_id: str) -> None:
    """``person`` announces they will come to ``meeting_id``."""
    world.call(attendance.record_attendance, actor=person, meeting_id=meeting_id, person=person,
               status="expected")  # fmt: skip


def set_scheduler(world: Any, setting: dict[str, Any]) -> None:
    """Store a ``[scheduler]`` setting as ``regie init`` does (a new config generation)."""
    with closing(sqlite3.connect(world.path)) as conn:
        conn.execute(
            "INSERT INTO region_setting (key, value) VALUES ('scheduler', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (json.dumps(setting),),
        )
        conn.execute(
            "UPDATE region_setting SET value = ? WHERE key = 'generation'",
            (json.dumps(uuid.uuid4().int % 10**9),),
        )
        conn.commit()
