"""ISO reference data: currencies (ISO 4217), countries (ISO 3166-1), languages, time zones."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pycountry

# ISO 4217 minor units that differ from the usual two decimal places.
_MINOR_UNITS = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


# ISO 4217 codes that are not a currency anyone pays in: precious metals, bond-market and other
# supranational units of account, the testing code and "no currency".
NOT_CURRENCIES = frozenset(
    {"XAD", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)


@cache
def currency_codes() -> frozenset[str]:
    """The active ISO 4217 currencies (pycountry follows the current list), without the codes in
    ``NOT_CURRENCIES``."""
    return frozenset(c.alpha_3 for c in pycountry.currencies) - NOT_CURRENCIES


@cache
def country_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@cache
def language_codes() -> frozenset[str]:
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


@cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_currency(code: str) -> bool:
    return code in currency_codes()


def is_country(code: str) -> bool:
    return code in country_codes()


def is_language(code: str) -> bool:
    return code in language_codes()


def is_time_zone(name: str) -> bool:
    if name not in time_zones():
        return False
    ZoneInfo(name)
    return True


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def has_valid_precision(amount: Decimal, currency: str) -> bool:
    """True when ``amount`` has no more decimal places than ``currency`` allows."""
    exponent = amount.normalize().as_tuple().exponent
    return isinstance(exponent, int) and -exponent <= minor_units(currency)


def round_to_currency(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit (the rule for computed prices)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def display_amount(amount: Decimal, currency: str) -> Decimal:
    """The amount with exactly the currency's minor-unit digits, as shown to people."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)))
