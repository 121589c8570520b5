"""The audit hash's input bytes are those of the original formula (issue 15 made them
cheaper to build): existing trails must still verify."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pytest

from regie.engine import audit


def _reference_hash(content: dict[str, object]) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


AWKWARD = ["plain", 'quote " and \\ backslash', "tab\tnewline\n\x00\x1f", "Zoë ≠ 🐄", "\u2028"]


@pytest.mark.parametrize("value", AWKWARD)
@pytest.mark.parametrize("with_origin", [True, False])
def test_event_hash_is_the_original_formula(value: str, with_origin: bool) -> None:
    at = datetime(2026, 11, 23, 9, 30, 0, 0)  # no microseconds: isoformat would drop them
    payload_text = audit.canonical({"reason": value, "n": 1, "list": [value, None]})
    content: dict[str, object] = {
        "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": value,
        "acting_for": None,
        "action": "advanced",
        "proposal": "P-2026-001",
        "meeting": None,
        "payload": payload_text,
        "prev": "0" * 64,
    }
    origin = {}
    if with_origin:
        content |= {"os_user": value, "host": "host-1"}
        origin = {"os_user": value, "host": "host-1"}
    got = audit.event_hash(
        at=at, actor=value, acting_for=None, action="advanced", proposal_id="P-2026-001",
        meeting_id=None, payload_text=payload_text, prev_hash="0" * 64, **origin,
    )  # fmt: skip
    assert got == _reference_hash(content)


def test_canonical_is_json_dumps() -> None:
    value = {"b": [1, 2.5, None, True], "a": {"z": "Zoë", "y": "\n"}, "é": ""}
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert audit.canonical(value) == expected


@pytest.mark.parametrize(
    "at", [datetime(2026, 1, 2, 3, 4, 5, 6), datetime(2026, 1, 2), datetime(999, 1, 1, 0, 0, 1)]
)
def test_stamp_is_the_strftime_text(at: datetime) -> None:
    assert audit._stamp(at) == at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
