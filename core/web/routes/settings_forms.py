"""What the back office's settings pages (users, roles, teams, logs) share: a service call whose
refusal leaves nothing behind, checkbox lists read from a form, and filter forms whose blank
fields mean "no filter"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, model_validator

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


class BlankIsAbsent(BaseModel):
    """A mixin for a list's query model on a page: a GET form sends its empty fields as ``name=``;
    those mean "no filter", as if the field were left out."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {key: value for key, value in data.items() if value not in ("", None)}
        return data
