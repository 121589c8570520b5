"""The key that lives outside the database: one master secret, a key per purpose.

Where it comes from, first found wins:

1. env ``REGIE_SECRET``: at least 32 bytes, written as hex or base64;
2. the file named by env ``REGIE_KEY_FILE``;
3. for an SQLite database file, ``<database>.key`` next to it.

``regie init`` creates the file (2 or 3) when there is none, with mode 0600; a key file that
group or others may read is refused. For PostgreSQL there is no file next to the database:
set ``REGIE_KEY_FILE`` (or ``REGIE_SECRET``). The secret is never logged, never printed and
never stored in the database; what the database and the output show is the key id, a
fingerprint that does not reveal it.

Each purpose gets its own key, derived from the master secret with HMAC-SHA256
(``derive``): the MAC of each audit event, the published anchor of the chain head, and later
the signed links for chairs in e-mail — one secret to keep and back up, keys that cannot
stand in for each other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import stat
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regie.errors import UsageError
from regie.private_files import create_file

MIN_BYTES = 32
AUDIT_EVENT = "audit-event"
AUDIT_ANCHOR = "audit-anchor"
LINK = "link"  # signed links for chairs (a later issue)
_SESSION_SLOT = "regie_key"


@dataclass(frozen=True)
class Key:
    """The master secret (never shown) and where it came from."""

    source: str  # "REGIE_SECRET" or the key file's path: never the secret itself
    master: bytes = field(repr=False)
    key_id: str = field(init=False)
    event_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_id", self.derive("key-id").hex()[:16])
        object.__setattr__(self, "event_key", self.derive(AUDIT_EVENT))

    def derive(self, purpose: str) -> bytes:
        """The key for one purpose: HMAC-SHA256(master, "regie/" + purpose)."""
        return hmac.digest(self.master, f"regie/{purpose}".encode(), hashlib.sha256)

    def event_mac(self, event_hash: str) -> str:
        """The MAC of an audit event: one HMAC over the hash the chain already computes."""
        return hmac.digest(self.event_key, event_hash.encode("ascii"), hashlib.sha256).hex()

    def anchor_tag(self, text: str) -> str:
        return hmac.digest(self.derive(AUDIT_ANCHOR), text.encode(), hashlib.sha256).hex()


def parse_secret(text: str, where: str) -> bytes:
    """A secret written as hex or base64 (standard or URL-safe), at least 32 bytes."""
    value = text.strip()
    raw: bytes | None = None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        standard = value.replace("-", "+").replace("_", "/")  # URL-safe alphabet too
        try:
            raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) < MIN_BYTES:
        raise UsageError(
            f"{where} must hold a secret of at least {MIN_BYTES} bytes, written as hex or "
            "base64 (make one with: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return raw


def key_file_path(db_path: str, is_sqlite: bool) -> Path | None:
    """The key file to use: ``REGIE_KEY_FILE``, else ``<database>.key`` for an SQLite file
    (None for an in-memory database, or PostgreSQL without ``REGIE_KEY_FILE``)."""
    named = os.environ.get("REGIE_KEY_FILE")
    if named:
        return Path(named).expanduser()
    if is_sqlite and db_path and db_path != ":memory:":
        return Path(f"{db_path}.key")
    return None


# Keys read from files, by (path, inode, size, mtime): one stat per transaction, no read.
_FILES: dict[tuple[str, int, int, int], Key] = {}


def _read_key_file(path: Path) -> Key:
    try:
        info = path.stat()
    except OSError as exc:
        raise UsageError(f"cannot read the key file {path}: {exc.strerror or exc}") from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsageError(
            f"the key file {path} may be read by group or others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); make it private with: chmod 600 {path}"
        )
    seen = (str(path), info.st_ino, info.st_size, info.st_mtime_ns)
    known = _FILES.get(seen)
    if known is not None:
        return known
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        text = ""
    except OSError as exc:
        raise UsageError(f"cannot read the key file {path}: {exc.strerror or exc}") from exc
    key = _FILES[seen] = Key(str(path), parse_secret(text, f"the key file {path}"))
    return key


def _from_env() -> Key | None:
    secret = os.environ.get("REGIE_SECRET")
    return Key("REGIE_SECRET", parse_secret(secret, "REGIE_SECRET")) if secret else None


def load_key(db_path: str, is_sqlite: bool) -> Key | None:
    """The key for this database, or None when there is none (yet)."""
    found = _from_env()
    if found is not None:
        return found
    path = key_file_path(db_path, is_sqlite)
    if path is None or not path.exists():
        return None
    return _read_key_file(path)


def ensure_key(db_path: str, is_sqlite: bool) -> tuple[Key | None, bool]:
    """The key ``regie init`` uses, created as a 0600 file when there is none yet.

    Returns the key (None only for an in-memory database) and whether it was created."""
    found = _from_env()
    if found is not None:
        return found, False
    path = key_file_path(db_path, is_sqlite)
    if path is None:
        if is_sqlite:
            return None, False  # in-memory: nothing outlives the process anyway
        raise UsageError(
            "a PostgreSQL database needs its key outside the database: set REGIE_KEY_FILE to "
            "a file path (regie init creates it, mode 0600) or REGIE_SECRET"
        )
    if path.exists():
        return _read_key_file(path), False
    secret = secrets.token_bytes(MIN_BYTES)
    try:
        fd = create_file(path)  # 0600 whatever the umask; never through a symbolic link
    except FileExistsError:  # another init made it in the meantime
        return _read_key_file(path), False
    except OSError as exc:
        raise UsageError(f"cannot create the key file {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secret.hex() + "\n")
        out.flush()
        os.fsync(out.fileno())
    return Key(str(path), secret), True


def missing_key(key_id: str, db_path: str, is_sqlite: bool) -> UsageError:
    """The error when the trail is authenticated and its key is not available."""
    where = key_file_path(db_path, is_sqlite)
    file = f"the key file {where} does not exist" if where else "REGIE_KEY_FILE is not set"
    return UsageError(
        f"the audit trail is authenticated with key {key_id}, which is not available here "
        f"(REGIE_SECRET is not set and {file}); restore the key file from its backup or set "
        "REGIE_KEY_FILE / REGIE_SECRET (see docs/SECURITY.md); nothing was written"
    )


def wrong_key(key: Key, key_id: str) -> UsageError:
    return UsageError(
        f"the key from {key.source} (id {key.key_id}) is not the key of this audit trail (id "
        f"{key_id}); use the key file that belongs to this database; nothing was written"
    )


def database_of(session: Any) -> tuple[str, bool]:
    """(SQLite file or "", is SQLite) of a session's database."""
    db = getattr(session, "db", None)  # DbSession
    if db is not None:
        return str(db.path), bool(db.is_sqlite)
    url = session.get_bind().url
    if url.get_backend_name() != "sqlite":
        return "", False
    # the URL's own database part: rendering the URL would percent-quote the file name
    database = url.database or ""
    if url.query.get("uri") == "true" and database.startswith("file:"):
        database = database[len("file:") :]
    return database or ":memory:", True


