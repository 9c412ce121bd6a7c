"""Shared pydantic building blocks for request and response bodies.

Every request type here is bounded by the limits in ``core.bounds`` and says so in the OpenAPI
schema (``maximum``, ``maxLength``, ``pattern``, ``enum``, ``uniqueItems``), so clients see what the
server enforces. Request bodies and query models derive from ``Input``, which refuses text that no
database can store (NUL and other control characters, unpaired surrogates) in every string field,
nested lists and dicts included.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from types import UnionType
from typing import Annotated, Any, ClassVar, Generic, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from sqlalchemy import Row

from core import bounds, reference
from core.db.paging import PageRequest, PageResult


def _text_problem(value: Any) -> str | None:
    """The first string in ``value`` (a string, or lists, tuples, sets and dicts of them, keys
    included) that cannot be stored, and why."""
    if isinstance(value, str):
        return bounds.text_problem(value)
    if isinstance(value, dict):
        return next(
            (p for item in value.items() for part in item if (p := _text_problem(part)) is not None), None
        )
    if isinstance(value, list | tuple | set | frozenset):
        return next((p for item in value if (p := _text_problem(item)) is not None), None)
    return None  # numbers, dates, nested models (which check their own fields)


_TRUE_FALSE = frozenset({"true", "false"})
_ISO_DATE = re.compile(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FIELD_KINDS: dict[tuple[type, str], tuple[type | None, bool]] = {}


def _scalar(annotation: Any) -> tuple[type | None, bool]:
    """The scalar type a field holds (``int``, ``bool``, ``datetime``…), and whether in a list."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        kinds = [_scalar(arg) for arg in get_args(annotation) if arg is not type(None)]
        return kinds[0] if len(kinds) == 1 else (None, False)
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        return _scalar(item)[0], True
    if origin is Annotated:
        return _scalar(get_args(annotation)[0])
    return (annotation, False) if isinstance(annotation, type) else (None, False)


def _coercion_problem(kind: type | None, value: Any) -> str | None:
    """Why ``value`` is not what the schema says a ``kind`` is, where pydantic's lax mode would
    quietly convert it (true for 1, 0 for false, a number of seconds for a date)."""
    if kind is bool:
        ok = isinstance(value, bool) or (isinstance(value, str) and value.lower() in _TRUE_FALSE)
        return None if ok else "must be true or false"
    if kind is int and isinstance(value, bool):
        return "must be an integer, not true or false"
    if kind in (datetime, date) and not (
        isinstance(value, datetime | date) or (isinstance(value, str) and _ISO_DATE.match(value))
    ):
        return "must be a date in ISO 8601 (YYYY-MM-DD…), not a number"
    return None


class Input(BaseModel):
    """A request body or a list's query: unknown fields are an error, strings are stripped, no
    string holds what a database cannot store, and no value is converted from another JSON type
    (the OpenAPI schema says what each field takes, and the server takes exactly that)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _as_declared(cls, value: Any, info: ValidationInfo) -> Any:
        assert info.field_name is not None
        key = (cls, info.field_name)
        if key not in _FIELD_KINDS:
            _FIELD_KINDS[key] = _scalar(cls.model_fields[info.field_name].annotation)
        kind, many = _FIELD_KINDS[key]
        values = value if many and isinstance(value, list) else [value]
        for item in values:
            if item is not None and (problem := _coercion_problem(kind, item)) is not None:
                raise ValueError(problem)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any, info: ValidationInfo) -> Any:
        problem = _text_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


def _drop_null_from_kept_fields(schema: dict[str, Any], model: type[BaseModel]) -> None:
    clearable = getattr(model, "clearable", frozenset())
    for name, field in schema.get("properties", {}).items():
        if name in clearable or "anyOf" not in field:
            continue
        field["anyOf"] = [option for option in field["anyOf"] if option != {"type": "null"}]
        if len(field["anyOf"]) == 1:
            field.update(field.pop("anyOf")[0])
        field.pop("default", None)


class Patch(Input):
    """A partial update (PATCH): only the fields the request names change. A field listed in
    ``clearable`` may be sent as null to clear it; null for any other field is refused (422, naming
    it), and the schema says so. Services read :meth:`changes` and apply them."""

    model_config = ConfigDict(json_schema_extra=_drop_null_from_kept_fields)
    clearable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _kept_unless_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.clearable:
            raise ValueError("cannot be empty: leave the field out to keep its value")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the request named, in declaration order, with their new values."""
        named = self.model_fields_set
        return {name: getattr(self, name) for name in type(self).model_fields if name in named}


