"""Re-export shims for names that moved: a plugin importing the old name keeps working for one
minor version of the contract, with a ``DeprecationWarning`` that says where the name went."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def moved_names(old_module: str, new_homes: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving each name of ``new_homes`` from its new module."""

    def module_getattr(name: str) -> Any:
        home = new_homes.get(name)
        if home is None:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        warnings.warn(
            f"{old_module}.{name} is deprecated: import it from core.sdk ({home}.{name})",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)

    return module_getattr


def moved_module(old_module: str, new_module: str) -> None:
    """Warn that a whole module moved (call at the top of the old module, which re-exports)."""
    warnings.warn(
        f"{old_module} is deprecated: it is now {new_module} (plugins import from core.sdk)",
        DeprecationWarning,
        stacklevel=3,
    )
