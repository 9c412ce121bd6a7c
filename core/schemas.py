"""Shared pydantic building blocks for request and response bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from core import reference
from core.db.paging import MAX_PER_PAGE, PageRequest, PageResult


class Input(BaseModel):
    """A request body: unknown fields are an error, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _currency(code: str) -> str:
    code = code.upper()
    if not reference.is_currency(code):
        raise ValueError(f"unknown ISO 4217 currency {code!r}")
    return code


def _country(code: str) -> str:
    code = code.upper()
    if not reference.is_country(code):
        raise ValueError(f"unknown ISO 3166-1 country {code!r}")
    return code


def _language(code: str) -> str:
    code = code.lower()
    if not reference.is_language(code):
        raise ValueError(f"unknown ISO 639-1 language {code!r}")
    return code


def _time_zone(name: str) -> str:
    if not reference.is_time_zone(name):
        raise ValueError(f"unknown IANA time zone {name!r}")
    return name


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a time-zone offset")
    return value.astimezone(UTC)  # as it is stored, so a reply echoes what was saved


CurrencyCode = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_currency)]
CountryCode = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_country)]
LanguageCode = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_language)]
TimeZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_time_zone)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
ShortText = Annotated[str, Field(max_length=500)]
Phone = Annotated[str, Field(min_length=5, max_length=32, pattern=r"^\+?[0-9 ()\-]{5,32}$")]

# Amounts arrive as JSON strings or numbers and are exact Decimals from then on.
Amount = Annotated[Decimal, Field(max_digits=20, decimal_places=4, allow_inf_nan=False)]
PositiveAmount = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=4, allow_inf_nan=False)]
NonNegativeAmount = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=4, allow_inf_nan=False)]
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


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @classmethod
    def of(cls, result: PageResult[Any], item: type[BaseModel]) -> Page[Any]:
        return cls(
            items=[item.model_validate(row) for row in result.items],
            total=result.total,
            page=result.page,
            per_page=result.per_page,
        )


PerPage = Annotated[int, Field(ge=1, le=MAX_PER_PAGE)]


class ListQuery(Input):
    """Query parameters of a paged list. Subclass it with the list's filters: one model holds
    every parameter, so an unknown one is a 422 naming it."""

    page: int = Field(default=1, ge=1, le=1_000_000)
    per_page: PerPage = 50

    @property
    def paging(self) -> PageRequest:
        return PageRequest(page=self.page, per_page=self.per_page)

    def filters(self) -> dict[str, Any]:
        """The filter fields only (without paging)."""
        return self.model_dump(exclude={"page", "per_page"})