def apply_changes(record: object, changes: dict[str, Any]) -> None:
    """Set each changed attribute on ``record`` (lists copied, so the request's list is not shared)."""
    for name, value in changes.items():
        setattr(record, name, list(value) if isinstance(value, list) else value)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- reference codes: enumerated in the schema (one component each), checked with a short message ---


def _code_enum(name: str, codes: Sequence[str], doc: str) -> type[enum.StrEnum]:
    members = enum.StrEnum(name, {code: code for code in sorted(codes)})  # type: ignore[misc]
    members.__doc__ = doc
    return members


def _reference_code(members: type[enum.StrEnum], known: frozenset[str], what: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str) and value not in known:
            raise ValueError(f"unknown {what} {value[:40]!r}")
        return value

    return Annotated[
        members,
        BeforeValidator(check),
        AfterValidator(lambda member: member.value),  # plain strings from here on
        PlainSerializer(str, return_type=str),
    ]


CurrencyCode = _reference_code(
    _code_enum("CurrencyCode", sorted(reference.currency_codes()), "An active ISO 4217 currency code."),
    reference.currency_codes(),
    "or inactive ISO 4217 currency",
)
CountryCode = _reference_code(
    _code_enum("CountryCode", sorted(reference.country_codes()), "An ISO 3166-1 alpha-2 country code."),
    reference.country_codes(),
    "ISO 3166-1 country",
)
LanguageCode = _reference_code(
    _code_enum("LanguageCode", sorted(reference.language_codes()), "An ISO 639-1 language code."),
    reference.language_codes(),
    "ISO 639-1 language",
)
TimeZoneName = _reference_code(
    _code_enum("TimeZoneName", sorted(reference.time_zones()), "An IANA time zone name."),
    reference.time_zones(),
    "IANA time zone",
)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a time-zone offset")
    try:
        return value.astimezone(UTC)  # as it is stored, so a reply echoes what was saved
    except OverflowError:  # e.g. 0001-01-01T00:00+00:01 is before the first representable instant
        raise ValueError("is out of range") from None


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]

# --- ids ---------------------------------------------------------------------------------------

Id = Annotated[int, Field(ge=1, le=bounds.MAX_ID)]


def _distinct(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value} appears more than once")
        seen.add(value)
    return values


def distinct_list(item: Any, max_items: int, *, min_items: int = 0) -> Any:
    """A list naming each value once (a repeated value is an error, not silently merged)."""
    return Annotated[
        list[item],
        Field(min_length=min_items, max_length=max_items, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_distinct),
    ]


def id_list(max_items: int, *, min_items: int = 0) -> Any:
    """A list of distinct ids."""
    return distinct_list(Id, max_items, min_items=min_items)


# --- text --------------------------------------------------------------------------------------


def _line(value: str) -> str:
    problem = bounds.line_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _name(value: str) -> str:
    _line(value)
    if not bounds.has_visible_character(value):
        raise ValueError("must contain a visible character")
    return value


def name_type(max_length: int) -> Any:
    """A name or title: one line, at least one visible character."""
    return Annotated[str, Field(min_length=1, max_length=max_length), AfterValidator(_name)]


def line_type(max_length: int) -> Any:
    """One line of text that may be empty (search terms, short labels)."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(_line)]


def text_type(max_length: int, *, min_length: int = 0) -> Any:
    """Text that may span lines (descriptions, notes, message bodies)."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length)]


