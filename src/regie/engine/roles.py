"""Who may act: the coordinator, the chair of a body, a member of a body."""

from __future__ import annotations

from regie.engine import repository as repo
from regie.engine.changes import Change
from regie.errors import NotAllowed


def _chair(ch: Change, body_id: str) -> str:
    body = ch.facts.bodies.get(body_id)
    return body.chair if body else repo.body_chair(ch.tx, body_id)


def require_coordinator(ch: Change, action: str) -> None:
    if not ch.is_coordinator:
        raise NotAllowed(ch.actor.id, action, "only the network coordinator may do this")


def require_chair_or_coordinator(ch: Change, body_id: str, action: str) -> None:
    if ch.is_coordinator or _chair(ch, body_id) == ch.actor.id:
        return
    raise NotAllowed(
        ch.actor.id, action, f"only the chair of '{body_id}' or the network coordinator may"
    )


def require_chair(ch: Change, body_id: str, action: str) -> None:
    if _chair(ch, body_id) != ch.actor.id:
        raise NotAllowed(ch.actor.id, action, f"only the chair of '{body_id}' may")


def require_member_or_coordinator(ch: Change, body_id: str, action: str) -> None:
    if ch.is_coordinator or repo.is_member(ch.tx, body_id, ch.actor.id):
        return
    raise NotAllowed(
        ch.actor.id, action, f"only members of '{body_id}' or the network coordinator may"
    )
