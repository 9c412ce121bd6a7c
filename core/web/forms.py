"""Forms on pages: read a posted form on the event loop, validate it with the same pydantic schema
the API uses, and hand back each failing field's message so the page can show it beside the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from core.api.errors import field_name
from core.errors import DomainError, FieldError, InvalidInput

Model = TypeVar("Model", bound=BaseModel)
MAX_FIELDS = 2000  # a form with more fields than any page has is refused (a pasted client list counts)


async def read_form(request: Request) -> dict[str, Any]:
    """The posted fields: a repeated name (checkboxes, multiple select) as a list, an empty text
    as absent, so optional fields stay optional."""
    form = await request.form(max_fields=MAX_FIELDS)
    values: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        items = [v for v in form.getlist(key) if v != ""]
        if not items:
            continue
        values[key] = items if len(items) > 1 or key.endswith("_ids") else items[0]
    return values


FormData = Annotated[dict[str, Any], Depends(read_form)]


def parse_form(model: type[Model], data: Mapping[str, Any]) -> Model:
    """``data`` as ``model``, or ``InvalidInput`` naming every failing field."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        problems = [
            FieldError(
                field_name(item.get("loc", ())), str(item.get("msg", "invalid")).removeprefix("Value error, ")
            )
            for item in error.errors()
        ]
        raise InvalidInput(problems[0].field, problems[0].message, *problems[1:]) from None


def field_errors(error: DomainError) -> dict[str, str]:
    """Each field's message, for ``macros.input(..., errors=…)``; a refusal about no field is
    under ``""``."""
    errors = {item.field: item.message for item in error.fields}
    return errors or {"": error.message}
