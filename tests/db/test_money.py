"""Money is exact end to end: Decimal in, Decimal stored, Decimal summed, Decimal out."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, StatementError

from core import bounds, reference
from core.crm.models import Deposit, DepositKind
from core.db.columns import read_columns_together
from core.db.types import UNITS_INT64_BOUND, money_sum, money_units, money_units_int64
from core.scheduler.worker import read_only_snapshot


def _deposit(client_id: int, amount, currency: str = "USD") -> Deposit:
    return Deposit(client_id=client_id, amount=amount, currency=currency, kind=DepositKind.REQUEST)


def test_amounts_round_trip_and_sum_exactly(crm):
    acme = crm.tenant("acme")
    [client] = acme.clients_bulk(1)
    amounts = [Decimal("0.1"), Decimal("0.2"), Decimal("234567890123.5678"), Decimal("0.0001")] * 250
    with acme.ctx() as ctx:
        ctx.session.add_all(_deposit(client, a) for a in amounts)
    with acme.ctx() as ctx:
        total = ctx.session.scalar(select(money_sum(Deposit.amount)))
        stored = ctx.session.scalars(select(Deposit.amount).order_by(Deposit.id).limit(4)).all()
    # 0.1 + 0.2 summed 250 times: any float on the way would show in the last digits.
    assert total == sum(amounts) == Decimal("58641972530966.9750")
    assert isinstance(total, Decimal)
    assert stored == amounts[:4]


def test_sums_of_the_largest_amounts_stay_exact_where_a_plain_sum_overflows(crm):
    """SQLite keeps amounts as integers of 10^-4: a plain SUM of a thousand maximal amounts passes
    2^63 and fails. ``money_sum`` adds them exactly on both engines."""
    acme = crm.tenant("acme")
    [client] = acme.clients_bulk(1)
    with acme.ctx() as ctx:
        ctx.session.add_all(_deposit(client, bounds.MAX_AMOUNT) for _ in range(1000))
        ctx.session.add(_deposit(client, Decimal("0.0001")))
    expected = bounds.MAX_AMOUNT * 1000 + Decimal("0.0001")
    with acme.ctx() as ctx:
        assert ctx.session.scalar(select(money_sum(Deposit.amount))) == expected
        assert ctx.session.scalar(select(money_units(money_sum(Deposit.amount)))) == int(expected * 10_000)
        if ctx.session.dialect_name == "sqlite":
            with pytest.raises(OperationalError, match="integer overflow"):
                ctx.session.scalar(select(func.sum(Deposit.amount)))


def test_an_amount_above_the_maximum_never_reaches_the_database(crm):
    acme = crm.tenant("acme")
    [client] = acme.clients_bulk(1)
    with pytest.raises(StatementError, match="above the maximum"), acme.ctx() as ctx:
        ctx.session.add(_deposit(client, bounds.MAX_AMOUNT + Decimal("0.0001")))
        ctx.session.flush()
    assert crm.count("deposits") == 0


def test_floats_and_excess_precision_are_refused_by_the_column(crm):
    acme = crm.tenant("acme")
    [client] = acme.clients_bulk(1)
    for bad in (0.1, Decimal("1.00001"), Decimal("NaN")):
        with pytest.raises(StatementError), acme.ctx() as ctx:
            ctx.session.add(_deposit(client, bad))
            ctx.session.flush()
    assert crm.count("deposits") == 0


@pytest.mark.parametrize(
    ("currency", "amount", "ok"),
    [
        ("USD", "10.25", True),
        ("USD", "10.250", True),
        ("USD", "10.255", False),
        ("JPY", "1000", True),
        ("JPY", "1000.5", False),
        ("BHD", "1.125", True),
        ("BHD", "1.1255", False),
    ],
)
def test_currency_precision(currency, amount, ok):
    assert reference.has_valid_precision(Decimal(amount), currency) is ok


def test_rounding_is_half_up_to_the_minor_unit():
    assert reference.round_to_currency(Decimal("10.005"), "USD") == Decimal("10.01")
    assert reference.round_to_currency(Decimal("10.004"), "USD") == Decimal("10.00")
    assert reference.round_to_currency(Decimal("1000.5"), "JPY") == Decimal("1001")
    assert reference.display_amount(Decimal("7.5000"), "USD") == Decimal("7.50")


def test_sums_read_as_64_bit_units_are_exact_below_the_bound_and_say_so_beyond(crm):
    """``money_units_int64``: what a long job reads as int64 columns. Exact beyond a double's
    precision and up to 2**62 units, per currency in one GROUP BY; 0 where a client has none;
    outside [0, 2**62) — read it exactly instead — for a sum past the bound (even past 64 bits)
    or below zero, never a wrong number in range. Read as plain rows and as a binary int64
    column alike."""
    acme = crm.tenant("acme")
    large, beyond_64_bits, negative, euros = acme.clients_bulk(4)
    with acme.ctx() as ctx:
        ctx.session.add_all(_deposit(large, bounds.MAX_AMOUNT) for _ in range(300))
        ctx.session.add_all(_deposit(large, Decimal("0.0001")) for _ in range(3))
        ctx.session.add(_deposit(large, Decimal("5"), "EUR"))
        ctx.session.add_all(_deposit(beyond_64_bits, bounds.MAX_AMOUNT) for _ in range(1000))
        ctx.session.add_all([_deposit(negative, Decimal("-7")), _deposit(euros, Decimal("1.2345"), "EUR")])
    sums = (
        select(
            Deposit.client_id,
            money_units_int64(Deposit.amount, Deposit.currency == "USD"),
            money_units_int64(Deposit.amount, Deposit.currency == "EUR"),
            money_units_int64(Deposit.amount),
        )
        .group_by(Deposit.client_id)
        .order_by(Deposit.client_id)
    )
    session = crm.db.session(tenant_id=acme.id)
    try:
        with read_only_snapshot(session):
            rows = [tuple(row) for row in session.execute(sums)]
            [columns] = read_columns_together(session, [(sums, None)], integers={0})
    finally:
        session.close()
    assert [column.dtype for column in columns] == [np.dtype(np.int64)] * 4
    assert list(zip(*(column.tolist() for column in columns), strict=True)) == rows

    def exact(units: int) -> bool:
        return 0 <= units < UNITS_INT64_BOUND

    three_hundred_maximal = 300 * 10**16 + 3  # above 2**53: a double would round it
    assert rows[0] == (large, three_hundred_maximal, 50_000, three_hundred_maximal + 50_000)
    assert rows[3] == (euros, 0, 12_345, 12_345)
    # 10**19 units, past 2**63; and -70,000 units: neither taken for a sum.
    assert (
        rows[1][0] == beyond_64_bits and not exact(rows[1][1]) and not exact(rows[1][3]) and rows[1][2] == 0
    )
    assert rows[2][0] == negative and not exact(rows[2][1]) and not exact(rows[2][3]) and rows[2][2] == 0
