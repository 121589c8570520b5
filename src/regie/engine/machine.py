"""Workflow definitions compiled into `transitions` state machines.

One shared machine per workflow version (by digest), built once; a proposal is attached
for a single operation with its stored state and detached afterwards (LIBNOTES §1), so
memory does not grow with the number of proposals processed.

States: the workflow's stages, plus ``awaiting_confirmation``, ``decided``, ``noted`` and
``withdrawn``. Triggers: ``advance`` and ``return`` (guarded by the target stage),
``defer``, ``withdraw``, ``decide`` (from an end stage: to awaiting confirmation, or for a
workflow that records no decision straight to ``noted``), ``amend``, ``confirm``, and
``retract`` (a recorded decision withdrawn: back to the end stage it was recorded at,
guarded by that stage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from regie.workflows.definition import Workflow
from transitions import Machine, MachineError

AWAITING = "awaiting_confirmation"
DECIDED = "decided"
NOTED = "noted"
WITHDRAWN = "withdrawn"
CLOSED_STATES = (DECIDED, NOTED, WITHDRAWN)
NOT_OPEN = (AWAITING, *CLOSED_STATES)  # decided (confirmed or not), noted or withdrawn
# ``proposal.state`` of a proposal still open, as SQL with literals (the partial index
# ix_proposal_open of migration 0014 is only used by a query naming the same literals)
OPEN_STATE_SQL = "state NOT IN ({})".format(", ".join(f"'{s}'" for s in NOT_OPEN))
MOVES = ("advance", "return", "defer", "withdraw", "decide", "amend", "confirm", "retract")


class ProposalModel:
    """What the machine sees of a proposal: just its state (SQLModel rows can't be models)."""

    def __init__(self, state: str) -> None:
        self.state = state


class LeanMachine(Machine):
    """A `transitions` Machine that binds only ``trigger(name)`` to attached models.

    We fire events by name and never use the per-state ``is_<state>`` / per-trigger
    ``<trigger>`` / ``may_<trigger>`` conveniences; binding them cost two thirds of each
    attach (about 30 us). (Private hooks of transitions 0.9; the version is pinned < 0.10.)
    """

    def _add_model_to_state(self, state: Any, model: Any) -> None:
        return None

    def _add_trigger_to_model(self, trigger: str, model: Any) -> None:
        return None


def _target_is(stage: str) -> Callable[..., bool]:
    def check(*_args: Any, target: str | None = None, **_kwargs: Any) -> bool:
        return target == stage

    check.__name__ = f"target_is_{stage}"
    return check


class CompiledWorkflow:
    """A workflow and its one shared `transitions` machine."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        stages = [s.id for s in workflow.stages]
        self.states = [*stages, AWAITING, DECIDED, NOTED, WITHDRAWN]
        transitions: list[dict[str, Any]] = []
        for src, dst in workflow.advance:
            transitions.append(
                {"trigger": "advance", "source": src, "dest": dst, "conditions": _target_is(dst)}
            )
        for src, dst in workflow.returns:
            transitions.append(
                {"trigger": "return", "source": src, "dest": dst, "conditions": _target_is(dst)}
            )
        for stage in workflow.defer:
            transitions.append({"trigger": "defer", "source": stage, "dest": stage})
        for stage in workflow.withdraw:
            transitions.append({"trigger": "withdraw", "source": stage, "dest": WITHDRAWN})
        closing = AWAITING if workflow.records_decision else NOTED
        for stage in workflow.end_stages:
            transitions.append({"trigger": "decide", "source": stage, "dest": closing})
            transitions.append(
                {
                    "trigger": "retract",
                    "source": AWAITING,
                    "dest": stage,
                    "conditions": _target_is(stage),
                }
            )
        transitions.append({"trigger": "amend", "source": AWAITING, "dest": AWAITING})
        transitions.append({"trigger": "confirm", "source": AWAITING, "dest": DECIDED})
        self.machine = LeanMachine(
            model=None,
            states=self.states,
            transitions=transitions,
            initial=workflow.start,
            auto_transitions=False,
        )
        self.table = _lookup_table(self.machine)

    @contextmanager
    def attached(self, state: str) -> Iterator[ProposalModel]:
        model = ProposalModel(state)
        self.machine.add_model(model, initial=state)
        try:
            yield model
        finally:
            self.machine.remove_model(model)

    def fire(self, state: str, move: str, target: str | None = None) -> str | None:
        """The state after ``move``; None if the move is not allowed (or its guard fails).

        Answered from :attr:`table` (what the machine would do, read off it), else by the
        machine itself."""
        if state not in self.states:
            return None
        if self.table is not None and move in self.machine.events:
            options = self.table.get((state, move))
            if options is None:
                return None  # not a move from this state (the machine: MachineError)
            for dest, conditions in options:  # the first transition whose guards pass
                if all(check(target=target) == expected for check, expected in conditions):
                    return state if dest is None else dest
            return None
        return self.fire_on_machine(state, move, target)

    def fire_on_machine(self, state: str, move: str, target: str | None = None) -> str | None:
        """:meth:`fire` by attaching a model to the machine and triggering the move."""
        if state not in self.states:
            return None
        model = ProposalModel(state)  # attached for this one event (see `attached`)
        self.machine.add_model(model, initial=state)
        try:
            ok = model.trigger(move, target=target)  # type: ignore[attr-defined]
        except MachineError:
            return None
        finally:
            self.machine.remove_model(model)
        return model.state if ok else None

    def moves_from(self, state: str) -> list[str]:
        """Trigger names defined from ``state`` (guards not evaluated)."""
        if state not in self.states:
            return []
        return sorted(t for t in self.machine.get_triggers(state) if t in MOVES)

    def targets(self, state: str, move: str) -> list[str]:
        """Stages ``move`` may lead to from ``state`` (for advance and return)."""
        pairs = self.workflow.advance if move == "advance" else self.workflow.returns
        return [dst for src, dst in pairs if src == state]


# (state, move) -> its transitions in the machine's order: (dest, ((guard, expected), ...))
Table = dict[
    tuple[str, str], tuple[tuple[str | None, tuple[tuple[Callable[..., Any], bool], ...]], ...]
]


def _lookup_table(machine: Machine) -> Table | None:
    """What ``machine`` does on each (state, move), derived from its compiled events, so
    firing a move need not attach a model (76 µs per transition). Only where that gives
    the machine's answers: no callbacks anywhere and guards that are callables; else None
    (every move then goes through the machine)."""
    hooks = (machine.prepare_event, machine.before_state_change, machine.after_state_change,
             machine.finalize_event, machine.on_exception)  # fmt: skip
    if any(hooks) or any(st.on_enter or st.on_exit for st in machine.states.values()):
        return None
    table: Table = {}
    for move, event in machine.events.items():
        for source, found in event.transitions.items():
            options = []
            for t in found:
                if t.prepare or t.before or t.after:
                    return None
                guards = tuple((c.func, c.target) for c in t.conditions)
                if not all(callable(check) for check, _expected in guards):
                    return None
                options.append((t.dest, cast(tuple[tuple[Callable[..., Any], bool], ...], guards)))
            table[(source, move)] = tuple(options)
    return table


_CACHE: dict[str, CompiledWorkflow] = {}


def compiled(workflow: Workflow) -> CompiledWorkflow:
    """The shared machine for this exact workflow text."""
    found = _CACHE.get(workflow.digest)
    if found is None:
        found = _CACHE[workflow.digest] = CompiledWorkflow(workflow)
    return found
