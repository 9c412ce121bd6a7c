"""Filters of a list page, read with the API's own query model.

A GET form sends every field, empty ones too (``?group_id=&q=``): read as the API's query model
they would be refused (an empty id is not an id). Here an empty field is absent, as in a posted
form (``core.web.forms``), and the rest is validated by the API's model, so a page and its API
list accept exactly the same filters. The query's names are declared, so the guard still refuses
an unknown one.
"""

# No ``from __future__ import annotations``: the dependency's annotation names a model built at
# run time, which FastAPI must see as a class, not as a string to resolve.

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query
from pydantic import BaseModel, create_model

from core.schemas import ListQuery
from core.web.forms import parse_form
from core.web.sessions import is_local_page

Q = TypeVar("Q", bound=ListQuery)
DEFAULT_PER_PAGE = 50


def query_form(model: type[Q]) -> Any:
    """A dependency giving the query string as ``model`` (empty fields left out)."""
    raw: Any = create_model(
        f"{model.__name__}Form", **{name: (str | None, None) for name in model.model_fields}
    )

    async def read(values: Annotated[raw, Query()]) -> Q:  # type: ignore[valid-type]
        return parse_form(model, {k: v for k, v in values.model_dump().items() if v not in (None, "")})

    return Depends(read)


def query_string(query: BaseModel | Mapping[str, Any], **extra: Any) -> str:
    """The query's set filters (not its page; ``per_page`` unless the default) as a query string
    ending in ``&``, or empty: the pager's and the export's links append to it."""
    values = query.model_dump(exclude={"page"}) if isinstance(query, BaseModel) else dict(query)
    values.update(extra)
    values.pop("page", None)
    if values.get("per_page") == DEFAULT_PER_PAGE:
        values.pop("per_page")
    pairs = {k: getattr(v, "value", v) for k, v in values.items() if v is not None and v != ""}
    pairs = {k: ("true" if v is True else "false" if v is False else v) for k, v in pairs.items()}
    encoded = urlencode(pairs)
    return f"{encoded}&" if encoded else ""


def filters_url(path: str, query: BaseModel | Mapping[str, Any], **extra: Any) -> str:
    """``path`` with the query's set filters, ending in ``?`` or ``&`` so a page number can follow
    (the ``pager`` macro appends ``page=N``)."""
    return f"{path}?{query_string(query, **extra)}"


def here(path: str, query: ListQuery) -> str:
    """The list's URL as shown now (filters and page), to come back to after an action."""
    return (filters_url(path, query) + (f"page={query.page}" if query.page > 1 else "")).rstrip("?&")


def back_to(form: dict[str, Any], path: str) -> str:
    """The ``next`` field of a posted form if it is ``path``'s list (an action's way back), else
    ``path``: only our own list URL is followed."""
    target = str(form.pop("next", path))
    return target if is_local_page(target, path) else path