# Keys found for an opened database (the lean write path's ``Database``), with the
# environment they were found under: one lookup per process and database, not per write.
_BY_DATABASE: weakref.WeakKeyDictionary[Any, tuple[tuple[str | None, str | None], Key]] = (
    weakref.WeakKeyDictionary()
)


def _for_database(db: Any) -> Key | None:
    env = (os.environ.get("REGIE_SECRET"), os.environ.get("REGIE_KEY_FILE"))
    cached = _BY_DATABASE.get(db)
    if cached is not None and cached[0] == env:
        return cached[1]
    found = load_key(str(db.path), bool(db.is_sqlite))
    if found is not None:  # no key yet: look again next time (regie init may make one)
        _BY_DATABASE[db] = (env, found)
    return found


def session_key(session: Any) -> Key | None:
    """The key for a session's database: read once per opened database (the key file is
    not read again while the process runs), looked up once per session."""
    info: dict[str, Any] = session.info
    if _SESSION_SLOT not in info:
        db = getattr(session, "db", None)  # DbSession: the opened Database
        info[_SESSION_SLOT] = (
            _for_database(db) if db is not None else load_key(*database_of(session))
        )
    found = info[_SESSION_SLOT]
    return found if isinstance(found, Key) else None


def forget_key(session: Any) -> None:
    """Look the key up again on the next use (after ``regie init`` created it)."""
    session.info.pop(_SESSION_SLOT, None)
