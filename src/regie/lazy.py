"""Modules loaded on first use, so a command's ``--help`` does not import the engine.

:func:`lazy_module` hands out the module object at once and runs its code on the first
attribute access (the standard library's :class:`importlib.util.LazyLoader`). Command
modules use it as::

    if TYPE_CHECKING:
        from regie.engine import moves
    else:
        moves = lazy_module("regie.engine.moves")

so type checkers see the real module and ``regie advance --help`` imports none of it.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module ``name``; its code runs when one of its attributes is first read."""
    if name in sys.modules:
        return sys.modules[name]
    parent, _, child = name.rpartition(".")
    package = importlib.import_module(parent) if parent else None
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    if package is not None:
        setattr(package, child, module)
    return module
