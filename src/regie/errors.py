"""Errors a person can act on.

Every error regie raises on purpose derives from :class:`RegieError`; the CLI turns
them into one line on stderr and the exit code the subclass names. Anything else
escaping to the user is a bug.

    RegieError                      exit 1
    ├── ConfigError                 exit 2   region config file (file, key path, problem)
    ├── WorkflowError               exit 2   workflow definition file (file, key path, problem)
    ├── UsageError                  exit 2   bad argument value (unknown id, bad date…)
    ├── NotFound                    exit 1   proposal, meeting, person… does not exist
    ├── NotAllowed                  exit 1   the acting person lacks the role for this action
    ├── InvalidMove                 exit 1   move not allowed from the proposal's state
    ├── MandateMissing              exit 1   concerned parties not covered at decision time
    ├── DissentNotRecorded          exit 1   a party disagreed and the decision does not say so
    ├── StaleVersion                exit 1   confirm/amend of a superseded decision version
    ├── ConcurrentChange            exit 1   someone else changed the proposal first
    ├── ClockBackwards              exit 2   an event dated before the audit trail's last one
    ├── StorageError                exit 3   database unusable (locked, full, read-only, damaged,
    │                                         newer schema)
    └── MailError                   exit 1   SMTP configuration or transport problem
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime


class RegieError(Exception):
    """Base class: ``str(error)`` is the message shown to the user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


Problem = tuple[str, str, str]  # (file, key path, what to do)


def _problem_line(file: str, key: str, problem: str) -> str:
    where = f"{file}: {key}" if key else file
    return f"{where}: {problem}"


class ConfigError(RegieError):
    """A region configuration file is invalid: one problem, or several found at once.

    ``file``, ``key`` and ``problem`` describe the first; ``problems`` lists all of them
    in the order they were found (file order within each check), ``lines`` one line each.
    """

    exit_code = 2

    def __init__(self, file: str, key: str, problem: str, *, more: Sequence[Problem] = ()) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        self.problems: list[Problem] = [(file, key, problem), *more]
        self.lines = [_problem_line(*p) for p in self.problems]
        if len(self.lines) == 1:
            super().__init__(self.lines[0])
        else:
            head = f"{len(self.lines)} problems in the configuration; fix each of them:"
            super().__init__("\n".join([head, *self.lines]))

    @classmethod
    def collect(cls, problems: Sequence[Problem]) -> ConfigError:
        """One error carrying every problem (``problems`` must not be empty)."""
        first, *more = problems
        return cls(*first, more=more)


class WorkflowError(ConfigError):
    """A workflow definition file is invalid."""


class UsageError(RegieError):
    """An argument has a value regie cannot use."""

    exit_code = 2


class NotFound(RegieError):
    """Something named by the user does not exist."""

    def __init__(self, kind: str, ident: str, hint: str = "") -> None:
        self.kind = kind
        self.ident = ident
        msg = f"{kind} {ident!r} does not exist"
        super().__init__(f"{msg}; {hint}" if hint else msg)


class NotAllowed(RegieError):
    """The acting person may not take this action."""

    def __init__(self, person: str, action: str, reason: str) -> None:
        self.person = person
        self.action = action
        super().__init__(f"{person} may not {action}: {reason}")


class InvalidMove(RegieError):
    """A move that the proposal's workflow does not allow from its current state."""

    def __init__(
        self, proposal: str, state: str, move: str, allowed: Iterable[str], why: str = ""
    ) -> None:
        self.proposal = proposal
        self.state = state
        self.move = move
        self.allowed = sorted(set(allowed))
        allowed_txt = ", ".join(self.allowed) if self.allowed else "none (the proposal is closed)"
        reason = f" ({why})" if why else ""
        super().__init__(
            f"{proposal} is in state '{state}': cannot {move}{reason}; moves allowed now: "
            f"{allowed_txt}"
        )


class MandateMissing(RegieError):
    """Concerned parties have no mandated voice at the deciding meeting; ``reasons`` says
    for each of them why (one clause per party, see ``regie.engine.mandate``)."""

    def __init__(
        self, proposal: str, meeting: str, parties: Sequence[str], reasons: Sequence[str] = ()
    ) -> None:
        self.proposal = proposal
        self.meeting = meeting
        self.parties = list(parties)
        self.reasons = list(reasons)
        why = f" ({'; '.join(self.reasons)})" if self.reasons else ""
        super().__init__(
            f"{proposal}: cannot record a decision at {meeting}: no mandated representative, "
            f"substitute with mandate or prior position for: {', '.join(self.parties)}{why}; "
            "record attendance with 'regie attend', or use --override \"reason\""
        )


class ConcurrentChange(RegieError):
    """The stored state changed between reading and writing."""

    def __init__(self, proposal: str, expected: str) -> None:
        self.proposal = proposal
        super().__init__(
            f"{proposal} was changed by someone else (it is no longer in state '{expected}'); "
            "nothing was written; run 'regie show' and try again"
        )


class ClockBackwards(RegieError):
    """The clock (or ``REGIE_NOW``) says a time before the last event of the audit trail."""

    exit_code = 2

    def __init__(self, at: datetime, last_at: datetime, last_event: int) -> None:
        self.at = at
        self.last_at = last_at
        self.last_event = last_event
        super().__init__(
            f"the clock says {at:%Y-%m-%d %H:%M:%S} UTC, before the last audit event "
            f"(#{last_event}, {last_at:%Y-%m-%d %H:%M:%S} UTC); the audit trail never goes back "
            "in time: check the system clock (or REGIE_NOW); nothing was written"
        )


class StorageError(RegieError):
    """The database cannot be used as asked."""

    exit_code = 3


class MailError(RegieError):
    """Mail could not be configured or sent."""


class DissentNotRecorded(RegieError):
    """A concerned party is on record as disagreeing, and the decision does not say so."""

    def __init__(self, proposal: str, parties: Sequence[str]) -> None:
        self.proposal = proposal
        self.parties = list(parties)
        super().__init__(
            f"{proposal}: {', '.join(self.parties)} gave a prior position 'disagree'; record "
            'the dissent with the decision: --dissent "who disagrees and why"'
        )


class StaleVersion(RegieError):
    """A confirmation or amendment names a decision version that is no longer the latest."""

    def __init__(self, proposal: str, move: str, version: int, latest: int, text: str) -> None:
        self.proposal = proposal
        self.version = version
        self.latest = latest
        super().__init__(
            f"{proposal}: cannot {move} version {version}: it was superseded by version "
            f'{latest}, which reads "{text}"; read it, then {move} --version {latest}'
        )
