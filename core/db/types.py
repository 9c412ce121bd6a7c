"""Column types that behave identically on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, Numeric, String, and_, case, cast, extract, func, literal
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from core.bounds import MAX_AMOUNT, MONEY_CONTEXT, MONEY_PLACES

# ISO 4217 has no currency with more than 4 minor digits (CLF, UYW), so 4 places hold every
# amount exactly.
MONEY_SCALE = MONEY_PLACES
_SCALE_FACTOR = Decimal(10) ** MONEY_SCALE
# money_sum on SQLite adds the high and the low part of each amount's units separately (see there).
_SPLIT = 10**9


def _units_of(value: Any) -> int:
    """Units (10^-4) from what a money expression reads back: an integer (SQLite column), a
    ``"high:low"`` pair (SQLite ``money_sum``), or a NUMERIC (PostgreSQL)."""
    if isinstance(value, str):
        if ":" not in value:  # PostgreSQL's units as text (``money_units(money_sum(…))``)
            return int(value)
        high, low = value.split(":")
        return int(high) * _SPLIT + int(low)
    if isinstance(value, int):
        return value
    return int(MONEY_CONTEXT.multiply(Decimal(value), _SCALE_FACTOR))


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
        if abs(amount) > MAX_AMOUNT:  # validation refuses these first; a computed one is a bug
            raise ValueError(f"money above the maximum of {MAX_AMOUNT}: {amount}")
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
            return MONEY_CONTEXT.divide(Decimal(_units_of(value)), _SCALE_FACTOR).quantize(
                Decimal(1).scaleb(-MONEY_SCALE), context=MONEY_CONTEXT
            )
        return Decimal(value)


class MoneyUnits(TypeDecorator[int]):
    """Reads a money expression (a column or a ``SUM()`` of one) as an integer count of 10^-4
    units, skipping ``Decimal`` objects: for code that adds up millions of amounts in Python."""

    impl = Numeric(24, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return Money().load_dialect_impl(dialect)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else _units_of(value)


def money_units(expression: Any) -> Any:
    """``expression`` read as integer units (see ``MoneyUnits``). A ``money_sum`` is turned into
    units by the database itself, which is cheaper than reading a ``Decimal`` per row."""
    from sqlalchemy import type_coerce

    if isinstance(expression, money_sum):
        return _money_sum_units(*expression.clauses)
    return type_coerce(expression, MoneyUnits())


class _UnitsText(TypeDecorator[int]):
    """Integer units the database wrote as text: exact at any size, and an ``int()`` to read."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else _units_of(value)


class _money_sum_units(FunctionElement[int]):  # noqa: N801
    """``money_units(money_sum(column))``: the sum's units as text, NULL over no rows."""

    type = _UnitsText()
    inherit_cache = True
    name = "money_sum_units"


class money_sum(FunctionElement[Decimal]):  # noqa: N801  (reads like the SQL function it stands for)
    """``SUM()`` of a Money column that is exact on every engine, however many amounts it adds.

    PostgreSQL adds NUMERICs without a bound. SQLite adds 64-bit integers and fails with "integer
    overflow" past 9.2 * 10^18 units (0.9 * 10^15 of a currency): a few hundred maximal amounts. So on
    SQLite each amount's units are split at 10^9 and the two parts summed separately, neither of which
    can overflow before 10^9 rows; Python joins them (``_units_of``). Read the result as Money, or as
    units with ``money_units(money_sum(column))``."""

    type = Money()
    inherit_cache = True
    name = "money_sum"


@compiles(money_sum)
def _money_sum_default(element: money_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(func.sum(*element.clauses), **kw)


@compiles(_money_sum_units)
def _money_sum_units_default(element: _money_sum_units, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"CAST(CAST(SUM({column}) * {10**MONEY_SCALE} AS NUMERIC(40, 0)) AS TEXT)"


@compiles(money_sum, "sqlite")
@compiles(_money_sum_units, "sqlite")
def _money_sum_sqlite(element: money_sum, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return (
        f"CASE WHEN COUNT({column}) = 0 THEN NULL ELSE "
        f"printf('%d:%d', SUM(({column}) / {_SPLIT}), SUM(({column}) % {_SPLIT})) END"
    )


# A sum of units below this is exact in a 64-bit integer, and so is adding up a couple of them.
UNITS_INT64_BOUND = 2**62


class money_units_int64(FunctionElement[int]):  # noqa: N801  (reads like the SQL function it stands for)
    """``SUM()`` of a Money column as integer units, for reading as ``int64`` columns
    (``read_columns_together(..., integers=...)``, no text to parse), 0 over no rows. Exact when
    it is in ``[0, UNITS_INT64_BOUND)``; a value outside that range (a negative sum, or one too
    large) says to read that sum exactly instead (``money_units(money_sum(column))``). ``where``
    limits the rows it adds (an aggregate ``FILTER``), for several sums in one ``GROUP BY``.

    PostgreSQL checks the NUMERIC sum against the bound and casts it (-1 beyond). SQLite adds the
    high and the low part of each amount's units separately, as ``money_sum`` does, and joins
    them: past 64 bits that turns into floating point, which the cast saturates at 2**63 - 1.
    Each aggregate is written once: SQLite computes a repeated one once only when its bound
    parameters are the same, and positional ones never are (a third of the statement's time)."""

    type = BigInteger()
    inherit_cache = True
    name = "money_units_int64"

    def __init__(self, column: Any, where: Any = None) -> None:
        super().__init__(column, *([] if where is None else [where]))


@compiles(money_units_int64)
def _money_units_int64_default(element: money_units_int64, compiler: SQLCompiler, **kw: Any) -> str:
    column, *where = element.clauses
    total = func.coalesce(func.sum(column).filter(*where) if where else func.sum(column), 0)
    bound = literal(Decimal(UNITS_INT64_BOUND) / _SCALE_FACTOR, Numeric(30, MONEY_SCALE))
    fits = and_(total >= 0, total < bound)
    return compiler.process(case((fits, cast(total * _SCALE_FACTOR, BigInteger)), else_=-1), **kw)


@compiles(money_units_int64, "sqlite")
def _money_units_int64_sqlite(element: money_units_int64, compiler: SQLCompiler, **kw: Any) -> str:
    column, *where = (compiler.process(clause, **kw) for clause in element.clauses)
    rows = f" FILTER (WHERE {where[0]})" if where else ""
    high = f"COALESCE(SUM(({column}) / {_SPLIT}){rows}, 0)"
    low = f"COALESCE(SUM(({column}) % {_SPLIT}){rows}, 0)"
    return f"CAST({high} * {_SPLIT} + {low} AS INTEGER)"


class epoch_seconds(FunctionElement[float]):  # noqa: N801  (reads like the SQL function it stands for)
    """A timestamp column as seconds since the epoch (a float; NULL stays NULL), computed by the
    database: for reading a million timestamps as numbers without a datetime each. PostgreSQL's
    ``EXTRACT`` returns NUMERIC (decimal arithmetic per row, then a cast), ``date_part`` a
    double directly: a third less of a scan's time."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds)
def _epoch_seconds_default(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(cast(extract("epoch", *element.clauses), Float), **kw)


@compiles(epoch_seconds, "postgresql")
def _epoch_seconds_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date_part('epoch', {compiler.process(element.clauses, **kw)})"


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
