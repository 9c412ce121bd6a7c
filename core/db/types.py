"""Column types that behave identically on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

# ISO 4217 has no currency with more than 4 minor digits (CLF, UYW), so 4 places hold every
# amount exactly.
MONEY_SCALE = 4
_SCALE_FACTOR = Decimal(10) ** MONEY_SCALE


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount.

    PostgreSQL stores NUMERIC(24, 4). SQLite has no exact decimal type (NUMERIC there means a
    binary float), so amounts are stored as integers in units of 10^-4: comparisons and SUM()
    stay exact in SQL, and reads give ``Decimal`` back on both engines.
    """

    impl = Numeric(24, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(24, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, int or str, never float")
        amount = Decimal(value)
        if not amount.is_finite():
            raise ValueError("money must be finite")
        scaled = amount * _SCALE_FACTOR
        if scaled != scaled.to_integral_value():
            raise ValueError(f"money has more than {MONEY_SCALE} decimal places: {amount}")
        if dialect.name == "sqlite":
            return int(scaled)
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / _SCALE_FACTOR).quantize(Decimal(1).scaleb(-MONEY_SCALE))
        return Decimal(value)


class MoneyUnits(TypeDecorator[int]):
    """Reads a money expression (a column or a ``SUM()`` of one) as an integer count of 10^-4
    units, skipping ``Decimal`` objects: for code that adds up millions of amounts in Python."""

    impl = Numeric(24, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return Money().load_dialect_impl(dialect)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return int(value)  # stored in units already
        return int(value * _SCALE_FACTOR)


def money_units(expression: Any) -> Any:
    """``expression`` read as integer units (see ``MoneyUnits``)."""
    from sqlalchemy import type_coerce

    return type_coerce(expression, MoneyUnits())


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp; SQLite gives naive values back, so re-attach UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(enum_cls: type[Any], length: int = 32) -> TypeEngine[Any]:
    """A VARCHAR holding the enum's *values* (not names), portable across engines."""
    from sqlalchemy import Enum

    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