Name = name_type(200)
ShortName = name_type(100)
SearchText = line_type(100)
ShortText = text_type(500)
Phone = Annotated[str, Field(min_length=5, max_length=32, pattern=r"^\+?[0-9 ()\-]{5,32}$")]
Password = Annotated[str, Field(min_length=1, max_length=128)]
# A module's name (its manifest's ``name``) and a permission's dotted name.
MODULE_NAME_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
ModuleName = Annotated[str, Field(min_length=2, max_length=40, pattern=MODULE_NAME_PATTERN)]
PermissionName = Annotated[
    str, Field(min_length=3, max_length=100, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
]
Email = Annotated[EmailStr, Field(max_length=254)]

# --- money -------------------------------------------------------------------------------------

_DECIMAL_TEXT = re.compile(r"^-?[0-9]{1,13}(\.[0-9]{1,4})?$")


def _ascii_decimal(value: Any) -> Any:
    """Amounts as JSON numbers, or as strings of ASCII digits (Python's Decimal would also take
    other scripts' digits and underscores)."""
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.match(text):
            raise ValueError("must be a decimal number (ASCII digits, at most 4 decimal places)")
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            raise ValueError("must be a decimal number") from None
    return value


def _money(minimum: Decimal, *, exclusive_minimum: bool) -> Any:
    bound = {"gt" if exclusive_minimum else "ge": minimum}
    number: dict[str, Any] = {"type": "number", "maximum": float(bounds.MAX_AMOUNT)}
    number["exclusiveMinimum" if exclusive_minimum else "minimum"] = float(minimum)
    return Annotated[
        Decimal,
        BeforeValidator(_ascii_decimal),
        Field(
            le=bounds.MAX_AMOUNT,
            max_digits=bounds.MAX_AMOUNT_DIGITS,
            decimal_places=bounds.MONEY_PLACES,
            allow_inf_nan=False,
            **bound,
        ),
        WithJsonSchema(
            {"anyOf": [number, {"type": "string", "maxLength": 19, "pattern": _DECIMAL_TEXT.pattern}]}
        ),
    ]


# Amounts arrive as JSON strings or numbers and are exact Decimals from then on, at most
# ``core.bounds.MAX_AMOUNT`` each.
Amount = _money(-bounds.MAX_AMOUNT, exclusive_minimum=False)
PositiveAmount = _money(Decimal(0), exclusive_minimum=True)
NonNegativeAmount = _money(Decimal(0), exclusive_minimum=False)
# Amounts leave as strings so no client parses them into a float by accident.
MoneyOut = Annotated[Decimal, PlainSerializer(lambda value: str(value), return_type=str, when_used="json")]


class MoneyOutput(Output):
    """An output carrying ``currency``: its money fields are shown with that currency's digits."""

    money_fields: ClassVar[tuple[str, ...]] = ("amount",)

    @model_validator(mode="after")
    def _to_minor_units(self) -> Any:
        currency = getattr(self, "currency", None)
        if currency:
            for name in self.money_fields:
                value = getattr(self, name, None)
                if isinstance(value, Decimal):
                    object.__setattr__(self, name, reference.display_amount(value, currency))
        return self


T = TypeVar("T")


@functools.lru_cache(maxsize=512)
def _list_of(item: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[item])  # type: ignore[valid-type]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @classmethod
    def of(cls, result: PageResult[Any], item: type[BaseModel]) -> Page[Any]:
        """The page of ``item`` (``Page[item]``, the route's response model) over ORM rows or
        plain rows (``Row``), each validated once."""
        page_class = cls[item] if cls is Page else cls  # type: ignore[index]
        rows = result.items
        if rows and isinstance(rows[0], Row):
            items = _list_of(item).validate_python([row._asdict() for row in rows])  # dicts: fastest
        else:
            items = _list_of(item).validate_python(rows, from_attributes=True)
        return page_class(
            items=items,
            total=result.total,
            page=result.page,
            per_page=result.per_page,
        )


PageNumber = Annotated[int, Field(ge=1, le=bounds.MAX_PAGE)]
PerPage = Annotated[int, Field(ge=1, le=bounds.MAX_PER_PAGE)]


class ListQuery(Input):
    """Query parameters of a paged list. Subclass it with the list's filters: one model holds
    every parameter, so an unknown one is a 422 naming it."""

    page: PageNumber = 1
    per_page: PerPage = 50

    @property
    def paging(self) -> PageRequest:
        return PageRequest(page=self.page, per_page=self.per_page)

    def filters(self) -> dict[str, Any]:
        """The filter fields only (without paging)."""
        return self.model_dump(exclude={"page", "per_page"})
