"""What the back office's settings pages (users, roles, teams, logs) share: a service call whose
refusal leaves nothing behind, and checkbox lists read from a form."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from core.context import Ctx

T = TypeVar("T")


def attempt(ctx: Ctx, action: Callable[[], T]) -> T:
    """Run a service call in a savepoint: when it refuses (a ``DomainError``), whatever it wrote
    before refusing is rolled back, so the page can answer the refusal without committing half a
    change."""
    with ctx.session.begin_nested():
        return action()


def ticked(form: Mapping[str, Any], name: str) -> list[str]:
    """The values of a group of checkboxes: none ticked is an empty list, one is a list too."""
    value = form.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
