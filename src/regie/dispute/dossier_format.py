"""The dossier's JSON form (docs/AUDIT.md): its format name, the events as it holds them
(the exact content each hash covers), and reading a file with its layout checked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from regie.engine import audit
from regie.engine.storage import as_datetime
from regie.errors import UsageError

FORMAT = "regie-dossier/1"
EVENT_COLUMNS = (
    "id, at, actor, acting_for, action, proposal_id, meeting_id, payload, prev_hash, hash, "
    "os_user, host, mac, key_id"
)
CONTENT_KEYS = {"at", "actor", "acting_for", "action", "proposal", "meeting", "payload", "prev"}


def hashed_text(content: dict[str, Any]) -> str:
    """The exact text an event's hash covers (its UTF-8 bytes are hashed)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(hashed_text(content).encode("utf-8")).hexdigest()


def event_record(row: tuple[Any, ...]) -> dict[str, Any]:
    """An ``audit_event`` row as a dossier holds it: the exact content its hash covers, its
    hash and the previous event's, and its MAC (which needs the key to check)."""
    at = as_datetime(row[1])
    assert at is not None
    content = audit.hashed_content(
        at=at, actor=row[2], acting_for=row[3], action=row[4], proposal_id=row[5],
        meeting_id=row[6], payload_text=row[7], prev_hash=row[8], os_user=row[10], host=row[11],
    )  # fmt: skip
    return {"id": int(row[0]), "prev_hash": row[8], "hash": row[9], "mac": row[12],
            "key_id": row[13], "content": content}  # fmt: skip


def load(path: str | Path) -> dict[str, Any]:
    """The dossier's JSON, its layout checked (a wrong layout is a usage error)."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the dossier {where}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(
            f"{where} is not a JSON dossier ({exc}); check the JSON form that "
            "'regie audit export --format json' writes (CSV and HTML are for reading)"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f'{where} is not a regie dossier: its "format" is not {FORMAT!r}')
    _require(where, "head", data.get("head"), dict)
    _require(where, "head.id", data["head"].get("id"), int)
    _require(where, "head.hash", data["head"].get("hash"), str)
    for i, p in enumerate(_require(where, "proposals", data.get("proposals"), list)):
        _require(where, f"proposals[{i}]", p, dict)
        for key, kind in (("id", str), ("decisions", list), ("events", list), ("route", list)):
            _require(where, f"proposals[{i}].{key}", p.get(key), kind)
    for i, e in enumerate(_require(where, "events", data.get("events"), list)):
        _require(where, f"events[{i}]", e, dict)
        _require(where, f"events[{i}].id", e.get("id"), int)
        for key in ("hash", "prev_hash"):
            _require(where, f"events[{i}].{key}", e.get(key), str)
        content = _require(where, f"events[{i}].content", e.get("content"), dict)
        if not set(content) >= CONTENT_KEYS or not all(
            v is None or isinstance(v, str) for v in content.values()
        ):
            raise UsageError(
                f"{where}: events[{i}].content must hold the hashed keys "
                f"({', '.join(sorted(CONTENT_KEYS))}), each a string or null"
            )
    return data


def _require(where: str, key: str, value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UsageError(
            f"{where} is not a regie dossier: {key} is missing or not a {kind.__name__}"
        )
    return value
